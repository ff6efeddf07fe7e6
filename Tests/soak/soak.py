#!/usr/bin/env python3
"""Churn soak: the whole stack under players that stay and connections that come and go.

Starts the stack with scripts/stack.sh (release build, no demo bots), runs `stadium-load`
players for the whole soak and, beside them, short `stadium-load --mode idle` runs one after
another (each opens CHURN connections, holds them a few seconds, closes them all). Samples the
gateway's resident memory every 10 s. Fails if memory grew by more than the tolerance between
the first sample after the warm-up and the end: what a leak per connection or per message
would show. Not part of `make test` (`make soak`; SOAK_SECONDS=600 by default).

    python3 Tests/soak/soak.py --seconds 600
"""

import argparse
import os
import subprocess
import sys
import time

SAMPLE_SECONDS = 10
WARM_UP_SECONDS = 60
# Steady state still moves a little (frame-pool free lists, Kafka client buffers): 10% separates
# that from a leak, which grows with every cycle.
TOLERANCE = 0.10
# The subject history is a bounded cache (--history-frames): a small one fills during the
# warm-up, so its growth is not mistaken for a leak.
HISTORY_FRAMES = 4096


def gateway_pid(run_dir):
    with open(os.path.join(run_dir, "pids")) as file:
        for line in file:
            name, pid = line.split()
            if name == "gateway":
                return int(pid)
    raise RuntimeError("no gateway in the stack's pids file")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as file:
        for line in file:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("SOAK_SECONDS", "600")))
    parser.add_argument("--players", type=int, default=2000)
    parser.add_argument("--churn", type=int, default=5000, help="connections opened and closed per churn cycle")
    parser.add_argument("--port", type=int, default=18520)
    parser.add_argument("--bin", default=".build/release")
    arguments = parser.parse_args()
    if arguments.seconds <= WARM_UP_SECONDS:
        sys.exit(f"soak: --seconds must be over the {WARM_UP_SECONDS} s warm-up")

    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    run_dir = os.path.abspath(".run/soak")
    environment = dict(os.environ, BIN=arguments.bin, PORT=str(arguments.port), BOTS="0", ROUND="20",
                       ANSWER_WINDOW="10", RUN_DIR=run_dir, GATEWAY_ARGS=f"--history-frames {HISTORY_FRAMES}")
    subprocess.run(["scripts/stack.sh", "start"], env=environment, check=True, stdout=subprocess.DEVNULL)
    url = f"ws://127.0.0.1:{arguments.port}/"
    load = os.path.join(arguments.bin, "stadium-load")
    samples = []
    players = churn = None
    try:
        gateway = gateway_pid(run_dir)
        players = subprocess.Popen(
            [load, "--url", url, "--players", str(arguments.players), "--names", "soak-{i}",
             "--duration", str(arguments.seconds)],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(run_dir, "players.log"), "w"))
        started = time.monotonic()
        next_sample = started
        cycles = 0
        while time.monotonic() - started < arguments.seconds:
            if churn is None or churn.poll() is not None:
                if churn is not None and churn.returncode != 0:
                    raise RuntimeError(f"a churn run exited {churn.returncode}; see {run_dir}/churn.log")
                cycles += 1
                churn = subprocess.Popen(
                    [load, "--url", url, "--mode", "idle", "--connections", str(arguments.churn),
                     "--first-source", "127.0.128.2", "--duration", "8"],
                    stdout=subprocess.DEVNULL, stderr=open(os.path.join(run_dir, "churn.log"), "w"))
            now = time.monotonic()
            if now >= next_sample:
                samples.append((round(now - started), rss_kib(gateway)))
                print(f"soak: t={samples[-1][0]}s gateway RSS {samples[-1][1] / 1024:.1f} MiB, churn cycle {cycles}",
                      flush=True)
                next_sample += SAMPLE_SECONDS
            time.sleep(0.5)
        if churn is not None:
            churn.wait(timeout=60)
        players.wait(timeout=120)
    finally:
        for process in (players, churn):
            if process is not None and process.poll() is None:
                process.kill()
        subprocess.run(["scripts/stack.sh", "stop"], env=environment, stdout=subprocess.DEVNULL)

    with open(os.path.join(run_dir, "rss.tsv"), "w") as file:
        file.write("seconds\trss_kib\n")
        for seconds, kib in samples:
            file.write(f"{seconds}\t{kib}\n")
    baseline = next(kib for seconds, kib in samples if seconds >= WARM_UP_SECONDS)
    final = samples[-1][1]
    growth = (final - baseline) / baseline
    print(f"soak: {cycles} churn cycles of {arguments.churn} connections beside {arguments.players} players; "
          f"gateway RSS {baseline / 1024:.1f} MiB after warm-up, {final / 1024:.1f} MiB at the end ({growth:+.1%}); "
          f"samples in {run_dir}/rss.tsv")
    if growth > TOLERANCE:
        sys.exit(f"soak: FAILED: memory grew {growth:.1%}, more than {TOLERANCE:.0%}")
    print("soak: PASS")


if __name__ == "__main__":
    main()
