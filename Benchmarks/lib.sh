# Shared by the benchmark scripts (sourced, not run).

poll() {  # poll SECONDS COMMAND...: until COMMAND succeeds, or fail after SECONDS
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || { echo "$(basename "$0"): timed out waiting for: $*" >&2; exit 1; }
        sleep 0.2
    done
}

listening_port() {  # listening_port LOG: the port a gateway started with --listen 127.0.0.1:PORT says it took
    sed -n 's|.*listening on wss\{0,1\}://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$1" | head -n 1
}
