#!/usr/bin/env bash
# StadiumTLS at module level: a throwaway CA and (P-256 ECDSA) server certificate in a temporary
# directory (scripts/make-certificates.sh), then stadium-tls-bench pinned to one core.
# Usage: Benchmarks/tls-bench.sh [handshakes] [kept-connections]   (after swift build -c release)
# TLS_BENCH_KEY=rsa:2048 measures an RSA certificate instead of P-256 ECDSA.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
CERT_KEY=${TLS_BENCH_KEY:-ec} bash scripts/make-certificates.sh "$dir" "Stadium Bench CA"
taskset -c "${TLS_BENCH_CORE:-1}" .build/release/stadium-tls-bench "$dir/chain.pem" "$dir/server.key" "$dir/ca.pem" "$@"
