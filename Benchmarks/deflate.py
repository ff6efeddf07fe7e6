#!/usr/bin/env python3
"""Bytes on the wire per quiz round and gateway CPU per delivery, with and without permessage-deflate.

A gateway without Kafka (pubs go straight to subscribers) and N players on raw sockets, each
subscribed to /question, /result/<user> and /top/<user>; with `--compression on` the players
offer permessage-deflate as browsers do. A publisher plays the processors: per round one
question (the same message to every player), then a result and a top-10 leaderboard per player
(one message each, compressed for one delivery). Measured per run: bytes the players read (the
WebSocket bytes; TCP/IP headers not counted), the gateway's stadium_bytes_sent_total, and the
gateway's CPU time (/proc/PID/stat), divided by rounds, players and deliveries.

    python3 Benchmarks/deflate.py --bin .build/release --players 500 --rounds 20 --report out.json

With --broadcast-only each round is the question and one leaderboard on /top, both to every
player: the fan-out case, where a message is compressed once for all its deliveries.

The CPU figure includes parsing the publisher's pubs (the same in both runs). The gateway is pinned
to core 1 and this script (the players and the publisher) to core 0, unless --no-pin; both cores'
speed is watched (bench_processes.MachineWatch) and the CPU per delivery is also given in loopback
deliveries of the gateway's core over the rounds.
"""

import argparse
import json
import os
import selectors
import subprocess
import sys
import time

from bench_processes import GATEWAY_CORE, LOAD_CORE, ROOT, MachineWatch, in_loopback_deliveries, metric
from compare import cpu_seconds  # the server's CPU from /proc

sys.path.insert(0, os.path.join(ROOT, "Tests", "support"))
from stadium_test import Gateway, RawWebSocket, client_frame, read_frames  # noqa: E402  the tests' gateway and frames


def start_gateway(binary, compression, players, core):
    return Gateway(binary, "--io-threads", "1", "--max-connections", str(players + 100), "--pub-rate", "0",
                   "--compression", compression, prefix=("taskset", "-c", core) if core else ())


def connect(port, deflate):
    """A subscriber's socket after its upgrade, and what came with the 101."""
    client = RawWebSocket(port, extensions="permessage-deflate; client_max_window_bits" if deflate else None)
    if deflate and not any(agreed.startswith("permessage-deflate") for agreed in client.extensions):
        raise SystemExit("permessage-deflate was not agreed: %s" % client.extensions)
    return client.sock, client.buffer


def count_frames(buffer):
    """Whole text frames at the start of buffer: (count, rest)."""
    frames, rest = read_frames(buffer)
    return sum(1 for opcode, _, _ in frames if opcode == 1), rest


def messages(round_number, users, broadcast_only):
    question = {"id": "q%03d-r%d" % (round_number % 200, round_number), "round": round_number,
                "question": "Which planet has the shortest year in our solar system? (round %d)" % round_number,
                "answers": ["Venus", "Mercury", "Mars", "Earth"], "published_ms": 1732400000000 + round_number * 20000,
                "deadline_ms": 1732400010000 + round_number * 20000, "points": 100}
    top = [{"name": "bot-%d" % i, "score": 100 * (round_number + 10 - i)} for i in range(10)]
    yield "/question", question
    if broadcast_only:
        yield "/top", {"score": 0, "top": top}
        return
    for index, user in enumerate(users):
        yield "/result/" + user, {"question_id": question["id"], "answer": index % 4, "correct_answer": 1,
                                  "points": 100 if index % 4 == 1 else 0, "total": 100 * round_number,
                                  "late": False, "seq": round_number * 1000 + index}
        yield "/top/" + user, {"score": 100 * round_number, "top": top}


def run(binary, compression, players, rounds, broadcast_only, gateway_core):
    # This VM's cores each switch between two speeds: the watch says which the rounds had.
    with MachineWatch((LOAD_CORE, GATEWAY_CORE)) as watch:
        result = measure(binary, compression, players, rounds, broadcast_only, gateway_core)
    result["machine"] = machine = watch.summary(result.pop("started_at"), result.pop("ended_at"))
    if gateway_core:
        result["gateway_cpu_per_delivery_in_loopback_deliveries"] = in_loopback_deliveries(
            result["gateway_cpu_us_per_delivery"], machine[gateway_core])
    return result


def measure(binary, compression, players, rounds, broadcast_only, gateway_core):
    gateway = start_gateway(binary, compression, players, gateway_core)
    port = gateway.port
    try:
        users = ["player-%05d" % i for i in range(players)]
        selector = selectors.DefaultSelector()
        state = {}
        for user in users:
            sock, rest = connect(port, compression == "on")
            subjects = ["/question", "/top"] if broadcast_only else ["/question", "/result/" + user, "/top/" + user]
            sock.sendall(client_frame(json.dumps({"op": "sub", "id": 1, "subjects": subjects}).encode()))
            sock.setblocking(False)
            state[sock] = {"buffer": rest, "frames": 0, "bytes": len(rest)}
            selector.register(sock, selectors.EVENT_READ)
        publisher, _ = connect(port, False)
        publisher.setblocking(False)
        selector.register(publisher, selectors.EVENT_READ)
        # The publisher's oks: it waits for them in batches, as the gateway closes a connection
        # that lets more than 1,024 replies pile up.
        acknowledged = {"buffer": b"", "frames": 0}

        def pump(until, deadline):
            while not until():
                if time.monotonic() > deadline:
                    raise SystemExit("timed out: %d of %d deliveries" % (
                        sum(s["frames"] for s in state.values()), players * (1 + (2 if broadcast_only else 3) * rounds)))
                for key, _ in selector.select(timeout=1):
                    try:
                        data = key.fileobj.recv(1 << 20)
                    except BlockingIOError:
                        continue
                    if key.fileobj is publisher:
                        count, acknowledged["buffer"] = count_frames(acknowledged["buffer"] + data)
                        acknowledged["frames"] += count
                        continue
                    entry = state[key.fileobj]
                    entry["bytes"] += len(data)
                    count, entry["buffer"] = count_frames(entry["buffer"] + data)
                    entry["frames"] += count

        pump(lambda: all(s["frames"] >= 1 for s in state.values()), time.monotonic() + 60)
        bytes_before = {sock: entry["bytes"] for sock, entry in state.items()}
        sent_before = metric(port, "stadium_bytes_sent_total")
        cpu_before = cpu_seconds(gateway.process.pid)
        started, started_at = time.monotonic(), time.time()
        per_round = 2 if broadcast_only else 3
        for round_number in range(1, rounds + 1):
            pubs = [
                client_frame(('{"op":"pub","subject":"%s","data":%s}' % (subject, json.dumps(data, separators=(",", ":")))).encode())
                for subject, data in messages(round_number, users, broadcast_only)]
            for start in range(0, len(pubs), 256):
                batch = pubs[start:start + 256]
                wanted = acknowledged["frames"] + len(batch)
                publisher.setblocking(True)
                publisher.sendall(b"".join(batch))
                publisher.setblocking(False)
                pump(lambda: acknowledged["frames"] >= wanted, time.monotonic() + 120)
            expected = 1 + per_round * round_number
            pump(lambda: all(s["frames"] >= expected for s in state.values()), time.monotonic() + 120)
        elapsed = time.monotonic() - started
        cpu = cpu_seconds(gateway.process.pid) - cpu_before
        sent = metric(port, "stadium_bytes_sent_total") - sent_before
        read = sum(entry["bytes"] - bytes_before[sock] for sock, entry in state.items())
        deliveries = players * per_round * rounds
        return {
            "compression": compression, "broadcast_only": broadcast_only, "players": players, "rounds": rounds, "deliveries": deliveries,
            "client_bytes_per_round": read / rounds, "client_bytes_per_player_round": read / rounds / players,
            "gateway_bytes_sent_per_round": sent / rounds,
            "gateway_cpu_seconds": cpu, "gateway_cpu_us_per_delivery": cpu / deliveries * 1e6,
            "elapsed_seconds": elapsed, "started_at": started_at, "ended_at": time.time(),
        }
    finally:
        gateway.stop(expect_clean=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=".build/release")
    parser.add_argument("--players", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--broadcast-only", action="store_true", help="every message goes to every player")
    parser.add_argument("--report", help="write the runs as JSON here")
    parser.add_argument("--no-pin", action="store_true", help="let the scheduler place the gateway and the players")
    args = parser.parse_args()
    binary = os.path.join(args.bin, "stadium-gateway")
    gateway_core = None if args.no_pin else GATEWAY_CORE
    if gateway_core:
        os.sched_setaffinity(0, {int(LOAD_CORE)})  # the players and the publisher
    runs = [run(binary, mode, args.players, args.rounds, args.broadcast_only, gateway_core) for mode in ("off", "on")]
    for result in runs:
        core = result["machine"][GATEWAY_CORE]
        relative = result.get("gateway_cpu_per_delivery_in_loopback_deliveries")
        print("compression %-3s: %8.0f bytes/player/round read, gateway %6.2f us CPU per delivery (%.2f s CPU, %.1f s)%s; "
              "core %s slow %s of the time"
              % (result["compression"], result["client_bytes_per_player_round"], result["gateway_cpu_us_per_delivery"],
                 result["gateway_cpu_seconds"], result["elapsed_seconds"],
                 ", %.2f loopback deliveries" % relative if relative is not None else "", GATEWAY_CORE,
                 "-" if core["slow_share"] is None else "%.0f%%" % (100 * core["slow_share"])))
    off, on = runs
    print("deflate: %.0f%% of the bytes, %+.2f us CPU per delivery"
          % (100 * on["client_bytes_per_round"] / off["client_bytes_per_round"],
             on["gateway_cpu_us_per_delivery"] - off["gateway_cpu_us_per_delivery"]))
    if args.report:
        with open(args.report, "w") as report:
            commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                    text=True).stdout.strip()
            json.dump({"command": " ".join(sys.argv), "commit": commit, "runs": runs}, report, indent=2)
            report.write("\n")


if __name__ == "__main__":
    main()
