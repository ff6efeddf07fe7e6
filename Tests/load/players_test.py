#!/usr/bin/env python3
"""A small quiz under load, end to end, with zero loss.

Starts the stack (development broker, gateway, processors) with scripts/stack.sh and short
rounds, runs `stadium-load` with 2,000 players for a few rounds, and reads its JSON report:
every round that opened and closed while all players were connected must have reached every
player, and every answer must have been acknowledged and scored. stadium-load itself accounts
each player on its own (no question missed or repeated, every answer acked and scored) and
exits non-zero otherwise.

    python3 Tests/load/players_test.py --bin .build/debug
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from stadium_test import Stack  # noqa: E402  scripts/stack.sh with a port of its own

ROUND_SECONDS = 6
ANSWER_WINDOW_SECONDS = 4
THINK_SECONDS = 3


def complete_rounds(report):
    """Rounds closed by the next question, without the first (players may still be joining)."""
    rounds = report.get("rounds", [])
    return rounds[1:-1]


def check(report, players, needed_rounds):
    failures = []
    rounds = complete_rounds(report)
    if len(rounds) < needed_rounds:
        failures.append(f"only {len(rounds)} complete round(s) in the run, wanted {needed_rounds}")
    for round in rounds:
        name = f"round {round['question_id']}"
        if round["deliveries"] != players:
            failures.append(f"{name}: question reached {round['deliveries']} of {players} players")
        if round["answers"] != players:
            failures.append(f"{name}: {round['answers']} of {players} players answered")
        if round["acks"] != round["answers"]:
            failures.append(f"{name}: {round['acks']} of {round['answers']} answers acknowledged")
        if round["results"] != round["answers"]:
            failures.append(f"{name}: {round['results']} results for {round['answers']} answers")
        if round.get("duplicates", 0):
            failures.append(f"{name}: {round['duplicates']} duplicate question(s), ack(s) or result(s)")
    players_summary = report.get("players")
    if players_summary is None:
        failures.append("the report has no per-player accounting")
    elif players_summary["players"] != players:
        failures.append(f"the report accounts for {players_summary['players']} of {players} players")
    counters = report["counters"]
    for counter in ("errors", "protocol_errors", "disconnects", "connect_failures", "handshake_failures"):
        if counters.get(counter, 0) != 0:
            failures.append(f"{counter}: {counters[counter]}")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=".build/debug", help="directory of the built executables")
    parser.add_argument("--players", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2, help="complete rounds that must pass")
    parser.add_argument("--port", default="0", help="the gateway's port (default: one the kernel gives it)")
    arguments = parser.parse_args()

    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    run_dir = tempfile.mkdtemp(prefix="stadium-players-")
    stack = Stack(arguments.bin, run_dir, arguments.port, BOTS=0, ROUND=ROUND_SECONDS,
                  ANSWER_WINDOW=ANSWER_WINDOW_SECONDS)
    report_path = os.path.join(run_dir, "players.json")
    # First round partial, then the rounds to check, then the open one; plus room to connect.
    duration = ROUND_SECONDS * (arguments.rounds + 2) + 4
    stack.start()
    try:
        load = subprocess.run(
            [os.path.join(arguments.bin, "stadium-load"), "--url", f"ws://127.0.0.1:{stack.port}/",
             "--players", str(arguments.players), "--names", "load-{i}", "--think-seconds", str(THINK_SECONDS),
             "--gettop-every", "0", "--duration", str(duration), "--report", report_path],
            timeout=duration + 120, capture_output=True, text=True)
    finally:
        stack.stop()
    if load.returncode != 0:
        sys.exit(f"players_test: stadium-load exited {load.returncode}:\n{load.stderr[-3000:]}{load.stdout[-3000:]}\n"
                 f"players_test: logs and report in {run_dir}")
    with open(report_path) as file:
        report = json.load(file)
    failures = check(report, arguments.players, arguments.rounds)
    for round in report.get("rounds", []):
        print(f"players_test: round {round['question_id']}: {round['deliveries']} deliveries (last after "
              f"{round['slowest_delivery_ms']} ms), {round['answers']} answers, {round['acks']} acks, "
              f"{round['results']} results")
    if failures:
        print("players_test: FAILED\n  " + "\n  ".join(failures), file=sys.stderr)
        print(f"players_test: logs and report in {run_dir}", file=sys.stderr)
        sys.exit(1)
    print(f"players_test: {arguments.players} players, {len(complete_rounds(report))} complete rounds, zero loss")


if __name__ == "__main__":
    main()
