#!/usr/bin/env python3
"""Watches the cores' speed (bench_processes.MachineWatch) until stopped with SIGTERM or SIGINT,
then prints one line per core: its mean CPU µs per loopback send and receive and the share of
the time it was slow. For the shell benchmarks (lib.sh's watch_machine and note_machine), so
that the watcher's settings and the slow mark live in one place; the Python benchmarks use
MachineWatch directly.

    python3 Benchmarks/machine_watch.py [CORE ...]    (default: cores 0 and 1)

Its first line, "# watching cores ...", says the watchers run.
"""

import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_processes import MachineWatch  # noqa: E402  (the module beside this file)


def describe(core, summary):
    """One core's line of the run note."""
    if not summary["samples"]:
        return f"machine: core {core}, no sample (the run was shorter than one watch interval)"
    return ("machine: core %s, a loopback send and receive of 1 KB took %.2f us of CPU on average (%d samples), "
            "the core slow %.0f%% of the time" % (core, summary["mean_us"], summary["samples"],
                                                  100 * summary["slow_share"]))


def main():
    cores = sys.argv[1:] or ["0", "1"]
    if not all(core.isdigit() for core in cores):
        sys.exit(f"machine_watch.py: cores are numbers, got {' '.join(cores)}")
    stopped = threading.Event()
    # Set before the watchers start, so a stop at any moment ends in the summary (the children get the default).
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stopped.set())
    with MachineWatch(cores) as watch:
        print("# watching cores " + " ".join(cores), flush=True)
        stopped.wait()
    for core, summary in watch.summary().items():
        print(describe(core, summary), flush=True)


if __name__ == "__main__":
    main()
