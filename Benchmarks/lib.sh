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

commit_id() {  # the short commit of the tree the binaries were built from, "+dirty" when it has changes
    local head
    head=$(git rev-parse --short HEAD 2>/dev/null) || { echo unknown; return; }
    if [[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]]; then head+="+dirty"; fi
    echo "$head"
}

write_run_note() {  # write_run_note PATH: the command line, commit and date of this run, beside its report
    printf 'command: %s\ncommit: %s\ndate: %s\n' "$RUN_COMMAND" "$(commit_id)" "$(date -u +%FT%TZ)" >"$1"
}

# Each core of this VM runs at one of two speeds about 1.5x apart, switching every second or so
# (bench_processes.MachineWatch says more): Benchmarks/machine_watch.py times a few loopback sends
# and receives on each core every 250 ms (under 1% of the core) while a run goes on.
watch_machine() {  # watch_machine DIR: starts the watch, writing DIR/machine.txt; sets watch_pids
    python3 Benchmarks/machine_watch.py 0 1 >"$1/machine.txt" &
    watch_pids=($!)
    poll 30 grep -q "^# watching" "$1/machine.txt"
}

note_machine() {  # note_machine PATH DIR: stops the watch and appends each core's mean and slow share to PATH
    kill "${watch_pids[@]}" 2>/dev/null || true
    wait "${watch_pids[@]}" 2>/dev/null || true
    grep "^machine:" "$2/machine.txt" >>"$1" || true
}
