#!/usr/bin/env python3
"""Churn soak: the whole stack under players that stay and players that come and go.

Starts the stack with scripts/stack.sh (release build, no demo bots), runs `stadium-load`
players for the whole soak and, beside them, short `stadium-load` player runs one after another
(each connects CHURN players under user names never used before, holds them a few seconds,
closes them all). New names every cycle mean new per-user subjects (/result/<name>,
/top/<name>) every cycle: a gateway that keeps something per user ever seen grows with them.

Samples the gateway's resident memory and its count of known subjects every 10 s, and reads
its connection counters. Fails when:
- a churn run fails (stadium-load exits non-zero: a connection failed, something was lost or
  duplicated) or the players who stay fail;
- fewer connections were opened and closed than the cycles should have made;
- memory grew more than the tolerance between the first minute after the warm-up and the last
  minute (the highest sample of each);
- the gateway's subjects grew more than the tolerance over the same span.
Not part of `make test` (`make soak`; SOAK_SECONDS=600 by default).

    python3 Tests/soak/soak.py --seconds 600
"""

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from stadium_test import Stack, metric  # noqa: E402  scripts/stack.sh with a port of its own; /metrics

SAMPLE_SECONDS = 10
WARM_UP_SECONDS = 60
# Steady state still moves a little (frame-pool free lists, Kafka client buffers): 10% separates
# that from a leak, which grows with every cycle.
TOLERANCE = 0.10
# Several churn cycles (about 9 s each): each end of the soak is judged by its highest sample.
COMPARED_SECONDS = 60
# The subject history is a bounded cache (--history-frames): a small one fills during the
# warm-up, so its growth is not mistaken for a leak.
HISTORY_FRAMES = 4096
CHURN_HOLD_SECONDS = 8
# Churn players answer within the hold, so their answers and results are part of the check.
CHURN_THINK_SECONDS = 4


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as file:
        for line in file:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def gateway_metrics(port):
    """The gateway's unlabelled series we read: connections open and accepted, subjects known,
    frames held (a frame never released shows as frames in use climbing)."""
    wanted = ("stadium_connections", "stadium_connections_accepted_total", "stadium_subjects",
              "stadium_frame_pool_frames_in_use")
    return {series: int(metric(port, series)) for series in wanted}


def growth(samples, key):
    """(after warm-up, at the end, relative growth) of one sampled value: the highest of the first
    COMPARED_SECONDS after the warm-up against the highest of the last COMPARED_SECONDS. Subjects
    rise and fall with each churn cycle (the registry forgets idle ones), so one sample against
    one would compare phases of the cycle, not the soak's start and end."""
    start = [sample for sample in samples if WARM_UP_SECONDS <= sample["seconds"] < WARM_UP_SECONDS + COMPARED_SECONDS]
    end = [sample for sample in samples if sample["seconds"] > samples[-1]["seconds"] - COMPARED_SECONDS]
    baseline = max(sample[key] for sample in start)
    final = max(sample[key] for sample in end)
    return baseline, final, (final - baseline) / max(1, baseline)


def judge(samples, churn_runs, churn_size, players_status, connections_opened, connections_closed):
    """Every reason the soak fails, as sentences; none when it passes.

    samples: [{"seconds", "rss_kib", "subjects"}]; churn_runs: [(exit status, report or None)].
    """
    failures = []
    finished = [run for run in churn_runs if run[0] is not None]
    if not finished:
        failures.append("no churn run finished: nothing was churned")
    for cycle, (status, report) in enumerate(finished, 1):
        if status != 0:
            reasons = "; ".join(report["verdict"]["failures"]) if report and report.get("verdict") else "no report"
            failures.append(f"churn cycle {cycle}: stadium-load exited {status} ({reasons})")
    expected = churn_size * len(finished)
    if connections_opened < expected:
        failures.append(f"churn opened {connections_opened} connections, {expected} expected from {len(finished)} cycles")
    if connections_closed < expected:
        failures.append(f"the gateway closed {connections_closed} connections, {expected} expected")
    if players_status != 0:
        failures.append(f"the players who stay: stadium-load exited {players_status}")
    if not any(sample["seconds"] >= WARM_UP_SECONDS for sample in samples):
        failures.append("no sample after the warm-up")
        return failures
    for key, what in (("rss_kib", "memory"), ("subjects", "subjects known")):
        baseline, final, grew = growth(samples, key)
        if grew > TOLERANCE:
            failures.append(f"{what} grew {grew:.1%} ({baseline} -> {final}), more than {TOLERANCE:.0%}")
    return failures


def start_churn(load, url, cycle, arguments, run_dir):
    report = os.path.join(run_dir, f"churn-{cycle}.json")
    log = open(os.path.join(run_dir, "churn.log"), "a")
    process = subprocess.Popen(
        [load, "--url", url, "--players", str(arguments.churn), "--names", f"churn{cycle}-{{i}}",
         "--think-seconds", str(CHURN_THINK_SECONDS), "--gettop-every", "1", "--first-source", "127.0.128.2",
         "--duration", str(CHURN_HOLD_SECONDS), "--report", report],
        stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return process, report


def read_report(path):
    try:
        with open(path) as file:
            return json.load(file)
    except (OSError, ValueError):
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("SOAK_SECONDS", "600")))
    parser.add_argument("--players", type=int, default=2000)
    parser.add_argument("--churn", type=int, default=5000, help="players connected and closed per churn cycle")
    parser.add_argument("--port", default="0", help="the gateway's port (default: one the kernel gives it)")
    parser.add_argument("--bin", default=".build/release")
    arguments = parser.parse_args()
    if arguments.seconds <= WARM_UP_SECONDS:
        sys.exit(f"soak: --seconds must be over the {WARM_UP_SECONDS} s warm-up")

    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    run_dir = os.path.abspath(".run/soak")
    os.makedirs(run_dir, exist_ok=True)
    for name in os.listdir(run_dir):
        if name.startswith("churn-") and name.endswith(".json"):
            os.remove(os.path.join(run_dir, name))
    open(os.path.join(run_dir, "churn.log"), "w").close()
    stack = Stack(arguments.bin, run_dir, arguments.port, BOTS=0, ROUND=20, ANSWER_WINDOW=10,
                  GATEWAY_ARGS=f"--history-frames {HISTORY_FRAMES}").start()
    port = stack.port
    url = f"ws://127.0.0.1:{port}/"
    load = os.path.join(arguments.bin, "stadium-load")
    samples, churn_runs = [], []
    players = churn = None
    players_status = None
    try:
        gateway = stack.pid("gateway")
        before = gateway_metrics(port)
        players = subprocess.Popen(
            [load, "--url", url, "--players", str(arguments.players), "--names", "soak-{i}",
             "--duration", str(arguments.seconds), "--report", os.path.join(run_dir, "players.json")],
            stdout=open(os.path.join(run_dir, "players.out"), "w"),
            stderr=open(os.path.join(run_dir, "players.log"), "w"))
        started = time.monotonic()
        next_sample = started
        cycle = 0
        while time.monotonic() - started < arguments.seconds:
            if churn is None or churn.poll() is not None:
                if churn is not None:
                    churn_runs.append((churn.returncode, read_report(churn_report)))
                cycle += 1
                churn, churn_report = start_churn(load, url, cycle, arguments, run_dir)
            now = time.monotonic()
            if now >= next_sample:
                metrics = gateway_metrics(port)
                samples.append({"seconds": round(now - started), "rss_kib": rss_kib(gateway),
                                "subjects": metrics.get("stadium_subjects", 0),
                                "connections": metrics.get("stadium_connections", 0),
                                "frames_in_use": metrics.get("stadium_frame_pool_frames_in_use", 0)})
                print(f"soak: t={samples[-1]['seconds']}s gateway RSS {samples[-1]['rss_kib'] / 1024:.1f} MiB, "
                      f"{samples[-1]['subjects']} subjects, {samples[-1]['connections']} connections, "
                      f"{samples[-1]['frames_in_use']} frames in use, churn cycle {cycle}",
                      flush=True)
                next_sample += SAMPLE_SECONDS
            # Polling the churn process and the sample clock, not waiting for an event.
            time.sleep(0.5)
        if churn is not None:
            churn.wait(timeout=120)
            churn_runs.append((churn.returncode, read_report(churn_report)))
        players_status = players.wait(timeout=180)
        after = gateway_metrics(port)
    finally:
        for process in (players, churn):
            if process is not None and process.poll() is None:
                process.kill()
        stack.stop()

    with open(os.path.join(run_dir, "rss.tsv"), "w") as file:
        file.write("seconds\trss_kib\tsubjects\tconnections\tframes_in_use\n")
        for sample in samples:
            file.write(f"{sample['seconds']}\t{sample['rss_kib']}\t{sample['subjects']}\t{sample['connections']}\t"
                       f"{sample['frames_in_use']}\n")
    opened = sum(report["counters"].get("handshakes", 0) for status, report in churn_runs if report)
    accepted = after["stadium_connections_accepted_total"] - before["stadium_connections_accepted_total"]
    # Everything accepted during the soak and no longer open was closed (the metrics scrapes included).
    closed = accepted - (after["stadium_connections"] - before["stadium_connections"])
    failures = judge(samples, churn_runs, arguments.churn, players_status, opened, closed)
    print(f"soak: {len(churn_runs)} churn cycles of {arguments.churn} new players beside {arguments.players} players; "
          f"churn connections opened {opened}; gateway accepted {accepted}, closed {closed}; samples in {run_dir}/rss.tsv")
    if any(sample["seconds"] >= WARM_UP_SECONDS for sample in samples):
        for key, unit in (("rss_kib", "KiB RSS"), ("subjects", "subjects")):
            baseline, final, grew = growth(samples, key)
            print(f"soak: gateway {unit}: {baseline} after warm-up, {final} at the end ({grew:+.1%})")
    if failures:
        sys.exit("soak: FAILED:\n  " + "\n  ".join(failures))
    print("soak: PASS")


if __name__ == "__main__":
    main()
