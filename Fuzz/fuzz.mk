# libFuzzer targets for the WebSocket, StadiumProtocol and StadiumTLS modules, included from the top Makefile.
# SwiftPM cannot link libFuzzer executables, so each fuzzer is one swiftc module
# made of the WebSocket sources and its entry file. WebSocketAccept.swift, the
# only importer of swift-crypto, is swapped for a stub so no package is needed.
#
#   make fuzz                   every target for FUZZ_SECONDS each; fails on a crash
#   make fuzz FUZZ_SECONDS=600
#   make fuzz-build             build only; binaries go to Fuzz/out/

FUZZ_SECONDS ?= 60
FUZZ_TARGETS := FrameReaderFuzz HandshakeFuzz ProtocolJSONFuzz TLSRecordFuzz
FUZZ_OUT := Fuzz/out
FUZZ_SWIFTC ?= swiftc
# lld: gold prints hundreds of harmless warnings about ASan's local symbols.
# Lifetimes: as in Package.swift, for StadiumProtocol's ~Escapable scanner and MessageData and WebSocket's events.
FUZZ_SWIFTC_FLAGS := -sanitize=fuzzer,address -parse-as-library -O -g -use-ld=lld -enable-experimental-feature Lifetimes
FUZZ_WEBSOCKET_SOURCES := $(filter-out Sources/WebSocket/WebSocketAccept.swift,$(wildcard Sources/WebSocket/*.swift)) \
	Fuzz/Support/AcceptValueStub.swift
# StadiumProtocol imports nothing, so its sources compile as they are.
FUZZ_PROTOCOL_SOURCES := $(shell find Sources/StadiumProtocol -name '*.swift')
# StadiumTLS finds OpenSSL through its shim's module map, which links libssl and libcrypto; WebSocket
# finds zlib the same way (CShims/CZlib).
FUZZ_TLS_SOURCES := $(wildcard Sources/StadiumTLS/*.swift)

.PHONY: fuzz fuzz-build

fuzz-build: $(addprefix $(FUZZ_OUT)/,$(FUZZ_TARGETS))

$(FUZZ_OUT)/ProtocolJSONFuzz: Fuzz/ProtocolJSONFuzz.swift $(FUZZ_PROTOCOL_SOURCES)
	@mkdir -p $(FUZZ_OUT)
	$(FUZZ_SWIFTC) $(FUZZ_SWIFTC_FLAGS) -module-name ProtocolFuzz $(FUZZ_PROTOCOL_SOURCES) $< -o $@

$(FUZZ_OUT)/TLSRecordFuzz: Fuzz/TLSRecordFuzz.swift $(FUZZ_TLS_SOURCES)
	@mkdir -p $(FUZZ_OUT)
	$(FUZZ_SWIFTC) $(FUZZ_SWIFTC_FLAGS) -module-name TLSFuzz -I CShims/COpenSSL $(FUZZ_TLS_SOURCES) $< -o $@

$(FUZZ_OUT)/%: Fuzz/%.swift $(FUZZ_WEBSOCKET_SOURCES)
	@mkdir -p $(FUZZ_OUT)
	$(FUZZ_SWIFTC) $(FUZZ_SWIFTC_FLAGS) -module-name WebSocketFuzz -I CShims/CZlib $(FUZZ_WEBSOCKET_SOURCES) $< -o $@

# New inputs go to Fuzz/corpus-work (gitignored); seeds and past crashes are read too.
fuzz: fuzz-build
	@set -e; for target in $(FUZZ_TARGETS); do \
		mkdir -p Fuzz/corpus-work/$$target Fuzz/regressions/$$target $(FUZZ_OUT)/artifacts/$$target; \
		echo "fuzz: $$target for $(FUZZ_SECONDS)s"; \
		$(FUZZ_OUT)/$$target -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_OUT)/artifacts/$$target/ \
			Fuzz/corpus-work/$$target Fuzz/corpus/$$target Fuzz/regressions/$$target \
			|| { echo "fuzz: $$target crashed; input saved in $(FUZZ_OUT)/artifacts/$$target/"; exit 1; }; \
	done
