# Included by the top Makefile: `make bench` runs the hot-path benchmarks in release.
SWIFT ?= swift
.PHONY: bench
bench:
	cd Benchmarks && $(SWIFT) package benchmark


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
	$(MAKE) plots REPORTS="Benchmarks/reports/fanout-1000000.json Benchmarks/reports/quiz-1000000.json"
