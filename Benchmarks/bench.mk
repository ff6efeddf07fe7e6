# Included by the top Makefile: `make bench` runs the hot-path benchmarks in release (the gateway's
# frames, sessions and fan-out; the quiz engine per answer and per gettop).
SWIFT ?= swift
.PHONY: bench
bench:
	cd Benchmarks && $(SWIFT) package benchmark

# Quiz scoring through the development broker: SCORING_ANSWERS answers (one user each) produced
# with kcat into stadium-kafka (32 partitions) while release stadium-processors, pinned to core 1,
# scores them; SCORING_RUNS runs (median and spread); writes Benchmarks/reports/scoring-<commit>.json.
SCORING_ANSWERS ?= 1000000
SCORING_RUNS ?= 3
.PHONY: scoring-bench
scoring-bench: build
	@scripts/install-deps.sh bench
	python3 Benchmarks/scoring.py --answers $(SCORING_ANSWERS) --runs $(SCORING_RUNS)


# PNG plots of stadium-load reports: `make plots REPORTS="a.json b.json"` (default: every
# report under Benchmarks/reports/), written to Benchmarks/plots/.
REPORTS ?= $(wildcard Benchmarks/reports/*.json)
.PHONY: plots
plots:
	@scripts/install-deps.sh bench
	@test -n "$(REPORTS)" || { echo "plots: no reports: pass REPORTS=\"file.json ...\" (stadium-load --report)"; exit 2; }
	python3 Benchmarks/plots.py --out Benchmarks/plots $(REPORTS)

# The million-connection runs (issue 7): a fan-out to every connection, then full quiz rounds.
# Needs a tuned host (tuning/check.sh --connections 1000000); takes several minutes each.
.PHONY: load-1m
load-1m:
	swift build -c release
	Benchmarks/load-1m.sh fanout
	Benchmarks/load-1m.sh quiz
	$(MAKE) plots REPORTS="Benchmarks/reports/fanout-1000000-$$(source Benchmarks/lib.sh && commit_id).json \
		Benchmarks/reports/quiz-1000000-$$(source Benchmarks/lib.sh && commit_id).json"

# What the figures rest on, measured on this host (docs/MEASURING.md): the kernel's cost of a
# loopback send and receive, and how many descriptors a process and its io_uring rings may hold.
.PHONY: measure-kernel
measure-kernel:
	@mkdir -p .run/kernel-cost
	gcc -O2 -Wall -o .run/kernel-cost/loopback-cost Benchmarks/KernelCost/loopback_cost.c
	gcc -O2 -Wall -o .run/kernel-cost/descriptor-limits Benchmarks/KernelCost/descriptor_limits.c -luring
	.run/kernel-cost/loopback-cost
	.run/kernel-cost/descriptor-limits

# Stadium, the C baseline and the SwiftNIO reference under the same fan-out, each server pinned
# to core 1 and the load generator to core 0, COMPARE_RUNS runs of each (median and spread);
# prints the table and writes Benchmarks/reports/compare-SIZES-SERVERS.json.
COMPARE_SIZES ?= 10000,19000,100000
COMPARE_SERVERS ?= stadium,c-baseline,nio
COMPARE_RUNS ?= 3
.PHONY: compare
compare:
	python3 Benchmarks/compare.py --sizes $(COMPARE_SIZES) --servers $(COMPARE_SERVERS) --runs $(COMPARE_RUNS)

# wss:// at the gateway: plain ws, TLS in the gateway and HAProxy terminating TLS in front of a
# plain gateway, server on core 1 and load on core 0, WSS_RUNS runs of each (median and spread);
# prints the table and writes Benchmarks/reports/wss-CONNECTIONS-COMMIT.json. Needs openssl and haproxy.
WSS_CONNECTIONS ?= 100000
WSS_RUNS ?= 3
.PHONY: wss-bench
wss-bench:
	python3 Benchmarks/wss.py --connections $(WSS_CONNECTIONS) --runs $(WSS_RUNS)

# The peers' benchmark shape through Kafka: SUSTAINED_CLIENTS clients over 10,000 keys, each key
# updated once a second with 512 bytes for SUSTAINED_SECONDS, gateway pinned to core 1; writes
# Benchmarks/reports/sustained-<commit>.json.
SUSTAINED_CLIENTS ?= 20000,40000,60000
SUSTAINED_SECONDS ?= 120
SUSTAINED_RUNS ?= 3
.PHONY: sustained
sustained: build
	python3 Benchmarks/sustained.py --clients $(SUSTAINED_CLIENTS) --seconds $(SUSTAINED_SECONDS) --runs $(SUSTAINED_RUNS)
