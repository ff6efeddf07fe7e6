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
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

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


class Failure(Exception):
    pass


def masked_text_frame(payload, mask=b"\x5a\x11\xc3\x07"):
    length = len(payload)
    header = struct.pack("!BB", 0x81, 0x80 | length) if length < 126 else struct.pack("!BBH", 0x81, 0xFE, length)
    return header + mask + bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))


def read_frames(buffer):
    """Complete server frames at the start of `buffer`: ([(opcode, payload)], rest)."""
    frames = []
    while len(buffer) >= 2:
        opcode, length, offset = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
        if length == 126:
            if len(buffer) < 4:
                break
            length, offset = struct.unpack("!H", buffer[2:4])[0], 4
        elif length == 127:
            if len(buffer) < 10:
                break
            length, offset = struct.unpack("!Q", buffer[2:10])[0], 10
        if len(buffer) < offset + length:
            break
        frames.append((opcode, buffer[offset:offset + length]))
        buffer = buffer[offset + length:]
    return frames, buffer


class SilentClient:
    """Subscribes, then reads nothing until told to; its receive window is as small as allowed."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(30)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            ("GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: stadium.v1\r\n\r\n"
             % (port, key)).encode())
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            buffer += self.receive()
        head, buffer = buffer.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            raise Failure("the silent client's upgrade was refused: %r" % head.split(b"\r\n")[0])
        self.sock.sendall(masked_text_frame(b'{"op":"sub","id":1,"subjects":["%s"]}' % SUBJECT.encode()))
        while True:
            frames, buffer = read_frames(buffer)
            if any(json.loads(payload).get("op") == "ok" for opcode, payload in frames if opcode == 1):
                break
            buffer += self.receive()
        self.rest = buffer

    def receive(self):
        data = self.sock.recv(65536)
        if not data:
            raise Failure("the gateway closed the silent client during its handshake")
        return data

    def drain(self):
        """Reads until the gateway closes: (probes read, close code or None)."""
        buffer, probes, close_code = self.rest, 0, None
        self.sock.settimeout(30)
        while True:
            frames, buffer = read_frames(buffer)
            for opcode, payload in frames:
                if opcode == 1 and json.loads(payload).get("op") == "msg":
                    probes += 1
                elif opcode == 8 and close_code is None:
                    close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                return probes, close_code
            buffer += data


def metric(port, series):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(series + " "):
                return float(line.split()[-1])
    return 0.0


def start_gateway(binary):
    gateway = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--io-threads", "2", "--max-connections", "4000",
         "--socket-send-buffer", str(SOCKET_SEND_BUFFER), "--max-lag-seconds", str(MAX_LAG_SECONDS)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in gateway.stdout:
        if "listening on ws://" in line:
            port = int(line.rsplit(":", 1)[1].strip().strip("/"))
            # Keep reading its output so the gateway never blocks on a full pipe.
            threading.Thread(target=lambda: [None for _ in gateway.stdout], daemon=True).start()
            return gateway, port
    raise Failure("stadium-gateway exited before listening (status %s)" % gateway.wait())


def watch_for_drop(port, silent, outcome):
    """Once the gateway counts the slow consumer, the silent client reads again (within the
    gateway's 5 s drain time, so the close frame is still there to read)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if metric(port, 'stadium_errors_total{kind="slow_consumer"}') >= 1:
            outcome["drain"] = silent.drain()
            return
        time.sleep(0.05)


def run(binaries):
    gateway, port = start_gateway(os.path.join(binaries, "stadium-gateway"))
    try:
        silent = SilentClient(port)
        outcome = {}
        watcher = threading.Thread(target=watch_for_drop, args=(port, silent, outcome), daemon=True)
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
        return check(report, outcome, port)
    finally:
        gateway.terminate()
        try:
            gateway.wait(timeout=15)
        except subprocess.TimeoutExpired:
            gateway.kill()


def check(report, outcome, port):
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
    slow = metric(port, 'stadium_errors_total{kind="slow_consumer"}')
    if slow != 1:
        failures.append("stadium_errors_total{kind=\"slow_consumer\"} is %g, wanted 1" % slow)
    fresh = SilentClient(port)  # subscribes and gets its ok: the gateway still serves
    fresh.sock.close()
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
