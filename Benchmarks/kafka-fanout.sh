#!/usr/bin/env bash
# Measures Kafka -> WebSocket fan-out: a development broker, one gateway consuming topic
# `fanout`, and stadium-load holding CONNECTIONS subscribers of /fanout while one of them
# publishes MESSAGES probes, one every INTERVAL_MS. Every probe goes through Kafka (pub ->
# record -> consumed -> one frame to every subscriber). Prints stadium-load's summary and the
# gateway's own histogram of Kafka timestamp -> last socket write.
#   Benchmarks/kafka-fanout.sh CONNECTIONS MESSAGES INTERVAL_MS
# The run note (.txt) also says how fast each core of the VM was during the run (Benchmarks/lib.sh's
# watch_machine: each core runs at one of two speeds about 1.5x apart, switching every second or so).
# Settings (environment): BIN (.build/release), PORT (0: a port the kernel gives the gateway), RUN_DIR (.run/kafka-fanout),
# REPORT_DIR (Benchmarks/reports: stadium-load's report, and the run's command, commit, cores'
# speeds and the gateway's histogram, kafka-fanout-CONNECTIONS-MESSAGES-INTERVAL_MS-COMMIT.json and .txt),
# LOAD_ARGS (more stadium-load options, e.g. "--tolerate-lost 10"),
# PIN (1: the gateway alone on core 1, the broker and stadium-load on core 0, as sustained.py
# does; 0, the default: unpinned, as the RESULTS rows before it were measured).
# Exit status: stadium-load's (non-zero when it lost, duplicated or failed connections), after
# the gateway's histogram is printed all the same.
set -euo pipefail

cd "$(dirname "$0")/.."
source Benchmarks/lib.sh
connections=${1:?usage: $0 CONNECTIONS MESSAGES INTERVAL_MS}
messages=${2:?usage: $0 CONNECTIONS MESSAGES INTERVAL_MS}
interval_ms=${3:?usage: $0 CONNECTIONS MESSAGES INTERVAL_MS}
BIN=${BIN:-.build/release}
PORT=${PORT:-0}
RUN_DIR=${RUN_DIR:-.run/kafka-fanout}
REPORT_DIR=${REPORT_DIR:-Benchmarks/reports}
LOAD_ARGS=${LOAD_ARGS:-}
PIN=${PIN:-0}
server_cpu=() load_cpu=()
if [[ $PIN == 1 ]]; then
    server_cpu=(taskset -c 1)
    load_cpu=(taskset -c 0)
fi

RUN_COMMAND="PIN=$PIN LOAD_ARGS='$LOAD_ARGS' Benchmarks/kafka-fanout.sh $connections $messages $interval_ms"
name="kafka-fanout-$connections-$messages-$interval_ms-$(commit_id)"
[[ $PIN == 1 ]] && name="$name-pinned"
mkdir -p "$RUN_DIR" "$REPORT_DIR"
write_run_note "$REPORT_DIR/$name.txt"
rm -f "$RUN_DIR/bootstrap"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT


"${load_cpu[@]}" "$BIN/stadium-kafka" --topics question,answer,result,gettop,top,fanout \
    --bootstrap-file "$RUN_DIR/bootstrap" >"$RUN_DIR/kafka.log" 2>&1 &
pids+=($!)
poll 30 test -s "$RUN_DIR/bootstrap"

"${server_cpu[@]}" "$BIN/stadium-gateway" --listen "127.0.0.1:$PORT" --bootstrap-file "$RUN_DIR/bootstrap" \
    --topics fanout --max-connections $((connections + 100)) >"$RUN_DIR/gateway.log" 2>&1 &
pids+=($!)
poll 30 grep -q "listening on" "$RUN_DIR/gateway.log"
PORT=$(listening_port "$RUN_DIR/gateway.log")

watch_machine "$RUN_DIR"
pids+=("${watch_pids[@]}")
load_status=0
# shellcheck disable=SC2086 # LOAD_ARGS is a list of options
"${load_cpu[@]}" "$BIN/stadium-load" --url "ws://127.0.0.1:$PORT/" --mode fanout --connections "$connections" \
    --subject /fanout --messages "$messages" --interval-ms "$interval_ms" \
    --report "$REPORT_DIR/$name.json" $LOAD_ARGS || load_status=$?
note_machine "$REPORT_DIR/$name.txt" "$RUN_DIR"

# The gateway's own histogram goes into the run note too, so the report keeps it.
{
    echo "gateway: Kafka timestamp -> last socket write, per record (stadium_fanout_latency)"
    curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^stadium_fanout_latency|^stadium_kafka_records|^stadium_errors_total|^stadium_connections '
} | tee -a "$REPORT_DIR/$name.txt"
if ((load_status != 0)); then
    echo "kafka-fanout: stadium-load exited $load_status: the run lost, duplicated or failed connections (its verdict is above)" >&2
fi
exit "$load_status"
