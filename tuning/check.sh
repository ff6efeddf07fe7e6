#!/usr/bin/env bash
# Reports, per setting, what this host has, what N connections need and why.
# Exits 1 when something is missing, 2 on bad usage. Needs no root.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
usage: $0 --connections N [--both-ends] [--cores C]
  --connections N  WebSocket connections one gateway host should hold
  --both-ends      the load generator runs on this host too (loopback tests): twice the sockets
  --cores C        cores the gateway uses (default: all, $(nproc))
USAGE
}

connections=""
both_ends=false
cores="$(nproc)"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --connections) connections="${2:-}"; shift 2 || true ;;
    --both-ends) both_ends=true; shift ;;
    --cores) cores="${2:-}"; shift 2 || true ;;
    -h | --help) usage; exit 0 ;;
    *) echo "check.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
if ! [[ "$connections" =~ ^[1-9][0-9]*$ && "$cores" =~ ^[1-9][0-9]*$ ]]; then
  echo "check.sh: --connections and --cores need a positive whole number" >&2
  usage >&2
  exit 2
fi

sockets=$connections
[[ "$both_ends" == true ]] && sockets=$((connections * 2))
# One ring per core holds everything when each ring's table has this many slots.
slots_per_ring=$(( (connections + cores - 1) / cores ))
missing=0

clamp() {
  local value="$1" low="$2" high="$3"
  (( value < low )) && value=$low
  (( value > high )) && value=$high
  echo "$value"
}

# row SETTING HOST NEEDS STATUS WHY
row() {
  printf '%-31s %-24s %-35s %s\n' "$1" "$2" "$3" "$4"
  printf '    why: %s\n' "$5"
  [[ "$4" == MISSING ]] && missing=$((missing + 1))
  return 0
}

# judge KEY COMPARISON NEED WHY: one row for a sysctl with a single-number need.
judge() {
  local key="$1" comparison="$2" need="$3" why="$4" host status=MISSING symbol=">="
  [[ "$comparison" == at-most ]] && symbol="<="
  if ! setting_exists "$key"; then
    row "$key" "(absent)" "$symbol $need" MISSING "$why"
    return 0
  fi
  host="$(read_setting "$key")"
  satisfies "$comparison" "$host" "$need" && status=ok
  row "$key" "$host" "$symbol $need" "$status" "$why"
}

echo "Stadium tuning check: $connections connections, $sockets sockets on this host, $cores cores"
printf '%-31s %-24s %-35s %s\n' SETTING HOST NEEDS STATUS

judge fs.file-max at-least $((sockets + 65536)) \
  "every socket is an open file system-wide, plus room for the rest of the host"
judge fs.nr_open at-least "$slots_per_ring" \
  "caps RLIMIT_NOFILE and so each io_uring direct-descriptor table; $cores rings of $slots_per_ring slots hold all"

soft_nofile="$(ulimit -Sn)"
hard_nofile="$(ulimit -Hn)"
for kind in soft hard; do
  value=$soft_nofile
  [[ "$kind" == hard ]] && value=$hard_nofile
  rings=$cores
  [[ "$value" == unlimited ]] || rings=$(( (connections + value - 1) / value ))
  (( rings < cores )) && rings=$cores
  # More rings than cores still works, it only costs memory and wakeups: a warning, not a failure.
  status=warn
  (( rings == cores )) && status=ok
  row "nofile ($kind, this shell)" "$value" ">= $slots_per_ring" "$status" \
    "a ring's table has at most RLIMIT_NOFILE slots: with $value the gateway needs $rings rings (limits.conf, or LimitNOFILE= for systemd)"
done

backlog=$(clamp $((connections / 16)) 1024 65535)
judge net.core.somaxconn at-least "$backlog" \
  "accept queue for the reconnect storm after a gateway restart"
judge net.ipv4.tcp_max_syn_backlog at-least "$backlog" \
  "half-open connections during that storm, before SYN cookies"
judge net.ipv4.tcp_syncookies at-least 1 \
  "keep accepting when the SYN queue overflows instead of dropping connections"
judge net.core.netdev_max_backlog at-least "$(clamp $((connections / 16)) 1000 65536)" \
  "packets a CPU queues before the stack runs: bursts of answers when a question closes"

if setting_exists net.ipv4.tcp_mem; then
  read -r -a tcp_mem <<< "$(read_setting net.ipv4.tcp_mem)"
  pressure_need=$connections
  max_need=$((connections * 4 / 3))
  status=MISSING
  (( tcp_mem[1] >= pressure_need && tcp_mem[2] >= max_need )) && status=ok
  row net.ipv4.tcp_mem "${tcp_mem[*]}" "pressure >= $pressure_need, max >= $max_need" "$status" \
    "in $(getconf PAGESIZE)-byte pages: a fan-out leaves about a page (one frame) queued on every socket"
fi

for key in net.ipv4.tcp_rmem net.ipv4.tcp_wmem; do
  read -r -a buffer <<< "$(read_setting "$key")"
  row "$key" "${buffer[*]}" "default <= 16384 advised" info \
    "buffers grow on demand; a small default bounds memory when many sockets are busy at once"
done

if (( connections >= 100000 )); then
  judge net.ipv4.tcp_fin_timeout at-most 30 \
    "frees FIN-WAIT-2 sockets sooner when many clients vanish at once"
else
  row net.ipv4.tcp_fin_timeout "$(read_setting net.ipv4.tcp_fin_timeout)" "<= 30 from 100000 connections" info \
    "frees FIN-WAIT-2 sockets sooner when many clients vanish at once"
fi
judge net.ipv4.tcp_max_orphans at-least $((connections / 4)) \
  "a quarter of the clients dropping at once; past this the kernel resets them and logs 'too many orphaned sockets'"
judge net.ipv4.tcp_max_tw_buckets at-least $((connections / 4)) \
  "TIME_WAIT state after closing slow clients; past this the kernel drops it and logs an overflow"

if [[ "$both_ends" == true ]]; then
  judge net.ipv4.tcp_tw_reuse at-least 1 \
    "the load generator reuses TIME_WAIT ports when it reconnects (2 means loopback only, enough for tests)"
fi

read -r -a port_range <<< "$(read_setting net.ipv4.ip_local_port_range)"
# The load generator binds the larger run of ports outside the ephemeral range (a port bound
# by hand is skipped by every other socket's port search, so binding inside it starves them).
below=$(( port_range[0] - 1024 ))
above=$(( 65535 - port_range[1] ))
ports=$(( below > above ? below : above ))
((ports >= 1000)) || ports=55536
row net.ipv4.ip_local_port_range "${port_range[*]}" "$ports load-generator ports per source address" info \
  "stadium-load binds ports outside this range itself: $(( (connections + ports - 1) / ports )) source addresses (127.x.y.z) for $connections connections"

if setting_exists net.netfilter.nf_conntrack_max; then
  judge net.netfilter.nf_conntrack_max at-least $((sockets + 65536)) \
    "connection tracking is loaded: a full table silently drops new connections"
else
  row net.netfilter.nf_conntrack_max "(not loaded)" "-" ok "no connection tracking, no table to fill"
fi

meminfo="${proc_sys%/sys}/meminfo"
memory_kib=$(awk '/^MemTotal:/ { print $2 }' "$meminfo")
memory_need_kib=$(( sockets * 3 + 1048576 ))
status=MISSING
(( memory_kib >= memory_need_kib )) && status=ok
row "memory (MemTotal)" "$((memory_kib / 1024)) MiB" ">= $((memory_need_kib / 1024)) MiB" "$status" \
  "about 3 KiB of kernel memory per idle socket (measured: 6 KB per loopback pair), plus 1 GiB"

echo
echo "note: io_uring direct descriptors (multishot accept into a fixed file table) do not count"
echo "      against RLIMIT_NOFILE, so accepted sockets need no nofile of their own; but one ring's"
echo "      table is capped at RLIMIT_NOFILE slots, so each I/O thread (one per core) runs ceil(its connections / nofile) rings."
if (( missing > 0 )); then
  echo "$missing setting(s) missing for $connections connections: sudo tuning/apply.sh applies tuning/sysctl.conf"
  exit 1
fi
echo "this host is ready for $connections connections"
