#!/bin/sh
# Whole gateway RSS per quiz player (issue 20): one gateway pinned to core 1, stadium-load's bots
# pinned to core 0, the gateway's VmRSS and open connections sampled every 5 s into a TSV.
# Usage: Benchmarks/players-memory.sh PLAYERS PORT DURATION OUT_PREFIX [players|idle] [BIN_DIR]
# Writes OUT_PREFIX-gateway.tsv and OUT_PREFIX-load.json, and prints RSS at start, with all held,
# and per connection held. idle: connections that subscribe to /question only, for contrast.
# From the environment: IO_THREADS (default 1), RATE (connects per second, default 6000),
# MAX_CONNECTIONS (default players + 1%), FIRST_SOURCE (default 127.0.192.2).
set -eu
players=$1
port=$2
duration=$3
out=$4
mode=${5:-players}
bin=${6:-.build/release}
first_source=${FIRST_SOURCE:-127.0.192.2}

taskset -c 1 "$bin/stadium-gateway" --listen "127.0.0.1:$port" --io-threads "${IO_THREADS:-1}" \
    --max-connections "${MAX_CONNECTIONS:-$((players + players / 100))}" --handshake-timeout 60 --log-level warning &
gateway=$!
# Killed outright: a graceful stop of many connections is not what is measured.
trap 'kill -9 $gateway 2>/dev/null || true' EXIT INT TERM
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
    kill -0 $gateway || exit 1
    sleep 0.2  # polling for the listener, not synchronising a result
done

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$gateway/status"; }
connections() { curl -sf -m 2 "http://127.0.0.1:$port/metrics" | awk '$1 == "stadium_connections" {printf "%d", $2}'; }

start_rss=$(rss)
printf 't_s\tconnections\tgateway_rss_kib\n' >"$out-gateway.tsv"
(
    t=0
    while kill -0 $gateway 2>/dev/null; do
        printf '%s\t%s\t%s\n' $t "$(connections || true)" "$(rss || true)" >>"$out-gateway.tsv"
        sleep 5
        t=$((t + 5))
    done
) &
sampler=$!

if [ "$mode" = idle ]; then
    set -- --mode idle --connections "$players" --subject /question
else
    set -- --players "$players" --names "p{i}" --gettop-every 0
fi
status=0
taskset -c 0 "$bin/stadium-load" --url "ws://127.0.0.1:$port/" "$@" --rate "${RATE:-6000}" \
    --first-source "$first_source" --duration "$duration" --report "$out-load.json" --log-level warning || status=$?
# The sample with the most connections open (the latest of those): all that connected, held.
held=$(awk -F '\t' 'NR > 1 && $2 != "" && $2 + 0 >= most {most = $2 + 0; rss = $3} END {print most, rss}' "$out-gateway.tsv")
kill $sampler 2>/dev/null || true
set -- $held
held_connections=$(($1 - 1))  # the sampler's own request is one of them
echo "players=$players mode=$mode start_kib=$start_rss held_connections=$held_connections held_kib=$2 load_status=$status"
awk -v s="$start_rss" -v h="$2" -v n="$held_connections" \
    'BEGIN {printf "whole bytes per connection %.0f, growth per connection %.0f\n", h * 1024 / n, (h - s) * 1024 / n}'
