#!/usr/bin/env python3
"""Scale test: one stadium-gateway process holds 50,000 WebSocket connections, all
subscribed to /question, and one publish reaches every one of them.

A process may hold only 20,000 descriptors here, so the clients live in several worker
processes. Each client binds its source address and port itself (spread over
127.0.0.2..127.0.0.9, ports from 10000): the kernel's own port search is far too slow.

Usage: scale_test.py --gateway .build/debug/stadium-gateway [--connections 50000]
Exit status: 0 when every connection got the message with the right seq, 1 on any loss
or wrong message, 2 when the test could not run (gateway did not start, timeout).
"""

import argparse
import base64
import errno
import hashlib
import multiprocessing
import multiprocessing.connection
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

SUBJECT = "/question"
PUBLISHED_DATA = b'{"question":"Which stadium holds the most people?","round":1}'
# The first message ever published on the subject, so its seq is 0.
EXPECTED_SEQ = 0
HANDSHAKE_KEY = base64.b64encode(b"stadium-scale-16").decode()
EXPECTED_ACCEPT = base64.b64encode(
    hashlib.sha1((HANDSHAKE_KEY + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
)
SOURCE_ADDRESSES = 8  # 127.0.0.2 .. 127.0.0.9
FIRST_SOURCE_PORT = 10000
LAST_SOURCE_PORT = 60000
IN_FLIGHT_PER_WORKER = 256
PROGRESS_INTERVAL = 3.0


def source_of(index):
    """The (address, port) connection number `index` binds: unique for every index."""
    address = "127.0.0.%d" % (2 + index % SOURCE_ADDRESSES)
    port = FIRST_SOURCE_PORT + index // SOURCE_ADDRESSES
    if port > LAST_SOURCE_PORT:
        raise ValueError("too many connections for %d source addresses" % SOURCE_ADDRESSES)
    return address, port


def masked_text_frame(payload, mask=b"\x37\xfa\x21\x3d"):
    """A client text frame (FIN, opcode 1), masked as RFC 6455 requires of clients."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x81, 0x80 | length)
    elif length < 65536:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, length)
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return header + mask + masked


def server_text_frame(payload):
    """The unmasked frame the gateway sends for `payload`."""
    length = len(payload)
    if length < 126:
        return struct.pack("!BB", 0x81, length) + payload
    if length < 65536:
        return struct.pack("!BBH", 0x81, 126, length) + payload
    return struct.pack("!BBQ", 0x81, 127, length) + payload


def handshake_request(port):
    return (
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: stadium.v1\r\n\r\n"
        % (port, HANDSHAKE_KEY)
    ).encode()


SUB_FRAME = masked_text_frame(b'{"op":"sub","id":1,"subjects":["%s"]}' % SUBJECT.encode())
OK_FRAME = server_text_frame(b'{"op":"ok","id":1}')
MSG_FRAME = server_text_frame(
    b'{"op":"msg","subject":"%s","seq":%d,"data":%s}' % (SUBJECT.encode(), EXPECTED_SEQ, PUBLISHED_DATA)
)

# Client states.
PENDING, CONNECTING, UPGRADING, SUBSCRIBING, SUBSCRIBED, RECEIVED, FAILED = range(7)
STATE_NAMES = ["not opened", "connecting", "upgrading", "subscribing", "subscribed", "received", "failed"]
IN_FLIGHT_STATES = (CONNECTING, UPGRADING, SUBSCRIBING)


class Worker:
    """Holds a slice of the connections in one process; reports to the parent over a pipe."""

    def __init__(self, number, first_index, count, gateway_port, control):
        self.number = number
        self.first_index = first_index
        self.count = count
        self.request = handshake_request(gateway_port)
        self.gateway = ("127.0.0.1", gateway_port)
        self.control = control
        self.selector = selectors.EpollSelector()
        self.sockets = [None] * count
        self.states = [PENDING] * count
        self.buffers = [b""] * count
        self.next_to_open = 0
        self.in_flight = 0
        self.current = [0] * len(STATE_NAMES)
        self.current[PENDING] = count
        self.failures = {}
        self.first_received = None
        self.last_received = None

    def fail(self, slot, why):
        self.set_state(slot, FAILED)
        self.failures[why] = self.failures.get(why, 0) + 1
        sock = self.sockets[slot]
        if sock is not None:
            try:
                self.selector.unregister(sock)
            except (KeyError, ValueError):
                pass
            sock.close()
            self.sockets[slot] = None

    def set_state(self, slot, state):
        previous = self.states[slot]
        self.in_flight += (state in IN_FLIGHT_STATES) - (previous in IN_FLIGHT_STATES)
        self.states[slot] = state
        self.current[previous] -= 1
        self.current[state] += 1

    def open_more(self):
        while self.in_flight < IN_FLIGHT_PER_WORKER and self.next_to_open < self.count:
            slot = self.next_to_open
            self.next_to_open += 1
            self.set_state(slot, CONNECTING)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(source_of(self.first_index + slot))
            except OSError as error:
                sock.close()
                self.fail(slot, "bind: %s" % error.strerror)
                continue
            sock.setblocking(False)
            self.sockets[slot] = sock
            result = sock.connect_ex(self.gateway)
            if result not in (0, errno.EINPROGRESS):
                self.fail(slot, "connect: %s" % os.strerror(result))
                continue
            self.selector.register(sock, selectors.EVENT_WRITE, slot)

    def on_writable(self, slot):
        sock = self.sockets[slot]
        error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            self.fail(slot, "connect: %s" % os.strerror(error))
            return
        sock.send(self.request)
        self.set_state(slot, UPGRADING)
        self.selector.modify(sock, selectors.EVENT_READ, slot)

    def on_readable(self, slot, now):
        sock = self.sockets[slot]
        try:
            data = sock.recv(4096)
        except BlockingIOError:
            return
        except OSError as error:
            self.fail(slot, "recv while %s: %s" % (STATE_NAMES[self.states[slot]], error.strerror))
            return
        if not data:
            self.fail(slot, "closed by the gateway while %s" % STATE_NAMES[self.states[slot]])
            return
        buffer = self.buffers[slot] + data
        state = self.states[slot]
        if state == UPGRADING:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffers[slot] = buffer
                return
            head = buffer[:end]
            if not head.startswith(b"HTTP/1.1 101") or EXPECTED_ACCEPT not in head:
                self.fail(slot, "handshake refused: %r" % head.split(b"\r\n")[0])
                return
            buffer = buffer[end + 4:]
            sock.send(SUB_FRAME)
            self.set_state(slot, SUBSCRIBING)
            state = SUBSCRIBING
        if state == SUBSCRIBING:
            if len(buffer) < len(OK_FRAME):
                self.buffers[slot] = buffer
                return
            if not buffer.startswith(OK_FRAME):
                self.fail(slot, "sub not answered with ok: %r" % buffer[:80])
                return
            buffer = buffer[len(OK_FRAME):]
            self.set_state(slot, SUBSCRIBED)
            state = SUBSCRIBED
        if state == SUBSCRIBED:
            if len(buffer) < len(MSG_FRAME):
                self.buffers[slot] = buffer
                return
            if buffer != MSG_FRAME:
                self.fail(slot, "wrong message: %r" % buffer[:120])
                return
            self.set_state(slot, RECEIVED)
            self.first_received = now if self.first_received is None else self.first_received
            self.last_received = now
            buffer = b""
        elif state == RECEIVED:
            self.fail(slot, "unexpected extra bytes after the message: %r" % buffer[:80])
            return
        self.buffers[slot] = buffer

    def report(self):
        self.control.send({
            "worker": self.number,
            "states": list(self.current),
            "failures": dict(self.failures),
            "first_received": self.first_received,
            "last_received": self.last_received,
        })

    def run(self):
        parent = os.getppid()
        self.selector.register(self.control, selectors.EVENT_READ, None)
        last_report = 0.0
        while True:
            self.open_more()
            now = time.monotonic()
            for key, mask in self.selector.select(timeout=0.2):
                slot = key.data
                if slot is None:
                    message = self.control.recv()
                    if message == "stop":
                        return
                    continue
                if self.states[slot] == CONNECTING:
                    self.on_writable(slot)
                else:
                    self.on_readable(slot, time.monotonic())
            if now - last_report >= 0.5:
                self.report()
                last_report = now
            if os.getppid() != parent:
                return


def tally(states):
    """Per-state totals from the `states` lists of all workers."""
    return [sum(column) for column in zip(*states)] if states else [0] * len(STATE_NAMES)


def worker_main(number, first_index, count, gateway_port, control):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    Worker(number, first_index, count, gateway_port, control).run()


class Run:
    def __init__(self, arguments):
        self.arguments = arguments
        self.deadline = time.monotonic() + arguments.timeout
        self.gateway = None
        self.gateway_log = tempfile.TemporaryFile()
        self.workers = []
        self.reports = {}

    # Gateway

    def start_gateway(self):
        self.gateway = subprocess.Popen(
            [self.arguments.gateway, "--listen", "127.0.0.1:0", "--max-connections", "60000"],
            stdout=subprocess.PIPE, stderr=self.gateway_log, stdin=subprocess.DEVNULL,
        )
        selector = selectors.DefaultSelector()
        selector.register(self.gateway.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=30):
            raise SetupError("stadium-gateway printed nothing within 30 s" + self.gateway_stderr())
        line = self.gateway.stdout.readline().decode(errors="replace").strip()
        marker = "listening on ws://"
        if marker not in line:
            raise SetupError("unexpected first line from stadium-gateway: %r%s" % (line, self.gateway_stderr()))
        self.port = int(line.split(marker)[1].rstrip("/").rsplit(":", 1)[1])
        print("gateway pid %d listening on 127.0.0.1:%d" % (self.gateway.pid, self.port), flush=True)

    def gateway_stderr(self, lines=20):
        self.gateway_log.seek(0)
        tail = self.gateway_log.read().decode(errors="replace").splitlines()[-lines:]
        return ("\ngateway stderr (last %d lines):\n  " % len(tail) + "\n  ".join(tail)) if tail else ""

    def check_gateway_alive(self):
        code = self.gateway.poll()
        if code is not None:
            raise Failure("stadium-gateway exited with status %d during the test%s" % (code, self.gateway_stderr()))

    def metric(self, name):
        """One sample from /metrics (None when absent)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            response = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                response += chunk
        for line in response.decode(errors="replace").splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    # Workers

    def start_workers(self):
        context = multiprocessing.get_context("fork")
        total = self.arguments.connections
        share, extra = divmod(total, self.arguments.workers)
        first = 0
        for number in range(self.arguments.workers):
            count = share + (1 if number < extra else 0)
            parent_end, child_end = context.Pipe()
            process = context.Process(target=worker_main, args=(number, first, count, self.port, child_end), daemon=True)
            process.start()
            child_end.close()
            self.workers.append((process, parent_end))
            first += count
        self.publisher_index = first
        print("%d workers holding %s connections" % (len(self.workers), ", ".join(
            str(share + (1 if n < extra else 0)) for n in range(len(self.workers)))), flush=True)

    def collect_reports(self, timeout):
        connections = [conn for _, conn in self.workers]
        for conn in multiprocessing.connection.wait(connections, timeout=timeout):
            try:
                while conn.poll():
                    report = conn.recv()
                    self.reports[report["worker"]] = report
            except EOFError:
                raise Failure("a worker process died%s" % self.worker_exit_codes())
        for process, _ in self.workers:
            if not process.is_alive():
                raise Failure("a worker process died%s" % self.worker_exit_codes())

    def worker_exit_codes(self):
        return " (exit codes %s)" % [process.exitcode for process, _ in self.workers]

    def totals(self):
        return tally([report["states"] for report in self.reports.values()])

    def failures(self):
        merged = {}
        for report in self.reports.values():
            for why, count in report["failures"].items():
                merged[why] = merged.get(why, 0) + count
        return merged

    def stop_workers(self):
        for process, conn in self.workers:
            try:
                conn.send("stop")
            except OSError:
                pass
        for process, _ in self.workers:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)

    # Phases

    def ramp(self):
        total = self.arguments.connections
        started = time.monotonic()
        last_print = started
        last_progress = (started, -1)
        while True:
            self.check_time("ramping up")
            self.check_gateway_alive()
            self.collect_reports(timeout=0.5)
            totals = self.totals()
            failed = totals[FAILED]
            ready = totals[SUBSCRIBED] + totals[RECEIVED]
            now = time.monotonic()
            if failed:
                raise Failure("%d connections failed while ramping up (%d subscribed): %s%s" % (
                    failed, ready, self.failures(), self.gateway_stderr()))
            if now - last_print >= PROGRESS_INTERVAL:
                print("  %6.1f s: %6d subscribed, %5d upgrading or subscribing, %5d not yet connected (%.0f/s)" % (
                    now - started, ready, totals[UPGRADING] + totals[SUBSCRIBING], totals[PENDING] + totals[CONNECTING],
                    ready / (now - started)), flush=True)
                last_print = now
            if ready != last_progress[1]:
                last_progress = (now, ready)
            elif now - last_progress[0] > 30:
                raise Failure("no progress for 30 s: %d of %d subscribed, states %s" % (
                    ready, total, dict(zip(STATE_NAMES, totals))))
            if ready == total and len(self.reports) == len(self.workers):
                elapsed = now - started
                print("all %d connections subscribed in %.1f s: %.0f connections/s (handshake + sub + ok)" % (
                    total, elapsed, total / elapsed), flush=True)
                return

    def publish(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(source_of(self.publisher_index))
        sock.settimeout(10)
        sock.connect(("127.0.0.1", self.port))
        sock.sendall(handshake_request(self.port))
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = sock.recv(4096)
            if not chunk:
                raise Failure("publisher connection closed during the handshake")
            response += chunk
        if not response.startswith(b"HTTP/1.1 101"):
            raise Failure("publisher handshake refused: %r" % response.split(b"\r\n")[0])
        pub = b'{"op":"pub","id":1,"subject":"%s","data":%s}' % (SUBJECT.encode(), PUBLISHED_DATA)
        published_at = time.monotonic()
        sock.sendall(masked_text_frame(pub))
        reply = response.split(b"\r\n\r\n", 1)[1]
        expected_ok = server_text_frame(b'{"op":"ok","id":1}')
        while len(reply) < len(expected_ok):
            chunk = sock.recv(4096)
            if not chunk:
                raise Failure("publisher connection closed before the ok")
            reply += chunk
        acknowledged_at = time.monotonic()
        if reply[:len(expected_ok)] != expected_ok:
            raise Failure("publisher got %r instead of ok" % reply[:120])
        print("published one message; ok after %.3f s" % (acknowledged_at - published_at), flush=True)
        self.publisher = sock
        return published_at

    def await_delivery(self, published_at):
        total = self.arguments.connections
        limit = min(self.deadline, time.monotonic() + self.arguments.delivery_timeout)
        last_print = time.monotonic()
        while True:
            self.collect_reports(timeout=0.5)
            totals = self.totals()
            received = totals[RECEIVED]
            now = time.monotonic()
            if received == total:
                break
            if totals[FAILED] or now >= limit:
                self.check_gateway_alive()
                raise Failure("%d of %d connections received the message, %d failed, %d still waiting after %.1f s: %s%s" % (
                    received, total, totals[FAILED], totals[SUBSCRIBED], now - published_at, self.failures(),
                    self.gateway_stderr()))
            if now - last_print >= PROGRESS_INTERVAL:
                print("  %6.1f s after publish: %d received" % (now - published_at, received), flush=True)
                last_print = now
        first = min(report["first_received"] for report in self.reports.values())
        last = max(report["last_received"] for report in self.reports.values())
        print("every one of the %d connections received the message (seq %d, exact bytes)" % (total, EXPECTED_SEQ))
        print("first socket got it %.3f s after the publish, the last %.3f s after" % (
            first - published_at, last - published_at), flush=True)

    def check_time(self, phase):
        if time.monotonic() > self.deadline:
            totals = self.totals()
            raise Failure("overall time limit of %d s reached while %s; states %s; failures %s" % (
                self.arguments.timeout, phase, dict(zip(STATE_NAMES, totals)), self.failures()))

    def stop_gateway(self):
        if self.gateway is None or self.gateway.poll() is not None:
            return
        self.gateway.send_signal(signal.SIGTERM)
        try:
            self.gateway.wait(timeout=20)
        except subprocess.TimeoutExpired:
            print("stadium-gateway did not exit within 20 s of SIGTERM; killing it", file=sys.stderr)
            self.gateway.kill()
            self.gateway.wait()

    def run(self):
        self.start_gateway()
        self.start_workers()
        self.ramp()
        connections = self.metric("stadium_connections")
        print("gateway /metrics: stadium_connections %s" % (
            "absent" if connections is None else "%d" % connections), flush=True)
        published_at = self.publish()
        self.await_delivery(published_at)


class SetupError(Exception):
    pass


class Failure(Exception):
    pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", required=True, help="path of the stadium-gateway binary")
    parser.add_argument("--connections", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=4, help="client processes (each below 20,000 descriptors)")
    parser.add_argument("--timeout", type=float, default=360, help="overall limit in seconds")
    parser.add_argument("--delivery-timeout", type=float, default=60, help="seconds for the message to reach everyone")
    arguments = parser.parse_args()
    if arguments.connections / arguments.workers > 19_000:
        parser.error("more than 19,000 connections per worker: use more --workers")
    if not os.access(arguments.gateway, os.X_OK):
        parser.error("%s is not an executable (swift build --product stadium-gateway)" % arguments.gateway)

    run = Run(arguments)
    status = 0
    try:
        run.run()
        print("PASS")
    except SetupError as error:
        print("SETUP FAILED: %s" % error, file=sys.stderr)
        status = 2
    except Failure as error:
        print("FAIL: %s" % error, file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        status = 2
    finally:
        run.stop_workers()
        run.stop_gateway()
    return status


if __name__ == "__main__":
    sys.exit(main())
