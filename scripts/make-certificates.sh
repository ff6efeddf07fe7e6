#!/usr/bin/env bash
# A local CA (made once per directory, kept so a browser that trusts it keeps trusting it) and a
# certificate it signs for localhost and 127.0.0.1: DIR/ca.pem, DIR/server.pem, DIR/server.key and
# DIR/chain.pem (the gateway's --tls-cert, leaf first).
# Usage: scripts/make-certificates.sh DIR [CA-NAME]
# CERT_KEY=rsa:2048 (or another `openssl req -newkey` argument) makes RSA keys instead of P-256 ECDSA.
set -euo pipefail
dir=${1:?usage: $0 DIR [CA-NAME]}
ca_name=${2:-Stadium local CA (this machine only)}
key=${CERT_KEY:-ec}
key_options=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
[[ $key == ec ]] || key_options=(-newkey "$key")
mkdir -p "$dir"
if [[ ! -s "$dir/ca.pem" || ! -s "$dir/ca.key" ]]; then
    openssl req -x509 "${key_options[@]}" -nodes -keyout "$dir/ca.key" \
        -out "$dir/ca.pem" -days 825 -subj "/CN=$ca_name" 2>/dev/null
fi
openssl req "${key_options[@]}" -nodes -keyout "$dir/server.key" \
    -out "$dir/server.csr" -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$dir/server.ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -out "$dir/server.pem" -days 30 -extfile "$dir/server.ext" 2>/dev/null
cat "$dir/server.pem" "$dir/ca.pem" >"$dir/chain.pem"
