#!/usr/bin/env bash
# Runs the whole Stadium stack on this machine: development broker, gateway, quiz processors
# and bot players.
#   scripts/stack.sh run     foreground; Ctrl-C stops everything (make demo)
#   scripts/stack.sh start   background; prints the URL once the gateway answers (tests)
#   scripts/stack.sh stop    stops a background stack
# Settings (environment): BIN (build products dir), PORT (8080; 0: a port the kernel gives; stable: a
# free one in STABLE_PORTS, 9500-10199, below the ephemeral range, that a restarted gateway can bind
# again; the port in use is written to $RUN_DIR/port), BOTS (10; 0 for none), ROUND (20),
# ANSWER_WINDOW (10), RUN_DIR (.run), STOP_SECONDS (10: then SIGKILL whatever ignores SIGTERM),
# GATEWAY_ARGS (more stadium-gateway options, e.g. "--history-frames 4096"), PROCESSORS_ARGS (more
# stadium-processors options, e.g. "--metrics-listen 127.0.0.1:9470"), TLS (0; 1: https and wss with
# a local CA and certificate made with openssl in $RUN_DIR/tls, kept for the next run).
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
PORT=${PORT:-8080}
BOTS=${BOTS:-10}
ROUND=${ROUND:-20}
ANSWER_WINDOW=${ANSWER_WINDOW:-10}
RUN_DIR=${RUN_DIR:-.run}
GATEWAY_ARGS=${GATEWAY_ARGS:-}
PROCESSORS_ARGS=${PROCESSORS_ARGS:-}
STARTUP_SECONDS=${STARTUP_SECONDS:-60}
STOP_SECONDS=${STOP_SECONDS:-10}
TLS=${TLS:-0}
STABLE_PORTS=${STABLE_PORTS:-9500-10199}

log() { echo "stack: $*" >&2; }

# The pids file holds "name pid" lines in start order.
stack_entries() { [[ -f "$RUN_DIR/pids" ]] && cat "$RUN_DIR/pids"; }

is_ours() {  # is_ours PID: still running one of our executables (a reused pid is not ours)
    local command
    command=$( { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null) || return 1
    [[ $command == *stadium-* ]]
}

stack_pids() { stack_entries | cut -d' ' -f2 || true; }

stop_processes() {  # stop_processes "name pid"...: SIGTERM, a bounded wait, then SIGKILL
    local entry name pid
    for entry in "$@"; do
        pid=${entry#* }
        is_ours "$pid" && kill -TERM "$pid" 2>/dev/null || true
    done
    local deadline=$((SECONDS + STOP_SECONDS))
    while ((SECONDS < deadline)); do
        local alive=0
        for entry in "$@"; do is_ours "${entry#* }" && alive=1; done
        ((alive == 0)) && return 0
        sleep 0.1
    done
    for entry in "$@"; do
        name=${entry% *}
        pid=${entry#* }
        if is_ours "$pid"; then
            log "$name (pid $pid) did not stop within ${STOP_SECONDS}s of SIGTERM: killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    # SIGKILL is delivered asynchronously: return once they are gone, so their ports are free.
    deadline=$((SECONDS + STOP_SECONDS))
    for entry in "$@"; do
        while is_ours "${entry#* }" && ((SECONDS < deadline)); do sleep 0.05; done
    done
}

stop_stack() {
    local entries=() broker=()
    local entry
    while read -r entry; do
        [[ -n $entry ]] || continue
        if [[ ${entry% *} == kafka ]]; then broker+=("$entry"); else entries+=("$entry"); fi
    done < <(stack_entries || true)
    # Clients first, so they close while the broker still answers; the broker last.
    ((${#entries[@]} == 0)) || stop_processes "${entries[@]}"
    ((${#broker[@]} == 0)) || stop_processes "${broker[@]}"
    rm -f "$RUN_DIR/pids" "$RUN_DIR/bootstrap" "$RUN_DIR/port"
}

wait_for() {  # wait_for DESCRIPTION COMMAND...: polls until COMMAND succeeds or the deadline passes
    local what=$1
    shift
    local deadline=$((SECONDS + STARTUP_SECONDS))
    until "$@"; do
        if ((SECONDS >= deadline)); then
            log "gave up waiting for $what after ${STARTUP_SECONDS}s; logs are in $RUN_DIR/"
            stop_stack
            exit 1
        fi
        for pid in $(stack_pids); do
            is_ours "$pid" || { log "a process died while waiting for $what; logs are in $RUN_DIR/"; tail -n 20 "$RUN_DIR"/*.log >&2; stop_stack; exit 1; }
        done
        sleep 0.2
    done
}

# `start` leaves the processes in the caller's process group, so its Ctrl-C reaches them too.
detach=()

start_process() {  # start_process NAME COMMAND...
    local name=$1
    shift
    "${detach[@]}" "$@" >"$RUN_DIR/$name.out" 2>"$RUN_DIR/$name.log" &
    local pid=$!
    # Until its exec the child is still this script: wait, so liveness checks see our executable.
    while kill -0 "$pid" 2>/dev/null && ! is_ours "$pid"; do sleep 0.01; done
    echo "$name $pid" >>"$RUN_DIR/pids"
}

# A local CA (kept, so a browser that trusts it keeps trusting it) and a certificate for localhost.
make_certificates() {
    bash scripts/make-certificates.sh "$RUN_DIR/tls" "Stadium demo CA (this machine only)"
}

# STABLE_PORTS must lie outside net.ipv4.ip_local_port_range, or an outgoing connection of anything
# on the host may take the port while the gateway is down (tuning/apply.sh sets 10240-65535).
check_stable_ports() {
    local first=${STABLE_PORTS%-*} last=${STABLE_PORTS#*-} low high
    read -r low high </proc/sys/net/ipv4/ip_local_port_range
    if ((first <= high && last >= low)); then
        log "STABLE_PORTS $STABLE_PORTS overlaps the ephemeral ports $low-$high (net.ipv4.ip_local_port_range):"
        log "an outgoing connection could take the port; choose STABLE_PORTS=FIRST-LAST outside $low-$high"
        exit 1
    fi
}

stable_candidates() {  # prints the ports of STABLE_PORTS from a random one on, wrapping around
    local first=${STABLE_PORTS%-*} last=${STABLE_PORTS#*-} count start i
    count=$((last - first + 1))
    start=$((RANDOM % count))
    for ((i = 0; i < count; i++)); do echo $((first + (start + i) % count)); done
}

# Starts the gateway on 127.0.0.1:$1 and waits until it listens; false when it ended before that
# because the port was taken (it is then forgotten), exits on any other end.
start_gateway_on() {
    local port=$1 pid deadline=$((SECONDS + STARTUP_SECONDS))
    shift
    start_process gateway "$BIN/stadium-gateway" --listen "127.0.0.1:$port" "$@"
    pid=$(tail -n 1 "$RUN_DIR/pids" | cut -d' ' -f2)
    until grep -q "listening on" "$RUN_DIR/gateway.out"; do
        if ! is_ours "$pid"; then
            if grep -q "Address already in use" "$RUN_DIR/gateway.out" "$RUN_DIR/gateway.log"; then
                sed -i "/^gateway $pid\$/d" "$RUN_DIR/pids"
                return 1
            fi
            log "the gateway exited; logs are in $RUN_DIR/"
            tail -n 20 "$RUN_DIR/gateway.log" >&2
            stop_stack
            exit 1
        fi
        if ((SECONDS >= deadline)); then
            log "gave up waiting for the gateway after ${STARTUP_SECONDS}s; logs are in $RUN_DIR/"
            stop_stack
            exit 1
        fi
        sleep 0.2
    done
}

start_stack() {
    for binary in stadium-kafka stadium-gateway stadium-processors stadium-load; do
        [[ -x "$BIN/$binary" ]] || { log "$BIN/$binary is missing: build first (make build)"; exit 1; }
    done
    [[ $PORT != stable ]] || check_stable_ports
    mkdir -p "$RUN_DIR"
    stop_stack
    if [[ $PORT != 0 && $PORT != stable ]] && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
        log "port $PORT is already in use: stop what runs there or choose another with PORT=..."
        exit 1
    fi
    : >"$RUN_DIR/pids"
    start_process kafka "$BIN/stadium-kafka" --bootstrap-file "$RUN_DIR/bootstrap"
    wait_for "the development broker" test -s "$RUN_DIR/bootstrap"
    log "development broker at $(cat "$RUN_DIR/bootstrap")"
    start_process processors "$BIN/stadium-processors" --bootstrap-file "$RUN_DIR/bootstrap" \
        --round "$ROUND" --answer-window "$ANSWER_WINDOW" $PROCESSORS_ARGS
    local tls_gateway=() tls_bots=() scheme=ws
    if [[ "$TLS" == 1 ]]; then
        command -v openssl >/dev/null || { log "TLS=1 needs the openssl command"; exit 1; }
        make_certificates
        tls_gateway=(--tls-cert "$RUN_DIR/tls/chain.pem" --tls-key "$RUN_DIR/tls/server.key")
        tls_bots=(--ca "$RUN_DIR/tls/ca.pem")
        scheme=wss
    fi
    local gateway_options=(--bootstrap-file "$RUN_DIR/bootstrap" --web-root web --max-connections 10000
        "${tls_gateway[@]}" $GATEWAY_ARGS)
    if [[ $PORT == stable ]]; then
        local candidate started=0
        for candidate in $(stable_candidates); do
            if start_gateway_on "$candidate" "${gateway_options[@]}"; then started=1; break; fi
        done
        ((started)) || { log "no port of STABLE_PORTS $STABLE_PORTS is free"; stop_stack; exit 1; }
    elif ! start_gateway_on "$PORT" "${gateway_options[@]}"; then
        log "port $PORT is already in use: stop what runs there or choose another with PORT=..."
        stop_stack
        exit 1
    fi
    # The port it listens on (PORT=0 and stable choose it here).
    PORT=$(sed -n 's|.*listening on wss\{0,1\}://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$RUN_DIR/gateway.out" | head -n 1)
    echo "$PORT" >"$RUN_DIR/port"
    if ((BOTS > 0)); then
        start_process bots "$BIN/stadium-load" --url "$scheme://127.0.0.1:$PORT/" "${tls_bots[@]}" --players "$BOTS" --names "bot-{i}"
    fi
}

case "${1:-}" in
run)
    # Each process in a session of its own: Ctrl-C reaches only this script, which stops the
    # clients before the broker (a client whose broker vanished first can hang on close).
    detach=(setsid)
    # Set before starting, so a Ctrl-C during startup also stops what already runs.
    trap 'echo; log "stopping"; stop_stack; log "stopped"; exit 0' INT TERM
    start_stack
    echo
    if [[ "$TLS" == 1 ]]; then
        echo "  Stadium is running: open https://localhost:$PORT/ and play over wss (Ctrl-C stops everything)."
        echo "  The certificate is signed by a CA made for this machine: $RUN_DIR/tls/ca.pem. To trust it:"
        echo "    Chromium, Chrome: Settings > Privacy and security > Security > Manage certificates >"
        echo "      Authorities > Import $RUN_DIR/tls/ca.pem (trust it for websites), or on Linux:"
        echo "      certutil -d sql:\$HOME/.pki/nssdb -A -t C,, -n stadium-demo -i $RUN_DIR/tls/ca.pem"
        echo "    Firefox: Settings > Privacy & Security > Certificates > View Certificates > Authorities > Import"
        echo "    curl: curl --cacert $RUN_DIR/tls/ca.pem https://localhost:$PORT/healthz"
        echo "  Remove it from the browser when done: its key ($RUN_DIR/tls/ca.key) is on this disk."
    else
        echo "  Stadium is running: open http://127.0.0.1:$PORT/ and play (Ctrl-C stops everything)."
    fi
    echo "  A question every ${ROUND}s; ${BOTS} bots play too. Logs: $RUN_DIR/*.log"
    echo
    # Stay in the foreground until Ctrl-C, or until a process of the stack ends by itself.
    while true; do
        for pid in $(stack_pids); do
            is_ours "$pid" || { log "a process of the stack exited; logs are in $RUN_DIR/"; stop_stack; exit 1; }
        done
        sleep 1
    done
    ;;
start)
    start_stack
    if [[ "$TLS" == 1 ]]; then echo "https://localhost:$PORT/"; else echo "http://127.0.0.1:$PORT/"; fi
    ;;
stop)
    stop_stack
    ;;
*)
    echo "usage: $0 run|start|stop" >&2
    exit 2
    ;;
esac
