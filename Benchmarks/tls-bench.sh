#!/usr/bin/env bash
# StadiumTLS at module level (issue 17, not yet in the gateway): a throwaway CA and (P-256 ECDSA)
# server certificate in a temporary directory, then stadium-tls-bench pinned to one core.
# Usage: Benchmarks/tls-bench.sh [handshakes] [kept-connections]   (after swift build -c release)
# TLS_BENCH_KEY=rsa:2048 measures an RSA certificate instead of P-256 ECDSA.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$dir/ext.cnf"
key=${TLS_BENCH_KEY:-ec}
key_options=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
[[ $key == ec ]] || key_options=(-newkey "$key")
openssl req -x509 "${key_options[@]}" -nodes -keyout "$dir/ca.key" \
    -out "$dir/ca.pem" -days 2 -subj "/CN=Stadium Bench CA" 2>/dev/null
openssl req "${key_options[@]}" -nodes -keyout "$dir/server.key" \
    -out "$dir/server.csr" -subj "/CN=localhost" 2>/dev/null
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -out "$dir/server.pem" -days 2 -extfile "$dir/ext.cnf" 2>/dev/null
cat "$dir/server.pem" "$dir/ca.pem" >"$dir/chain.pem"
taskset -c "${TLS_BENCH_CORE:-1}" .build/release/stadium-tls-bench "$dir/chain.pem" "$dir/server.key" "$dir/ca.pem" "$@"
