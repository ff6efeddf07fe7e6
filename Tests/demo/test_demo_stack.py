#!/usr/bin/env python3
"""`make demo` starts a stack in which bots play into the leaderboard, and Ctrl-C stops it.

Runs `make demo DEMO_BUILD=build-debug` (the Makefile's own demo recipe, on the debug build)
in the foreground, waits for the URL it prints, fetches the page, then asks /gettop as a
client until a bot with points is on the leaderboard. Ends with Ctrl-C (SIGINT to the process
group, as a terminal sends it) and checks that no process of the stack is left and the port
is free (by default the gateway takes a port the kernel gives it: PORT=0). With --tls, `make demo TLS=1`: the page over https and the client over wss, both
checking the gateway's certificate against the CA the demo made.

    python3 Tests/demo/test_demo_stack.py [--port 0] [--tls]
"""

import argparse
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

try:
    import websocket  # the websocket-client package
except ImportError:
    sys.exit("test_demo_stack: needs the websocket-client package: pip install websocket-client")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from stadium_test import Failure as TestFailure  # noqa: E402  the tests' shared helpers
from stadium_test import wait_until  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROBE_NAME = "demo-test-probe"


class Stack:
    """`make demo` in its own process group, its output collected in a file."""

    def __init__(self, arguments, run_dir):
        self.run_dir = run_dir
        self.output_path = os.path.join(run_dir, "stack.out")
        self.output = open(self.output_path, "w+")
        environment = dict(os.environ, BIN=arguments.bin, PORT=str(arguments.port), BOTS=str(arguments.bots),
                           ROUND=str(arguments.round), ANSWER_WINDOW=str(arguments.answer_window),
                           RUN_DIR=run_dir)
        command = ["make", "--no-print-directory", "demo", f"DEMO_BUILD={arguments.build_target}",
                   f"TLS={1 if arguments.tls else 0}"]
        self.process = subprocess.Popen(command, cwd=REPO,
                                        env=environment, stdout=self.output, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.pids = []

    def text(self):
        self.output.seek(0)
        return self.output.read()

    def url(self, timeout):
        def printed_url():
            if self.process.poll() is not None:
                raise TestFailure(f"make demo exited with {self.process.returncode} before printing the URL:\n"
                                  f"{self.text()}")
            match = re.search(r"open (https?://\S+/) and play", self.text())
            return match.group(1) if match else None
        url = wait_until("make demo to print the URL to open", timeout, printed_url)
        # Remembered now: stack.sh deletes its pids file when it stops.
        with open(os.path.join(self.run_dir, "pids")) as handle:
            self.pids = [int(line.split()[1]) for line in handle if line.strip()]
        return url

    def log_tails(self):
        tails = []
        for name in sorted(os.listdir(self.run_dir)):
            if name.endswith(".log"):
                with open(os.path.join(self.run_dir, name), errors="replace") as handle:
                    tails.append(f"--- {name}\n" + "".join(handle.readlines()[-10:]))
        return "\n".join(tails)

    def interrupt(self, timeout):
        """Ctrl-C: SIGINT to the whole process group; returns make's exit status."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise TestFailure(f"make demo did not end within {timeout:.0f} s of Ctrl-C:\n{self.text()}") from None

    def survivors(self):
        return [pid for pid in self.pids if is_stadium_process(pid)]

    def force_stop(self):
        """Leaves nothing behind whatever happened before."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for pid in self.survivors():
            os.kill(pid, signal.SIGKILL)
        self.output.close()


def is_stadium_process(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"stadium-" in handle.read()
    except OSError:
        return False


def check_page(url, context):
    with urllib.request.urlopen(url, timeout=10, context=context) as response:
        page = response.read().decode(errors="replace")
    if response.status != 200 or "Stadium" not in page:
        raise TestFailure(f"{url} answered {response.status} without the Stadium page")


class Client:
    """A protocol v1 client that watches its own /top subject."""

    def __init__(self, ws_url, ca_file=None):
        options = {"sslopt": {"ca_certs": ca_file, "cert_reqs": ssl.CERT_REQUIRED}} if ca_file else {}
        self.socket = websocket.create_connection(ws_url, timeout=5, subprotocols=["stadium.v1"], **options)
        self.next_id = 1
        self.request("sub", subjects=["/question", f"/top/{PROBE_NAME}"])

    def request(self, op, **fields):
        self.socket.send(json.dumps(dict(op=op, id=self.next_id, **fields)))
        self.next_id += 1

    def ask_for_top(self):
        self.request("pub", subject="/gettop", data={"user_id": PROBE_NAME})

    def next_frame(self, seconds):
        self.socket.settimeout(seconds)
        try:
            return json.loads(self.socket.recv())
        except websocket.WebSocketTimeoutException:
            return None

    def close(self):
        self.socket.close()


def bots_with_points(client, timeout):
    """Asks for the leaderboard at every question and every reply until a bot has points."""
    deadline = time.monotonic() + timeout
    client.ask_for_top()
    last_top = None
    while time.monotonic() < deadline:
        frame = client.next_frame(max(0.1, deadline - time.monotonic()))
        if frame is None or frame.get("op") == "ok":
            continue
        if frame.get("op") == "err":
            raise TestFailure(f"the gateway refused a request: {frame}")
        if frame.get("subject") == "/question" and not frame.get("retained"):
            client.ask_for_top()
        elif frame.get("subject") == f"/top/{PROBE_NAME}":
            last_top = frame["data"]
            scored = [entry for entry in last_top.get("top", [])
                      if str(entry.get("name", "")).startswith("bot-") and entry.get("score", 0) > 0]
            if scored:
                return scored
    raise TestFailure(f"no bot with points on the leaderboard after {timeout:.0f} s; last /top: {last_top}")


def port_is_free(port):
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def run(arguments):
    if arguments.port and not port_is_free(arguments.port):
        raise TestFailure(f"port {arguments.port} is already in use; choose another with --port")
    with tempfile.TemporaryDirectory(prefix="stadium-demo-test-") as run_dir:
        stack = Stack(arguments, run_dir)
        try:
            url = stack.url(arguments.startup_timeout)
            ca_file = os.path.join(run_dir, "tls", "ca.pem") if arguments.tls else None
            if arguments.tls != url.startswith("https://"):
                raise TestFailure(f"make demo TLS={int(arguments.tls)} printed {url}")
            check_page(url, ssl.create_default_context(cafile=ca_file) if ca_file else None)
            client = Client(url.replace("http", "ws", 1), ca_file)
            try:
                scored = bots_with_points(client, arguments.timeout)
            finally:
                client.close()
            print(f"test_demo_stack: on the leaderboard: {scored}")
            stack.interrupt(arguments.stop_timeout)
            left = stack.survivors()
            if left:
                raise TestFailure(f"processes of the stack still run after Ctrl-C: {left}")
            port = urllib.parse.urlsplit(url).port
            wait_until(f"port {port} to be free after Ctrl-C", 10, lambda: port_is_free(port))
        except TestFailure as failure:
            raise TestFailure(f"{failure}\n{stack.log_tails()}") from None
        finally:
            stack.force_stop()


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-target", default="build-debug", help="Makefile target that builds --bin")
    parser.add_argument("--bin", default=".build/debug", help="build products holding the stadium-* executables")
    parser.add_argument("--port", type=int, default=0,
                        help="loopback port for the gateway (default 0: one the kernel gives it)")
    parser.add_argument("--bots", type=int, default=10)
    parser.add_argument("--round", type=int, default=6, help="seconds between questions")
    parser.add_argument("--answer-window", type=int, default=4, help="seconds to answer")
    parser.add_argument("--startup-timeout", type=float, default=120,
                        help="seconds for make demo to print its URL (an up-to-date build takes a few)")
    parser.add_argument("--timeout", type=float, default=90, help="seconds for a bot to score")
    parser.add_argument("--stop-timeout", type=float, default=40, help="seconds for Ctrl-C to stop everything")
    parser.add_argument("--tls", action="store_true", help="make demo TLS=1: https and wss with the demo's own CA")
    return parser.parse_args()


def main():
    arguments = parse_arguments()
    started = time.monotonic()
    try:
        run(arguments)
    except TestFailure as failure:
        print(f"FAIL test_demo_stack: {failure}", file=sys.stderr)
        return 1
    print(f"PASS test_demo_stack: bots scored and Ctrl-C stopped the stack ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
