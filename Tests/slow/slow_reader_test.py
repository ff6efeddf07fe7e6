#!/usr/bin/env python3
"""A client that never reads must not hold back the others.

Starts a gateway, opens one raw WebSocket client that subscribes to /fanout with a tiny
receive buffer and then stops reading, and runs `stadium-load --mode fanout` with 1,000
connections on the same subject while one of them publishes 4 KiB probes. Checks what a user
would check (the gateway runs with a small kernel send buffer per socket, so that the silent
client falls behind after a few probes, not 4 MiB, and with --max-lag-seconds 5, so that it is
closed a few seconds later, not after a minute):

- every one of the 1,000 got every probe, in order, none disconnected (stadium-load's report);
- the gateway dropped the silent client as a slow consumer (close 1008, counted in /metrics),
  and that client, once it reads again, finds the close frame after what it had been sent;
- the gateway still serves a new client afterwards.

    python3 Tests/slow/slow_reader_test.py --bin .build/debug

Exit status 0 when all hold, 1 on a failed check, 2 when the test could not run.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from stadium_test import Failure, Gateway, RawWebSocket, close_code, read_frames  # noqa: E402  shared helpers

SUBJECT = "/fanout"
OTHERS = 1000
PROBES = 120
PROBE_PADDING = 4096
# With --socket-send-buffer 32768 the kernel holds about 64 KiB of a silent client's probes and
# the gateway's queue 16 more; after that it reads from the subject's history and is closed once
# its oldest unread probe is 5 s old (--max-lag-seconds), about 25 probes later at 5 probes/s
# (20 MB/s to the others; debug builds on 2 cores keep them well within 5 s).
SOCKET_SEND_BUFFER = 32768
MAX_LAG_SECONDS = 5
PROBE_INTERVAL_MS = 200
DEADLINE_SECONDS = 240


class SilentClient(RawWebSocket):
    """Subscribes, then reads nothing until told to; its receive window is as small as allowed."""

    def __init__(self, port):
        super().__init__(port, receive_buffer=4096)
        self.send(b'{"op":"sub","id":1,"subjects":["%s"]}' % SUBJECT.encode())
        while True:
            opcode, payload, _ = self.next_frame()
            if opcode == 1 and json.loads(payload).get("op") == "ok":
                break

    def drain(self):
        """Reads until the gateway closes: (probes read, close code or None)."""
        frames, buffer, probes, code = self.pending, self.buffer, 0, None
        self.sock.settimeout(30)
        while True:
            for opcode, payload, _ in frames:
                if opcode == 1 and json.loads(payload).get("op") == "msg":
                    probes += 1
                elif opcode == 8 and code is None:
                    code = close_code(payload)
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                return probes, code
            frames, buffer = read_frames(buffer + data)


def start_gateway(binary):
    return Gateway(binary, "--io-threads", "2", "--max-connections", "4000",
                   "--socket-send-buffer", str(SOCKET_SEND_BUFFER), "--max-lag-seconds", str(MAX_LAG_SECONDS))


def watch_for_drop(gateway, silent, outcome):
    """Once the gateway counts the slow consumer, the silent client reads again (within the
    gateway's 5 s drain time, so the close frame is still there to read)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if gateway.metric('stadium_errors_total{kind="slow_consumer"}') >= 1:
            outcome["drain"] = silent.drain()
            return
        time.sleep(0.05)


def run(binaries):
    gateway = start_gateway(os.path.join(binaries, "stadium-gateway"))
    port = gateway.port
    try:
        silent = SilentClient(port)
        outcome = {}
        watcher = threading.Thread(target=watch_for_drop, args=(gateway, silent, outcome), daemon=True)
        watcher.start()
        with tempfile.TemporaryDirectory() as directory:
            report_path = os.path.join(directory, "report.json")
            load = subprocess.run(
                [os.path.join(binaries, "stadium-load"), "--url", "ws://127.0.0.1:%d/" % port, "--mode", "fanout",
                 "--connections", str(OTHERS), "--subject", SUBJECT, "--messages", str(PROBES),
                 "--interval-ms", str(PROBE_INTERVAL_MS), "--padding-bytes", str(PROBE_PADDING),
                 "--first-source", "127.0.20.2", "--report", report_path],
                timeout=DEADLINE_SECONDS, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if load.returncode != 0:
                print(load.stdout)
                raise Failure("stadium-load exited with status %d" % load.returncode)
            with open(report_path) as file:
                report = json.load(file)
        watcher.join(timeout=60)
        return check(report, outcome, gateway)
    finally:
        gateway.stop(timeout=15, expect_clean=False)


def check(report, outcome, gateway):
    failures = []
    loss, counters, delivery = report["loss"], report["counters"], report["latencies"]["delivery"]
    print("slow-reader-test: %d others got %d of %d probes (%d missing, %d duplicates); delivery p50 %.0f ms,"
          " p99 %.0f ms, max %.0f ms" % (loss["connections"], loss["received"], loss["expected"], loss["missing"],
                                         loss["duplicates"], delivery["p50_ms"], delivery["p99_ms"], delivery["max_ms"]))
    if loss["connections"] != OTHERS or loss["expected"] != OTHERS * PROBES:
        failures.append("stadium-load measured %d connections and %d expected deliveries, wanted %d and %d"
                        % (loss["connections"], loss["expected"], OTHERS, OTHERS * PROBES))
    if loss["missing"] or loss["duplicates"] or loss["connections_with_loss"]:
        failures.append("the others lost probes: %s" % loss)
    for counter in ("disconnects", "errors", "protocol_errors", "connect_failures", "handshake_failures"):
        if counters.get(counter, 0):
            failures.append("stadium-load counted %s: %d" % (counter, counters[counter]))
    if "drain" not in outcome:
        failures.append("the gateway never counted the silent client as a slow consumer")
    else:
        probes, close_code = outcome["drain"]
        print("slow-reader-test: the silent client read %d of %d probes, then close %s" % (probes, PROBES, close_code))
        if close_code != 1008:
            failures.append("the silent client was closed with %s, wanted 1008" % close_code)
        if probes >= PROBES:
            failures.append("the silent client got every probe: it was never held back")
    slow = gateway.metric('stadium_errors_total{kind="slow_consumer"}')
    if slow != 1:
        failures.append("stadium_errors_total{kind=\"slow_consumer\"} is %g, wanted 1" % slow)
    fresh = SilentClient(gateway.port)  # subscribes and gets its ok: the gateway still serves
    fresh.close()
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=".build/debug", help="directory of the built executables")
    arguments = parser.parse_args()
    try:
        failures = run(arguments.bin)
    except (Failure, OSError, subprocess.TimeoutExpired) as error:
        print("slow-reader-test: could not run: %s" % error)
        return 2
    for failure in failures:
        print("slow-reader-test: FAIL: %s" % failure)
    if not failures:
        print("slow-reader-test: passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
