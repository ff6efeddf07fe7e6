#!/usr/bin/env bash
# The million-connection runs of issue 7 (benchmarks, not CI). Each stage starts what it needs,
# writes stadium-load's JSON report, a memory/CPU trace of the gateway and the run's command, commit
# and settings (STAGE-CONNECTIONS-COMMIT.json, -gateway.tsv, .txt) under REPORT_DIR; the quiz
# stage also traces every process's CPU seconds and the host's idle time (-cpu.tsv).
#   Benchmarks/load-1m.sh fanout   one gateway holds CONNECTIONS; MESSAGES probes reach them all
#   Benchmarks/load-1m.sh quiz     the whole stack: CONNECTIONS players for ROUNDS rounds
# Settings (environment): CONNECTIONS (1000000), RATE (connects/s, 5000), MESSAGES (3),
# INTERVAL_MS (45000: longer than one fan-out to a million here), ROUND (120), ANSWER_WINDOW (60),
# ROUNDS (5; a million players need about 90 s per round here), BIN (.build/release),
# PORT (0: a port the kernel gives the gateway), REPORT_DIR (Benchmarks/reports), PARTITIONS (256: the development broker keeps only
# about 5 MB per partition, and a round at a million produces a million answers),
# ACK_TIMEOUT (seconds a pub may wait for Kafka, 60: a million answers queue behind each other),
# LOAD_ARGS (more stadium-load options: a million connects on 2 cores retry some handshakes, so
# e.g. "--tolerate-connect-failures 100000" to judge the deliveries alone), TLS (fanout only: 1
# serves wss:// from the gateway with a throwaway P-256 certificate that stadium-load verifies).
# Exit status: stadium-load's (non-zero when it lost, duplicated or failed connections); the
# report and the trace are written either way.
set -euo pipefail

cd "$(dirname "$0")/.."
source Benchmarks/lib.sh
stage=${1:?usage: $0 fanout|quiz}
CONNECTIONS=${CONNECTIONS:-1000000}
RATE=${RATE:-5000}
MESSAGES=${MESSAGES:-3}
INTERVAL_MS=${INTERVAL_MS:-45000}
ROUND=${ROUND:-120}
ANSWER_WINDOW=${ANSWER_WINDOW:-60}
ROUNDS=${ROUNDS:-5}
BIN=${BIN:-.build/release}
PORT=${PORT:-0}
REPORT_DIR=${REPORT_DIR:-Benchmarks/reports}
PARTITIONS=${PARTITIONS:-256}
ACK_TIMEOUT=${ACK_TIMEOUT:-60}
LOAD_ARGS=${LOAD_ARGS:-}
TLS=${TLS:-0}
[[ $TLS == 1 && $stage != fanout ]] && { echo "load-1m: TLS=1 goes with the fanout stage" >&2; exit 2; }
RUN_DIR=.run/load-1m
RUN_COMMAND="CONNECTIONS=$CONNECTIONS RATE=$RATE MESSAGES=$MESSAGES INTERVAL_MS=$INTERVAL_MS ROUND=$ROUND \
ANSWER_WINDOW=$ANSWER_WINDOW ROUNDS=$ROUNDS PARTITIONS=$PARTITIONS ACK_TIMEOUT=$ACK_TIMEOUT LOAD_ARGS='$LOAD_ARGS' \
TLS=$TLS Benchmarks/load-1m.sh $stage"
# The commit in the name: a later run does not overwrite the report an earlier figure cites.
# A quiz run's round length too: the search for the shortest round runs several on one commit.
name="$stage-$CONNECTIONS-$(commit_id)"
[[ $stage == quiz ]] && name="$stage-$CONNECTIONS-${ROUND}s-$(commit_id)"
[[ $TLS == 1 ]] && name="$stage-wss-$CONNECTIONS-$(commit_id)"

mkdir -p "$REPORT_DIR" "$RUN_DIR"
write_run_note "$REPORT_DIR/$name.txt"
bash tuning/check.sh --connections "$CONNECTIONS" >/dev/null ||
    { echo "load-1m: this host is not tuned for $CONNECTIONS connections: run tuning/check.sh --connections $CONNECTIONS" >&2; exit 1; }

pids=()
cleanup() {  # newest first: the broker goes last, so the processors and the gateway leave it cleanly
    local index
    for ((index = ${#pids[@]} - 1; index >= 0; index--)); do kill -TERM "${pids[index]}" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT


cpu_seconds() {  # cpu_seconds PID: the process's user + system CPU seconds so far
    awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat"
}

trace_gateway() {  # every 5 s: seconds, gateway RSS (KiB), gateway CPU seconds, used memory (MiB)
    local pid=$1 out=$2
    echo "seconds rss_kib cpu_seconds used_mib" >"$out"
    local start=$SECONDS
    while kill -0 "$pid" 2>/dev/null; do
        echo "$((SECONDS - start)) $(awk '/VmRSS/{print $2}' "/proc/$pid/status") \
$(cpu_seconds "$pid") $(free -m | awk '/Mem/{print $3}')" >>"$out"
        sleep 5
    done
}

trace_cpu() {  # every 5 s: seconds, then each NAME=PID's CPU seconds, then the host's idle CPU seconds
    local out=$1 ticks start=$SECONDS
    shift
    ticks=$(getconf CLK_TCK)
    echo "seconds ${*%%=*} host_idle" >"$out"
    while kill -0 "${1#*=}" 2>/dev/null; do
        local line="$((SECONDS - start))" entry
        for entry in "$@"; do
            line+=" $(cpu_seconds "${entry#*=}" 2>/dev/null || echo NA)"
        done
        echo "$line $(awk -v t="$ticks" '/^cpu /{printf "%.2f", ($5 + $6) / t}' /proc/stat)" >>"$out"
        sleep 5
    done
}

start_gateway() {  # start_gateway EXTRA-ARGS...
    "$BIN/stadium-gateway" --listen "127.0.0.1:$PORT" --max-connections $((CONNECTIONS + 1000)) \
        --handshake-timeout 60 "$@" >"$RUN_DIR/gateway.log" 2>&1 &
    gateway=$!
    pids+=("$gateway")
    poll 60 grep -q "listening on" "$RUN_DIR/gateway.log"
    PORT=$(listening_port "$RUN_DIR/gateway.log")
    trace_gateway "$gateway" "$REPORT_DIR/$name-gateway.tsv" &
}

load_status=0
case "$stage" in
fanout)
    scheme=ws tls_gateway=() tls_load=()
    if [[ $TLS == 1 ]]; then
        bash scripts/make-certificates.sh "$RUN_DIR/tls" "Stadium benchmark CA"
        scheme=wss
        tls_gateway=(--tls-cert "$RUN_DIR/tls/chain.pem" --tls-key "$RUN_DIR/tls/server.key")
        tls_load=(--ca "$RUN_DIR/tls/ca.pem" --handshake-timeout 60)
    fi
    start_gateway "${tls_gateway[@]}"
    # shellcheck disable=SC2086 # LOAD_ARGS is a list of options
    "$BIN/stadium-load" --url "$scheme://127.0.0.1:$PORT/" "${tls_load[@]}" --mode fanout --connections "$CONNECTIONS" --rate "$RATE" \
        --subject /question --messages "$MESSAGES" --interval-ms "$INTERVAL_MS" --report "$REPORT_DIR/$name.json" \
        $LOAD_ARGS || load_status=$?
    ;;
quiz)
    "$BIN/stadium-kafka" --partitions "$PARTITIONS" --bootstrap-file "$RUN_DIR/bootstrap" >"$RUN_DIR/kafka.log" 2>&1 &
    pids+=($!)
    poll 60 test -s "$RUN_DIR/bootstrap"
    start_gateway --bootstrap-file "$RUN_DIR/bootstrap" --ack-timeout "$ACK_TIMEOUT"
    # The players join first and the first question waits for the ramp (here about 70% of
    # RATE): rounds during the ramp would compete with it for the two cores. The processors
    # start now all the same: their consumer group joins while the machine is quiet (one that
    # joined during the first fan-out to a million was never assigned its partitions).
    ramp=$((CONNECTIONS * 10 / (RATE * 7) + 30))
    duration=$((ramp + ROUND * (ROUNDS + 2) + 30))
    "$BIN/stadium-processors" --bootstrap-file "$RUN_DIR/bootstrap" --round "$ROUND" \
        --answer-window "$ANSWER_WINDOW" --start-delay "$ramp" >"$RUN_DIR/processors.log" 2>&1 &
    pids+=($!)
    # shellcheck disable=SC2086 # LOAD_ARGS is a list of options
    "$BIN/stadium-load" --url "ws://127.0.0.1:$PORT/" --players "$CONNECTIONS" --rate "$RATE" --names "p{i}" \
        --think-seconds "$ANSWER_WINDOW" --gettop-every 0 --duration "$duration" --report "$REPORT_DIR/$name.json" \
        $LOAD_ARGS &
    load=$!
    pids+=("$load")
    # Where the two cores go during the rounds: each process's CPU and the host's idle time.
    trace_cpu "$REPORT_DIR/$name-cpu.tsv" load=$load kafka="${pids[0]}" gateway=$gateway processors="${pids[2]}" &
    wait "$load" || load_status=$?
    ;;
*)
    echo "usage: $0 fanout|quiz" >&2
    exit 2
    ;;
esac
echo "load-1m: report $REPORT_DIR/$name.json, gateway trace $REPORT_DIR/$name-gateway.tsv"
((load_status == 0)) || echo "load-1m: stadium-load exited $load_status: the run lost, duplicated or failed connections (see the report's verdict)" >&2
exit "$load_status"
