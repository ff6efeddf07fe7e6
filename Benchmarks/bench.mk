# Included by the top Makefile: `make bench` runs the hot-path benchmarks in release.
SWIFT ?= swift
.PHONY: bench
bench:
	cd Benchmarks && $(SWIFT) package benchmark

