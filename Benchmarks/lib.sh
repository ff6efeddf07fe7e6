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
# (bench_processes.MachineWatch says more): a watcher per core times a few loopback sends and
# receives every 250 ms (under 1% of the core) while a run goes on.
MACHINE_SLOW_ABOVE_US=3.6
watch_machine() {  # watch_machine DIR: starts one watcher per core, writing DIR/machine-core{0,1}.txt; sets watch_pids
    local binary=.run/kernel-cost/loopback-cost
    if [[ ! -x $binary || Benchmarks/KernelCost/loopback_cost.c -nt $binary ]]; then
        mkdir -p .run/kernel-cost
        gcc -O2 -Wall -o "$binary" Benchmarks/KernelCost/loopback_cost.c
    fi
    watch_pids=()
    for core in 0 1; do
        taskset -c "$core" "$binary" 50 10 1024 250 >"$1/machine-core$core.txt" &
        watch_pids+=($!)
    done
}

note_machine() {  # note_machine PATH DIR: stops the watchers and appends each core's mean and slow share to PATH
    kill "${watch_pids[@]}" 2>/dev/null || true
    wait "${watch_pids[@]}" 2>/dev/null || true
    for core in 0 1; do
        awk -v core="$core" -v slow_above="$MACHINE_SLOW_ABOVE_US" '
            NF == 2 { n++; sum += $2; if ($2 > slow_above) slow++ }
            END { if (n) printf "machine: core %d, a loopback send and receive of 1 KB took %.2f us of CPU on average (%d samples), the core slow %.0f%% of the time\n", core, sum / n, n, 100 * slow / n }
        ' "$2/machine-core$core.txt" >>"$1"
    done
}
