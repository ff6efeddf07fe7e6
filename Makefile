# Stadium. `make demo` to play in a browser, `make test` to run every test.
SHELL := /bin/bash
SWIFT ?= swift
PORT ?= 8080
# The test stacks' gateways take a port the kernel gives them (0), or with `stable` a free one
# below the ephemeral range that survives a gateway restart (scripts/stack.sh); no fixed port that
# some outgoing connection may hold.
TEST_PORT ?= stable
DEMO_TEST_PORT ?= 0
# `make browser-test SCREENSHOTS=docs` refreshes the pictures in the README.
SCREENSHOTS ?= .run/browser-test/screenshots

# `make cluster-demo`: broker, processors, two gateways behind HAProxy, each on a host of its own
# (network namespaces; needs root). CLUSTER_BUILD=build-debug runs it on the debug build.
CLUSTER_BUILD ?= build
CLUSTER_BIN = $(if $(filter build-debug,$(CLUSTER_BUILD)),.build/debug,.build/release)
CLUSTER_BOTS ?= 10

.PHONY: demo test build build-debug deps deps-test unit-tests js-client-test wss-test deflate-test scale-test slow-reader-test catchup-test failover-test load-test cluster-demo cluster-test deps-cluster script-tests browser-test demo-test \
	prometheus-test deb package-test fuzz clean

# What `make demo` builds first; the demo test runs `make demo DEMO_BUILD=build-debug`.
DEMO_BUILD ?= build
# TLS=1: https and wss with a local CA and certificate (openssl); it prints how to trust the CA.
TLS ?= 0
demo: deps $(DEMO_BUILD)
	@TLS=$(TLS) scripts/stack.sh run

test: deps-test build-debug unit-tests js-client-test scale-test slow-reader-test catchup-test failover-test load-test cluster-test script-tests browser-test demo-test \
	prometheus-test package-test wss-test deflate-test
	@echo "make test: all tests passed"

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

deps-cluster:
	@scripts/install-deps.sh cluster

cluster-demo: deps-cluster $(CLUSTER_BUILD)
	@BIN=$(CLUSTER_BIN) PORT=$(PORT) BOTS=$(CLUSTER_BOTS) scripts/cluster.sh run

build: deps
	$(SWIFT) build -c release

build-debug:
	$(SWIFT) build --build-tests

# The Kafka tests run one at a time after the rest: each starts its own broker (the processors
# tests start stadium-kafka and stadium-processors). Every run is bounded, so a hang fails the
# build instead of stalling it.
unit-tests: build-debug
	timeout 900 $(SWIFT) test --skip-build --skip KafkaClientTests --skip KafkaBridgeTests --skip ProcessorsEndToEndTests \
		--skip StadiumClientKafkaTests
	timeout 600 $(SWIFT) test --skip-build --no-parallel --filter KafkaBridgeTests
	timeout 600 $(SWIFT) test --skip-build --no-parallel --filter KafkaClientTests
	timeout 600 $(SWIFT) test --skip-build --no-parallel --filter ProcessorsEndToEndTests
	timeout 600 $(SWIFT) test --skip-build --no-parallel --filter StadiumClientKafkaTests

# The JavaScript client library (clients/js): its pure parts, then against the real gateway and
# development broker. Node 20 needs --experimental-websocket; files run one at a time.
js-client-test: build-debug
	cd clients/js && STADIUM_BIN=$(CURDIR)/.build/debug timeout 600 node --test --experimental-websocket \
		--test-concurrency=1 test/*.test.js

# One gateway holds 50,000 WebSocket connections and one publish reaches them all.
scale-test: build-debug
	python3 Tests/scale/scale_test.py --gateway .build/debug/stadium-gateway

# wss:// through the development broker with a test CA: a Python ssl + websockets client (TLS 1.3
# and 1.2), openssl s_client (1.3 and 1.2 connect, 1.1 and 1.0 refused, KeyUpdate), sslscan, garbage, plain HTTP and
# truncated ClientHellos closed and counted, certificates reloaded on SIGHUP under a live client;
# then 20,000 wss connections from stadium-load --tls, every probe reaching all of them.
wss-test: build-debug
	timeout 180 python3 Tests/tls/wss_test.py --bin .build/debug
	timeout 300 python3 Tests/tls/wss_scale_test.py --bin .build/debug --connections 20000

# permessage-deflate against a real gateway with clients that are not ours (Python websockets, and
# raw sockets with Python's zlib): agreement, compressed pubs and broadcasts byte for byte, retained
# and resumed messages compressed, a decompression bomb closed with 1009, corrupt data with 1007.
deflate-test: build-debug
	timeout 120 python3 Tests/deflate/deflate_test.py --bin .build/debug

# One client stops reading while 1,000 others keep receiving 4 KiB messages: it is dropped
# with close 1008 and counted; none of the others loses a message.
slow-reader-test: build-debug
	timeout 300 python3 Tests/slow/slow_reader_test.py --bin .build/debug

# Clients that read are never cut off: bursts, paced streams and resumes with since through
# the development broker and kcat, read by clients that are not ours; a silent one is closed.
catchup-test: build-debug
	timeout 900 python3 Tests/catchup/catchup_test.py --bin .build/debug

# A client resumes with since on any gateway: from a running one's memory, from Kafka on a cold
# one (after the one it used was killed), with a gap only past --recovery-max-records; a subject
# without a key on several partitions resumes with a cursor (an offset per partition).
failover-test: build-debug
	timeout 600 python3 Tests/catchup/failover_test.py --bin .build/debug
	timeout 300 python3 Tests/catchup/cursor_test.py --bin .build/debug

# 2,000 players through the whole stack for a few short rounds: every question reaches every
# player and every answer is acknowledged and scored.
load-test: build-debug
	timeout 300 python3 Tests/load/players_test.py --bin .build/debug

# The scripts' verdicts on made-up runs (no stack): the soak fails the soaks it should, the
# comparison summarises medians and spreads, and the Python tests' frames and /metrics reading hold.
script-tests:
	python3 Tests/soak/test_soak_verdict.py
	python3 Benchmarks/test_compare.py
	python3 Benchmarks/test_machine_watch.py
	python3 Tests/support/test_stadium_test.py

# Two gateways behind HAProxy on hosts of their own, 2,000 players on short rounds; one gateway is
# killed (kill -9) mid-round: its players resume on the other with nothing lost, no gap, no repeat.
cluster-test: build-debug
	timeout 420 python3 Tests/cluster/cluster_test.py --bin .build/debug

# The web UI against the whole stack (broker, gateway, processors, bots) in headless Chromium;
# then over https and wss against a stack started with TLS=1.
browser-test: build-debug
	@BIN=.build/debug PORT=$(TEST_PORT) ROUND=12 ANSWER_WINDOW=8 RUN_DIR=.run/browser-test scripts/stack.sh start
	@status=0; timeout 300 python3 Tests/browser/test_web_ui.py --url http://127.0.0.1:$$(cat .run/browser-test/port)/ \
		--chromium "$$(command -v chromium)" --screenshots $(SCREENSHOTS) --run-dir .run/browser-test || status=$$?; \
		RUN_DIR=.run/browser-test scripts/stack.sh stop; \
		((status == 0)) || echo "browser-test: the stack's logs are in .run/browser-test/"; exit $$status
	@TLS=1 BIN=.build/debug PORT=$(TEST_PORT) ROUND=12 ANSWER_WINDOW=8 RUN_DIR=.run/browser-tls-test scripts/stack.sh start
	@status=0; timeout 300 python3 Tests/browser/test_web_ui.py --url https://localhost:$$(cat .run/browser-tls-test/port)/ \
		--ca .run/browser-tls-test/tls/ca.pem --chromium "$$(command -v chromium)" \
		--screenshots .run/browser-tls-test/screenshots --run-dir .run/browser-tls-test || status=$$?; \
		RUN_DIR=.run/browser-tls-test scripts/stack.sh stop; \
		((status == 0)) || echo "browser-test: the TLS stack's logs are in .run/browser-tls-test/"; exit $$status

# `make demo` on the debug build: bots' answers reach the leaderboard, Ctrl-C leaves no process;
# then the same with TLS=1 (https, wss).
demo-test: build-debug
	timeout 300 python3 Tests/demo/test_demo_stack.py --port $(DEMO_TEST_PORT)
	timeout 300 python3 Tests/demo/test_demo_stack.py --port $(DEMO_TEST_PORT) --tls

# The dashboard page's arithmetic against PromQL's (node); then Debian's prometheus scrapes a
# running stack with deploy/prometheus.yml: every series a dashboard
# needs grows, every panel of deploy/grafana-dashboard.json has data, and the gateway's /dashboard
# page draws the same figures in headless Chromium. The README's picture comes from a longer look
# at more bots: `make prometheus-test SCREENSHOTS=docs DASHBOARD_SECONDS=70 DASHBOARD_BOTS=200`.
DASHBOARD_SECONDS ?= 0
DASHBOARD_BOTS ?= 20
prometheus-test: build-debug
	node --test Tests/ops/dashboard_figures.test.js
	timeout 120 python3 Tests/ops/prometheus_test.py --bin .build/debug --run-dir .run/prometheus-test \
		--deadline 100 --bots $(DASHBOARD_BOTS) --chromium "$$(command -v chromium)" \
		--screenshot $(SCREENSHOTS)/dashboard.png --page-seconds $(DASHBOARD_SECONDS)

# The Debian package (scripts/make-deb.sh; written to .build-deb/): `make deb` makes a release build
# with the Swift runtime linked in (several minutes); `make deb BUILD=debug` packs the debug build
# as version X~debug in seconds, for the package test.
BUILD ?= release
deb: deps
	@scripts/make-deb.sh $(BUILD)

# The package installed into a scratch root with dpkg: its executables run (--version, --help), its
# gateway serves its web root, its units pass systemd-analyze verify, it purges cleanly. Built from
# the debug binaries, so `make test` needs no release build; `make package-test
# PACKAGE_TEST_BUILD=release` checks the real one.
PACKAGE_TEST_BUILD ?= debug
package-test: build-debug
	@deb=$$(scripts/make-deb.sh $(PACKAGE_TEST_BUILD)) && \
		timeout 120 python3 Tests/ops/package_test.py --deb "$$deb"

-include Fuzz/fuzz.mk
-include Benchmarks/bench.mk

clean:
	rm -rf .build .run Fuzz/out

# Churn soak (issue 8; not in `make test`): players stay, players with new names come and go;
# every churn connection must work, and the gateway's memory and subjects must stay flat.
# SOAK_SECONDS=600 by default.
SOAK_SECONDS ?= 600
.PHONY: soak
soak: build script-tests
	python3 Tests/soak/soak.py --seconds $(SOAK_SECONDS)
