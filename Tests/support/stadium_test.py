"""What the Python end-to-end tests share: ports, child processes (the gateway, the development
broker, a stack of scripts/stack.sh), WebSocket frames on raw sockets, /metrics, and waiting on a
condition with a deadline.

Ports: a gateway listens on 127.0.0.1:0 and the test reads the port it got from its `listening on`
line, so no fixed port can be taken by some connection's ephemeral port (a host tuned with
tuning/apply.sh gives outgoing connections 10240-65535). A stack whose gateway a test restarts
keeps its port with PORT=stable (scripts/stack.sh: a free port below the ephemeral range).

A test imports it with this folder on its path:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
"""

import base64
import os
import re
import socket
import ssl
import struct
import subprocess
import threading
import time
import urllib.request

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LISTENING = r"listening on wss?://127\.0\.0\.1:(\d+)/"


class Failure(Exception):
    """A check that did not hold, or something a test needs that did not happen."""


def check(condition, message):
    if not condition:
        raise Failure(message)


def wait_until(what, seconds, probe, interval=0.05):
    """Polls `probe` until it returns something truthy, and returns that; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise Failure("timed out after %.0f s waiting for %s" % (seconds, what))
        time.sleep(interval)


# --- processes -----------------------------------------------------------------------------

class Process:
    """A child whose output (stdout and stderr) is kept in memory, read on a thread so it never
    blocks on a full pipe; `wait_for` a line (the log is the signal)."""

    def __init__(self, command, ready=None, ready_seconds=30, name=None):
        self.name = name or os.path.basename(command[0])
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.match = self.wait_for(ready, ready_seconds) if ready else None

    def _read(self):
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def wait_for(self, pattern, timeout, start=0):
        """The first line from `start` on that matches, waiting for it."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for line in self.lines[start:]:
                    match = re.search(pattern, line)
                    if match:
                        return match
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.process.poll() is not None:
                    raise Failure("%s: no line matching %r (status %s):\n%s"
                                  % (self.name, pattern, self.process.poll(), self.tail()))
                self.changed.wait(remaining)

    def tail(self, count=20):
        with self.changed:
            return "".join(self.lines[-count:])

    def stop(self, timeout=30):
        """SIGTERM, then SIGKILL after `timeout`; the exit status."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


class Gateway(Process):
    """stadium-gateway on 127.0.0.1:0: `port` is the one it says it listens on. With `ca` (TLS)
    its HTTP routes are read over https, the certificate checked against that CA."""

    def __init__(self, binary, *options, prefix=(), ca=None):
        super().__init__([*prefix, binary, "--listen", "127.0.0.1:0", *options], LISTENING, name="stadium-gateway")
        self.port = int(self.match.group(1))
        self.ca = ca

    def get(self, path, timeout=10):
        """(status, body text) of a GET on the gateway's own port."""
        if self.ca:
            url, context = "https://localhost:%d%s" % (self.port, path), ssl.create_default_context(cafile=self.ca)
        else:
            url, context = "http://127.0.0.1:%d%s" % (self.port, path), None
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            return response.status, response.read().decode()

    def healthy(self):
        try:
            return self.get("/healthz", timeout=5)[0] == 200
        except OSError:
            return False

    def metrics(self):
        return parse_metrics(self.get("/metrics")[1])

    def metric(self, series):
        """One series of /metrics (with its labels, as written there); 0 when absent."""
        return self.metrics().get(series, 0.0)

    def stop(self, timeout=30, expect_clean=True):
        status = super().stop(timeout)
        if expect_clean and status != 0:
            raise Failure("stadium-gateway exited with %s:\n%s" % (status, self.tail()))
        return status


class Broker:
    """The development broker (stadium-kafka) with its bootstrap file in `directory`."""

    def __init__(self, binary, directory, partitions=1, topics="feed,result"):
        path = os.path.join(directory, "bootstrap")
        self.process = Process([binary, "--partitions", str(partitions), "--topics", topics, "--bootstrap-file", path],
                               name="stadium-kafka")
        self.bootstrap_file = path

        def written():
            check(self.process.process.poll() is None, "stadium-kafka exited:\n" + self.process.tail())
            return os.path.exists(path) and open(path).read().strip()
        try:
            self.bootstrap = wait_until("stadium-kafka's bootstrap file", 30, written)
        except Failure:
            self.process.stop()  # a broker that never said where it listens is not left running
            raise

    def stop(self):
        self.process.stop()


def parse_metrics(text):
    """Prometheus text as {series with its labels: value}."""
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, _, number = line.rpartition(" ")
            try:
                values[series] = float(number)
            except ValueError:
                pass
    return values


def metric(port, series):
    """One series of the /metrics of whatever serves it on 127.0.0.1:`port`; 0 when absent."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as response:
        return parse_metrics(response.read().decode()).get(series, 0.0)


class Stack:
    """scripts/stack.sh start and stop in a run directory of its own. `port` is 0 by default (the
    gateway takes a port the kernel gives it); "stable" for a stack whose gateway is restarted.
    `settings` are stack.sh's other variables (BOTS, ROUND, GATEWAY_ARGS, ...)."""

    def __init__(self, bin_dir, run_dir, port=0, **settings):
        self.run_dir = run_dir
        self.environment = dict(os.environ, BIN=bin_dir, RUN_DIR=run_dir, PORT=str(port),
                                **{name: str(value) for name, value in settings.items()})
        self.started = False
        self.port = None

    def start(self, timeout=180):
        self.started = True
        subprocess.run([os.path.join(REPOSITORY, "scripts", "stack.sh"), "start"], env=self.environment,
                       cwd=REPOSITORY, check=True, timeout=timeout, stdout=subprocess.DEVNULL)
        with open(os.path.join(self.run_dir, "port")) as handle:
            self.port = int(handle.read())
        return self

    def pid(self, name):
        """The pid stack.sh started `name` (gateway, processors, kafka, bots) with."""
        with open(os.path.join(self.run_dir, "pids")) as handle:
            for line in handle:
                entry, pid = line.split()
                if entry == name:
                    return int(pid)
        raise Failure("no %s in %s/pids" % (name, self.run_dir))

    def stop(self):
        if self.started:
            subprocess.run([os.path.join(REPOSITORY, "scripts", "stack.sh"), "stop"], env=self.environment,
                           cwd=REPOSITORY, timeout=120, stdout=subprocess.DEVNULL)
            self.started = False


# --- WebSocket frames on a raw socket -------------------------------------------------------

def client_frame(payload, opcode=1, rsv1=False, mask=b"\x37\xfa\x21\x3d"):
    """A masked client frame with FIN set."""
    first = 0x80 | (0x40 if rsv1 else 0) | opcode
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", first, 0x80 | length)
    elif length < 65536:
        header = struct.pack("!BBH", first, 0xFE, length)
    else:
        header = struct.pack("!BBQ", first, 0xFF, length)
    return header + mask + bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))


def read_frames(buffer):
    """The whole server frames at the start of `buffer`: ([(opcode, payload, rsv1)], the rest)."""
    frames, offset = [], 0
    while len(buffer) - offset >= 2:
        first, length, start = buffer[offset], buffer[offset + 1] & 0x7F, offset + 2
        if length == 126:
            if len(buffer) - offset < 4:
                break
            length, start = struct.unpack_from("!H", buffer, offset + 2)[0], offset + 4
        elif length == 127:
            if len(buffer) - offset < 10:
                break
            length, start = struct.unpack_from("!Q", buffer, offset + 2)[0], offset + 10
        if len(buffer) < start + length:
            break
        frames.append((first & 0x0F, buffer[start:start + length], bool(first & 0x40)))
        offset = start + length
    return frames, buffer[offset:]


def close_code(payload):
    """The code of a close frame's payload (1005 when it has none)."""
    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005


class RawWebSocket:
    """A WebSocket client on a plain socket: what is on the wire (RSV1, close codes), what no
    library would send, a receive window as small as a test needs. Blocking, `timeout` per read."""

    def __init__(self, port, extensions=None, receive_buffer=None, timeout=30, subprotocol="stadium.v1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = ("GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % (port, key))
        if subprotocol:
            request += "Sec-WebSocket-Protocol: %s\r\n" % subprotocol
        if extensions:
            request += "Sec-WebSocket-Extensions: %s\r\n" % extensions
        self.sock.sendall((request + "\r\n").encode())
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            buffer += self.receive()
        head, self.buffer = buffer.split(b"\r\n\r\n", 1)
        lines = head.decode(errors="replace").split("\r\n")
        check(lines[0].startswith("HTTP/1.1 101"), "the upgrade was refused: %s" % lines[0])
        self.extensions = [line.split(":", 1)[1].strip() for line in lines
                           if line.lower().startswith("sec-websocket-extensions:")]
        self.pending, self.buffer = read_frames(self.buffer)

    def receive(self):
        data = self.sock.recv(65536)
        check(data, "the gateway closed the connection")
        return data

    def send(self, payload, opcode=1, rsv1=False):
        self.sock.sendall(client_frame(payload, opcode, rsv1))

    def next_frame(self):
        """(opcode, payload, rsv1) of the next whole frame."""
        while not self.pending:
            self.pending, self.buffer = read_frames(self.buffer + self.receive())
        return self.pending.pop(0)

    def close_code(self):
        """Reads until the gateway's close frame: its code."""
        while True:
            opcode, payload, _ = self.next_frame()
            if opcode == 8:
                return close_code(payload)

    def close(self):
        self.sock.close()
