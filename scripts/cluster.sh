#!/usr/bin/env bash
# Runs a small Stadium cluster on this machine, each role on a host of its own: a network
# namespace with its own address, joined to the others by a veth pair and a bridge.
#
#   host   address     runs
#   kafka  NET.2       stadium-kafka, the development broker
#   proc   NET.3       stadium-processors --cluster, the quiz (metrics at http://NET.3:9100/metrics)
#   proc2  NET.4       stadium-processors --cluster, sharing the answer partitions (metrics at NET.4:9100)
#   lb     NET.10      HAProxy: the URL clients use; leastconn over the gateways, /healthz checks
#   gw1    NET.11      stadium-gateway
#   gw2    NET.12      stadium-gateway
#
# Clients (a browser, the BOTS, tests) run on the machine itself, which is NET.1 on the bridge.
# The development broker (librdkafka's mock cluster) listens on 127.0.0.1 only and advertises
# that address to its clients, so a relay (HAProxy in TCP mode, its sockets opened inside the
# namespaces) gives each Kafka client host a 127.0.0.1:PORT whose traffic crosses the bridge to
# the broker host. Needs root (ip netns) and HAProxy (scripts/install-deps.sh cluster).
#
#   scripts/cluster.sh run     foreground; Ctrl-C stops everything and removes the hosts (make cluster-demo)
#   scripts/cluster.sh start   background; prints the URL once HAProxy sees both gateways healthy (tests)
#   scripts/cluster.sh stop    stops a background cluster and removes its hosts
#
# Settings (environment): BIN (build products dir), PORT (8080, on the lb host), BOTS (0; players
# that join through HAProxy), ROUND (20), ANSWER_WINDOW (10), PARTITIONS (6 per topic; questions
# always go to partition 0), RUN_DIR (.run/cluster), CLUSTER_NAME (stadium: prefix of the
# namespaces and interfaces, at most 8 characters), CLUSTER_NET (198.18.80: the first three
# octets of the hosts' /24; 198.18.0.0/15 is set aside for benchmark networks and routed nowhere),
# STOP_SECONDS (10), GATEWAY_ARGS (more stadium-gateway options).
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
PORT=${PORT:-8080}
BOTS=${BOTS:-0}
ROUND=${ROUND:-20}
ANSWER_WINDOW=${ANSWER_WINDOW:-10}
PARTITIONS=${PARTITIONS:-6}
RUN_DIR=${RUN_DIR:-.run/cluster}
CLUSTER_NAME=${CLUSTER_NAME:-stadium}
CLUSTER_NET=${CLUSTER_NET:-198.18.80}
GATEWAY_ARGS=${GATEWAY_ARGS:-}
STARTUP_SECONDS=${STARTUP_SECONDS:-60}
PROCESSORS_METRICS_PORT=9100
STOP_SECONDS=${STOP_SECONDS:-10}

log() { echo "cluster: $*" >&2; }

# Host name and last octet of its address; the bridge holds .1 for the machine itself.
declare -A HOST_OCTET=([kafka]=2 [proc]=3 [proc2]=4 [lb]=10 [gw1]=11 [gw2]=12)
HOSTS=(kafka proc proc2 lb gw1 gw2)
GATEWAYS=(gw1 gw2)
# One consumer group: each holds some answer partitions, their scores and the merged top.
PROCESSOR_HOSTS=(proc proc2)
# Hosts whose programs talk to Kafka, each through its own end of the relay.
KAFKA_CLIENT_HOSTS=(proc proc2 gw1 gw2)
BRIDGE="${CLUSTER_NAME}-br"

[[ ${#CLUSTER_NAME} -le 8 && $CLUSTER_NAME =~ ^[a-z][a-z0-9]*$ ]] ||
    { log "CLUSTER_NAME must be 1-8 lowercase letters and digits (interface names are short)"; exit 2; }
[[ $CLUSTER_NET =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { log "CLUSTER_NET is three octets, e.g. 198.18.80"; exit 2; }

address_of() { echo "$CLUSTER_NET.${HOST_OCTET[$1]}"; }
namespace_of() { echo "$CLUSTER_NAME-$1"; }

mkdir -p "$RUN_DIR"
RUN_DIR=$(cd "$RUN_DIR" && pwd)

# The pids file holds "name pid" lines in start order.
cluster_entries() { [[ -f "$RUN_DIR/pids" ]] && cat "$RUN_DIR/pids"; }
cluster_pids() { cluster_entries | cut -d' ' -f2 || true; }

is_ours() {  # is_ours PID: still running a command of this cluster (each names a file in RUN_DIR)
    local command
    command=$( { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null) || return 1
    [[ $command == *"$RUN_DIR/"* ]]
}

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
    deadline=$((SECONDS + STOP_SECONDS))
    for entry in "$@"; do
        while is_ours "${entry#* }" && ((SECONDS < deadline)); do sleep 0.05; done
    done
}

remove_hosts() {
    local host
    for host in "${HOSTS[@]}"; do
        # The kernel frees a deleted namespace's veth pair later, in the background: delete it now.
        ip link delete "$CLUSTER_NAME-$host" 2>/dev/null || true
        ip netns delete "$(namespace_of "$host")" 2>/dev/null || true
    done
    ip link delete "$BRIDGE" 2>/dev/null || true
}

stop_cluster() {
    local clients=() relay=() broker=() entry
    while read -r entry; do
        [[ -n $entry ]] || continue
        case ${entry% *} in
        kafka) broker+=("$entry") ;;
        kafka-relay) relay+=("$entry") ;;
        *) clients+=("$entry") ;;
        esac
    done < <(cluster_entries || true)
    # Clients first, while the broker still answers (a Kafka client whose broker vanished can
    # hang on close); then the relay, then the broker.
    ((${#clients[@]} == 0)) || stop_processes "${clients[@]}"
    ((${#relay[@]} == 0)) || stop_processes "${relay[@]}"
    ((${#broker[@]} == 0)) || stop_processes "${broker[@]}"
    remove_hosts
    rm -f "$RUN_DIR/pids" "$RUN_DIR/bootstrap" "$RUN_DIR/lb.sock"
}

fail() {
    log "$*; logs are in $RUN_DIR/"
    stop_cluster
    exit 1
}

wait_for() {  # wait_for DESCRIPTION COMMAND...: polls until COMMAND succeeds or the deadline passes
    local what=$1 pid
    shift
    local deadline=$((SECONDS + STARTUP_SECONDS))
    until "$@"; do
        ((SECONDS < deadline)) || fail "gave up waiting for $what after ${STARTUP_SECONDS}s"
        for pid in $(cluster_pids); do
            is_ours "$pid" || { tail -n 20 "$RUN_DIR"/*.log >&2; fail "a process died while waiting for $what"; }
        done
        sleep 0.2
    done
}

add_hosts() {
    ip link add "$BRIDGE" type bridge
    ip addr add "$CLUSTER_NET.1/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    local host namespace outside
    for host in "${HOSTS[@]}"; do
        namespace=$(namespace_of "$host")
        outside="$CLUSTER_NAME-$host"
        ip netns add "$namespace"
        ip -n "$namespace" link set lo up
        ip link add "$outside" type veth peer name eth0 netns "$namespace"
        ip link set "$outside" master "$BRIDGE"
        ip link set "$outside" up
        ip -n "$namespace" addr add "$(address_of "$host")/24" dev eth0
        ip -n "$namespace" link set eth0 up
    done
}

# `start` leaves the processes in the caller's process group, so its Ctrl-C reaches them too.
detach=()

start_on() {  # start_on HOST NAME COMMAND...: runs COMMAND in HOST's namespace ("machine": on this machine)
    local host=$1 name=$2
    shift 2
    local inside=()
    [[ $host == machine ]] || inside=(ip netns exec "$(namespace_of "$host")")
    # ip netns exec and setsid exec the command: the pid recorded is the program's own.
    "${detach[@]}" "${inside[@]}" "$@" >"$RUN_DIR/$name.out" 2>"$RUN_DIR/$name.log" &
    local pid=$!
    # A gateway killed on purpose is no news for this script's job table.
    disown "$pid"
    while kill -0 "$pid" 2>/dev/null && ! is_ours "$pid"; do sleep 0.01; done
    echo "$name $pid" >>"$RUN_DIR/pids"
}

write_relay_config() {  # write_relay_config PORT: the broker's loopback port, on every Kafka client host
    local port=$1 kafka_namespace kafka_address host
    kafka_namespace=$(namespace_of kafka)
    kafka_address=$(address_of kafka)
    {
        echo "# Kafka relay: 127.0.0.1:$port on each Kafka client host -> the broker host -> its loopback."
        echo "global"
        echo "    maxconn 4096"
        echo "defaults"
        echo "    mode tcp"
        echo "    timeout connect 2s"
        # Kafka clients keep their connections open for the whole run.
        echo "    timeout client 24h"
        echo "    timeout server 24h"
        echo "frontend broker-host"
        echo "    bind $kafka_address:$port namespace $kafka_namespace"
        echo "    default_backend broker-loopback"
        echo "backend broker-loopback"
        echo "    server broker 127.0.0.1:$port namespace $kafka_namespace"
        for host in "${KAFKA_CLIENT_HOSTS[@]}"; do
            echo "frontend kafka-on-$host"
            echo "    bind 127.0.0.1:$port namespace $(namespace_of "$host")"
            echo "    default_backend kafka-from-$host"
            echo "backend kafka-from-$host"
            echo "    server broker $kafka_address:$port namespace $(namespace_of "$host")"
        done
    } >"$RUN_DIR/kafka-relay.cfg"
}

write_balancer_config() {
    local host connections
    # Each proxied connection holds two descriptors; HAProxy cannot raise the hard limit.
    connections=$((($(ulimit -Hn) - 200) / 2))
    {
        echo "# The cluster's entry: WebSocket upgrades pass through to the gateway with the fewest connections."
        echo "global"
        echo "    maxconn $connections"
        echo "    stats socket $RUN_DIR/lb.sock mode 600 level admin"
        echo "defaults"
        echo "    mode http"
        echo "    timeout connect 1s"
        echo "    timeout client 1h"
        echo "    timeout server 1h"
        # An upgraded WebSocket is a tunnel: the gateway's pings keep it busy.
        echo "    timeout tunnel 1h"
        echo "    timeout http-request 10s"
        # A connect refused by a dead gateway not yet marked down is tried on the other one.
        echo "    retries 2"
        echo "    option redispatch 1"
        echo "frontend players"
        echo "    bind $(address_of lb):$PORT"
        echo "    maxconn $connections"
        echo "    default_backend gateways"
        echo "backend gateways"
        echo "    balance leastconn"
        echo "    option httpchk GET /healthz"
        echo "    http-check expect status 200"
        # A dead gateway is out after two failed checks, about a second; a live one's sessions
        # are never cut by a slow check (no on-marked-down shutdown-sessions).
        echo "    default-server check inter 500ms fall 2 rise 2 maxconn $connections"
        for host in "${GATEWAYS[@]}"; do
            echo "    server $host $(address_of "$host"):$PORT"
        done
    } >"$RUN_DIR/lb.cfg"
}

balancer_sees_gateways_up() {  # every gateway UP in HAProxy's own view
    local state
    state=$(echo "show servers state gateways" | balancer_query) || return 1
    # Columns: ... srv_name srv_addr srv_op_state (2 = running) ...
    local up
    up=$(awk '$4 ~ /^gw[0-9]+$/ && $6 == 2 { n++ } END { print n + 0 }' <<<"$state")
    ((up == ${#GATEWAYS[@]}))
}

balancer_query() {  # stdin: one HAProxy runtime API command; stdout: its answer
    python3 -c '
import socket, sys
client = socket.socket(socket.AF_UNIX)
client.connect(sys.argv[1])
client.sendall(sys.stdin.read().encode())
answer = b""
while chunk := client.recv(65536):
    answer += chunk
sys.stdout.write(answer.decode())
' "$RUN_DIR/lb.sock" 2>/dev/null
}

processors_share_partitions() {  # every answer partition held, each instance holding some
    local host name log held=()
    for host in "${PROCESSOR_HOSTS[@]}"; do
        name=processors
        [[ $host == proc ]] || name="processors-$host"
        log="$RUN_DIR/$name.log"
        # The newest rebalance line of this instance must be an assignment (a revocation means one is coming).
        local last
        last=$(grep -E "partitions (assigned|revoked)" "$log" 2>/dev/null | tail -n 1) || return 1
        # Each holds some: one that holds none has not joined yet, and its joining moves partitions.
        [[ $last == *"partitions assigned"* && $last == *"answer["* ]] || return 1
        held+=($(grep -oE "answer\[[0-9]+\]" <<<"$last"))
    done
    (($(printf '%s\n' "${held[@]}" | sort -u | wc -l) == PARTITIONS))
}

relay_listens_on() {  # relay_listens_on HOST PORT: the relay accepts connects on HOST's loopback
    ip netns exec "$(namespace_of "$1")" bash -c "exec 3<>/dev/tcp/127.0.0.1/$2" 2>/dev/null
}

start_cluster() {
    [[ $(id -u) -eq 0 ]] || { log "needs root: network namespaces (sudo $0 $*)"; exit 1; }
    for binary in stadium-kafka stadium-gateway stadium-processors stadium-load; do
        [[ -x "$BIN/$binary" ]] || { log "$BIN/$binary is missing: build first (make build)"; exit 1; }
    done
    command -v haproxy >/dev/null || { log "haproxy is missing: scripts/install-deps.sh cluster"; exit 1; }
    stop_cluster
    # Whatever fails from here on (a host that cannot be made, say), nothing is left behind.
    trap 'status=$?; if ((status != 0)); then stop_cluster; fi' EXIT
    : >"$RUN_DIR/pids"
    add_hosts
    start_on kafka kafka "$BIN/stadium-kafka" --partitions "$PARTITIONS" --bootstrap-file "$RUN_DIR/bootstrap"
    wait_for "the development broker" test -s "$RUN_DIR/bootstrap"
    local bootstrap port host
    bootstrap=$(cat "$RUN_DIR/bootstrap")
    port=${bootstrap##*:}
    [[ $bootstrap == "127.0.0.1:$port" ]] || fail "the broker advertises $bootstrap, the relay expects 127.0.0.1:PORT"
    log "development broker on host kafka ($(address_of kafka)), port $port"
    write_relay_config "$port"
    haproxy -c -q -f "$RUN_DIR/kafka-relay.cfg" || fail "HAProxy refused the relay configuration"
    start_on machine kafka-relay haproxy -db -f "$RUN_DIR/kafka-relay.cfg"
    for host in "${KAFKA_CLIENT_HOSTS[@]}"; do
        wait_for "the Kafka relay on host $host" relay_listens_on "$host" "$port"
    done
    for host in "${PROCESSOR_HOSTS[@]}"; do
        # The name of the first stays "processors": its log is processors.log as before.
        local name=processors
        [[ $host == proc ]] || name="processors-$host"
        start_on "$host" "$name" "$BIN/stadium-processors" --bootstrap-file "$RUN_DIR/bootstrap" --cluster \
            --round "$ROUND" --answer-window "$ANSWER_WINDOW" --metrics-listen "$(address_of "$host"):$PROCESSORS_METRICS_PORT"
    done
    for host in "${GATEWAYS[@]}"; do
        start_on "$host" "$host" "$BIN/stadium-gateway" --listen "$(address_of "$host"):$PORT" \
            --bootstrap-file "$RUN_DIR/bootstrap" --web-root web --max-connections 20000 $GATEWAY_ARGS
    done
    for host in "${GATEWAYS[@]}"; do
        wait_for "gateway $host" grep -q "listening on" "$RUN_DIR/$host.out"
    done
    # Players come after the group settled: a rebalance holds answers back for seconds.
    wait_for "the processors to share the answer partitions" processors_share_partitions
    write_balancer_config
    haproxy -c -q -f "$RUN_DIR/lb.cfg" || fail "HAProxy refused the load balancer configuration"
    start_on lb lb haproxy -db -f "$RUN_DIR/lb.cfg"
    wait_for "HAProxy to see every gateway healthy" balancer_sees_gateways_up
    if ((BOTS > 0)); then
        start_on machine bots "$BIN/stadium-load" --url "ws://$(address_of lb):$PORT/" --players "$BOTS" \
            --names "bot-{i}" --report "$RUN_DIR/bots.json"
    fi
    trap - EXIT
}

case "${1:-}" in
run)
    # Each process in a session of its own: Ctrl-C reaches only this script, which stops the
    # clients before the broker, then removes the hosts.
    detach=(setsid)
    trap 'echo; log "stopping"; stop_cluster; log "stopped"; exit 0' INT TERM
    start_cluster
    echo
    echo "  Stadium cluster: open http://$(address_of lb):$PORT/ (HAProxy in front of gateways gw1 and gw2)."
    echo "  Fail over: kill -9 a gateway (pids in $RUN_DIR/pids); its players come back through HAProxy."
    echo "  Or kill -9 a processors: the other takes over its answer partitions and scores."
    echo "  A question every ${ROUND}s; ${BOTS} bots play. Ctrl-C stops everything. Logs: $RUN_DIR/*.log"
    echo
    # Stay in the foreground until Ctrl-C, or until the broker, relay or balancer ends by itself
    # (a gateway may be killed on purpose: the cluster goes on with the other).
    while true; do
        while read -r entry; do
            name=${entry% *}
            [[ $name == gw* || $name == processors* ]] && continue
            is_ours "${entry#* }" || { log "$name exited; logs are in $RUN_DIR/"; stop_cluster; exit 1; }
        done < <(cluster_entries)
        sleep 1
    done
    ;;
start)
    start_cluster
    echo "http://$(address_of lb):$PORT/"
    ;;
stop)
    stop_cluster
    ;;
*)
    echo "usage: $0 run|start|stop" >&2
    exit 2
    ;;
esac
