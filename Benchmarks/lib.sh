# Shared by the benchmark scripts (sourced, not run).

poll() {  # poll SECONDS COMMAND...: until COMMAND succeeds, or fail after SECONDS
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || { echo "$(basename "$0"): timed out waiting for: $*" >&2; exit 1; }
        sleep 0.2
    done
}
