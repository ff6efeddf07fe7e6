#!/usr/bin/env python3
"""Drives the Stadium web UI in headless Chromium over the DevTools protocol.

Plays one round as a real user would: picks a name, answers a question, reads the
result, opens the leaderboard and finds both a bot and itself there; the page's WebSockets
agree to permessage-deflate, so the round is played compressed. With --run-dir it
also restarts the stack's gateway and waits for the page to reconnect and get a question.
With an https:// URL and --ca (a stack started with TLS=1) the page plays over https and wss,
Chromium accepting the gateway's key once Python has checked its certificate against the CA.
Exits non-zero with a message saying what the page showed when something does not happen
in time.

Needs Debian's `chromium` and the `websocket-client` PyPI package; nothing else.

    python3 Tests/browser/test_web_ui.py --url http://127.0.0.1:8080/ \
        --chromium /usr/bin/chromium --screenshots /tmp/shots
"""

import argparse
import base64
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

try:
    import websocket  # the websocket-client package
except ImportError:
    sys.exit("test_web_ui: needs the websocket-client package: pip install websocket-client")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from stadium_test import Failure as TestFailure  # noqa: E402  the tests' shared helpers
from stadium_test import wait_until  # noqa: E402

PHONE_WIDTH = 360
PHONE_HEIGHT = 780
ANSWER_MARGIN_SECONDS = 3


class DevTools:
    """A minimal CDP client: numbered commands, events kept for later inspection."""

    def __init__(self, ws_url):
        self.socket = wait_until(f"a DevTools connection to {ws_url}", 30, lambda: self.connect(ws_url))
        self.next_id = 1
        self.exceptions = []

    @staticmethod
    def connect(ws_url):
        try:
            return websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        except OSError:
            # A loopback connect fails while a busy machine has no ephemeral port free: try again.
            return None

    def call(self, method, **params):
        command_id = self.next_id
        self.next_id += 1
        self.socket.send(json.dumps({"id": command_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == command_id:
                if "error" in message:
                    raise TestFailure(f"DevTools {method} failed: {message['error']}")
                return message.get("result", {})
            self.note_event(message)

    def note_event(self, message):
        if message.get("method") == "Runtime.exceptionThrown":
            details = message["params"]["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            self.exceptions.append(text)

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise TestFailure(f"evaluating {expression!r} threw: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def close(self):
        self.socket.close()


class Browser:
    """Headless Chromium with a throwaway profile, reached through its DevTools port."""

    def __init__(self, chromium, spki_pin=None):
        self.profile = tempfile.mkdtemp(prefix="stadium-ui-test-")
        arguments = [
            chromium,
            "--headless",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--remote-debugging-port=0",
            f"--user-data-dir={self.profile}",
            f"--window-size={PHONE_WIDTH},{PHONE_HEIGHT}",
            "about:blank",
        ]
        if spki_pin:
            # The gateway's key, whose certificate check_reachable verified against the test CA.
            arguments.insert(1, f"--ignore-certificate-errors-spki-list={spki_pin}")
        if os.geteuid() == 0:
            # Chromium refuses to run its sandbox as root (containers, CI).
            arguments.insert(1, "--no-sandbox")
        self.process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def page_websocket_url(self, timeout):
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        port = wait_until(f"Chromium to write {port_file}", timeout, lambda: self.read_port(port_file))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            targets = json.load(response)
        pages = [t for t in targets if t.get("type") == "page"]
        if not pages:
            raise TestFailure(f"Chromium exposes no page target: {targets}")
        return pages[0]["webSocketDebuggerUrl"]

    def read_port(self, port_file):
        if self.process.poll() is not None:
            stderr = self.process.stderr.read().decode(errors="replace")[-2000:]
            raise TestFailure(f"Chromium exited with {self.process.returncode}: {stderr}")
        try:
            with open(port_file) as handle:
                first_line = handle.readline().strip()
        except FileNotFoundError:
            return None
        return int(first_line) if first_line.isdigit() else None

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    """User-level actions on the Stadium page."""

    def __init__(self, devtools, timeout):
        self.devtools = devtools
        self.timeout = timeout

    def js(self, expression):
        return self.devtools.evaluate(expression)

    def wait_for(self, description, expression, timeout=None):
        limit = self.timeout if timeout is None else timeout
        try:
            return wait_until(description, limit, lambda: self.js(expression))
        except TestFailure as failure:
            raise TestFailure(f"{failure}\n  page state: {self.describe()}") from None

    def describe(self):
        return self.js("""JSON.stringify({
            status: document.querySelector('#status')?.textContent,
            phase: document.querySelector('#phase')?.textContent,
            question: document.querySelector('#question')?.textContent,
            countdown: document.querySelector('#countdown')?.textContent,
            answerStatus: document.querySelector('#answer-status')?.textContent,
            result: document.querySelector('#result')?.textContent,
            board: [...document.querySelectorAll('#board tbody tr')].map(r => r.dataset.name),
            toast: document.querySelector('#toast')?.hidden ? null : document.querySelector('#toast')?.textContent,
        })""")

    def click(self, selector):
        """Clicks the centre of the element with the mouse, as long as nothing covers it."""
        box = self.js(f"""(() => {{
            const element = document.querySelector({json.dumps(selector)});
            if (!element) return null;
            element.scrollIntoView({{block: 'center'}});
            const r = element.getBoundingClientRect();
            const x = r.left + r.width / 2, y = r.top + r.height / 2;
            const top = document.elementFromPoint(x, y);
            return {{x, y, width: r.width, height: r.height, reachable: !!top && element.contains(top)}};
        }})()""")
        if box is None:
            raise TestFailure(f"no element matches {selector}\n  page state: {self.describe()}")
        if box["width"] == 0 or not box["reachable"]:
            raise TestFailure(f"{selector} is hidden or covered, a user could not click it")
        for kind in ("mousePressed", "mouseReleased"):
            self.devtools.call("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"],
                               button="left", clickCount=1)

    def type_into(self, selector, text):
        self.js(f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.focus(); e.select(); }})()")
        self.devtools.call("Input.insertText", text=text)

    def screenshot(self, path):
        shot = self.devtools.call("Page.captureScreenshot", format="png")
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(shot["data"]))


def set_name(page, name):
    page.type_into("#name-input", "not valid!")
    page.click("#name-save")
    page.wait_for("an error message for a name with a space and '!'",
                  "!document.querySelector('#name-error').hidden && "
                  "document.querySelector('#name-error').textContent.length > 0", timeout=5)
    page.type_into("#name-input", name)
    page.click("#name-save")
    page.wait_for(f"the page to take the name {name}",
                  f"window.stadium.name === {json.dumps(name)} && document.querySelector('#name-error').hidden",
                  timeout=5)
    stored = page.js("localStorage.getItem('stadium.name')")
    if stored != name:
        raise TestFailure(f"the name should be kept across reloads, localStorage has {stored!r}")


def answer_a_question(page):
    """Answers the first question that is still open when clicked; returns the chosen index."""
    # A few seconds of margin keep the answer clear of the deadline, so it surely gets a result.
    open_question = ("!document.querySelector('#question-card').hidden && "
                     "[...document.querySelectorAll('.answer')].filter(b => !b.disabled).length === 4 && "
                     f"parseInt(document.querySelector('#countdown').textContent, 10) >= {ANSWER_MARGIN_SECONDS}")
    while True:
        page.wait_for(f"an open question with four enabled answers and {ANSWER_MARGIN_SECONDS} s left", open_question)
        question_id = page.js("window.stadium.questionId")
        index = random.randrange(4)
        page.click(f".answer[data-index='{index}']")
        chosen = page.js(f"document.querySelector(\".answer[data-index='{index}']\").classList.contains('chosen')")
        if chosen:
            return question_id, index
        # The deadline passed between seeing the question and clicking: wait for the next one.
        page.wait_for("the next question", f"window.stadium.questionId !== {json.dumps(question_id)}")


def check_answer_locked(page, index):
    enabled = page.js("[...document.querySelectorAll('.answer')].filter(b => !b.disabled).length")
    if enabled != 0:
        raise TestFailure(f"after answering, {enabled} answer buttons are still enabled: one answer per question")
    page.wait_for("the gateway to acknowledge the answer",
                  "/acknowledged/i.test(document.querySelector('#answer-status').textContent)", timeout=15)
    chosen = page.js("[...document.querySelectorAll('.answer.chosen')].map(b => b.dataset.index)")
    if chosen != [str(index)]:
        raise TestFailure(f"expected answer {index} highlighted as chosen, found {chosen}")


def check_result(page):
    page.wait_for("the result of the answered question",
                  "!document.querySelector('#result').hidden && "
                  "/correct|wrong/i.test(document.querySelector('#result').textContent)")
    total = page.js("document.querySelector('#total').textContent")
    if not total.strip().isdigit():
        raise TestFailure(f"#total should show the player's total as a number, shows {total!r}")
    result_total = page.js("(/total (\\d+)/.exec(document.querySelector('#result').textContent) || [])[1]")
    if result_total != total.strip():
        raise TestFailure(f"the result says total {result_total} but 'Your total' shows {total!r}")


def check_leaderboard(page, name):
    page.click("#tab-board")
    page.wait_for("the leaderboard panel to open",
                  "!document.querySelector('#panel-board').hidden && "
                  "document.querySelector('#tab-board').getAttribute('aria-selected') === 'true'", timeout=5)
    page.wait_for("a bot- row and the player's own row on the leaderboard",
                  "document.querySelector('#board tr[data-name^=\"bot-\"]') !== null && "
                  f"document.querySelector('#board tr.me[data-name={json.dumps(name)}]') !== null")
    marked = page.js("[...document.querySelectorAll('#board tr.me')].map(r => r.dataset.name)")
    if marked != [name]:
        raise TestFailure(f"exactly the player's row should be marked .me, found {marked}")


def check_name_survives_reload(page, name):
    page.devtools.call("Page.reload")
    page.wait_for("the page to come back live after a reload",
                  "document.readyState === 'complete' && typeof window.stadium === 'object' && "
                  "window.stadium.state === 'live'", timeout=30)
    shown = page.js("document.querySelector('#name-input').value")
    if shown != name or page.js("window.stadium.name") != name:
        raise TestFailure(f"after a reload the name should still be {name!r}, the page shows {shown!r}")


class StackGateway:
    """The gateway that `scripts/stack.sh start` runs in --run-dir, restarted with the same command."""

    def __init__(self, run_dir):
        self.run_dir = run_dir
        self.pids_path = os.path.join(run_dir, "pids")
        with open(self.pids_path) as handle:
            self.entries = [line.split() for line in handle if line.strip()]
        pids = [int(pid) for name, pid in self.entries if name == "gateway"]
        if not pids:
            raise TestFailure(f"{self.pids_path} names no gateway process")
        self.pid = pids[0]
        with open(f"/proc/{self.pid}/cmdline", "rb") as handle:
            self.command = [part.decode() for part in handle.read().split(b"\0") if part]
        self.directory = os.readlink(f"/proc/{self.pid}/cwd")

    def stop(self):
        os.kill(self.pid, signal.SIGTERM)
        try:
            wait_until("the gateway to stop on SIGTERM", 10, lambda: not is_running(self.pid))
        except TestFailure:
            os.kill(self.pid, signal.SIGKILL)

    def start(self):
        with open(os.path.join(self.run_dir, "gateway.out"), "a") as out, \
                open(os.path.join(self.run_dir, "gateway.log"), "a") as log:
            process = subprocess.Popen(self.command, cwd=self.directory, stdout=out, stderr=log,
                                       start_new_session=True)
        # stack.sh stop ends what its pids file names: the new gateway, not the old one.
        self.entries = [[name, str(process.pid) if name == "gateway" else pid] for name, pid in self.entries]
        with open(self.pids_path, "w") as handle:
            handle.writelines(f"{name} {pid}\n" for name, pid in self.entries)
        self.pid = process.pid


def is_running(pid):
    """True while pid runs (a zombie has an empty command line)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return len(handle.read()) > 0
    except OSError:
        return False


def check_reconnects(page, run_dir):
    """Restarts the gateway under the page: it shows it, reconnects by itself and re-subscribes."""
    gateway = StackGateway(run_dir)
    question_id = page.js("window.stadium.questionId")
    gateway.stop()
    page.wait_for("the status to say the page is reconnecting",
                  "window.stadium.state !== 'live' && "
                  "/connecting/.test(document.querySelector('#status').textContent)", timeout=30)
    gateway.start()
    page.wait_for("the page to be live again after a gateway restart", "window.stadium.state === 'live'")
    page.wait_for("a new question after reconnecting, so the page subscribed again",
                  f"window.stadium.questionId !== null && window.stadium.questionId !== {json.dumps(question_id)}")
    resumed = page.js("window.stadium.resumedFrom")
    since = (resumed or {}).get("/question")
    # /question has no key: the page resumes it with a cursor (partition -> last offset seen),
    # or with a seq where the gateway gave no positions.
    is_cursor = isinstance(since, dict) and since and all(isinstance(offset, int) for offset in since.values())
    if not (isinstance(since, int) or is_cursor):
        raise TestFailure(f"the page resubscribed without `since` for /question (it sent {resumed!r}): "
                          "messages missed while away would be lost")


def check_fits_phone(page):
    overflow = page.js("document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        raise TestFailure(f"the page is {overflow} px wider than a {PHONE_WIDTH} px phone screen")


def check_compression(page):
    """Chromium offers permessage-deflate: a socket from the page gets it from the gateway."""
    extensions = page.js(
        "new Promise((resolve, reject) => {"
        " const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + '/', 'stadium.v1');"
        " ws.onopen = () => { resolve(ws.extensions); ws.close(); };"
        " ws.onerror = () => reject(new Error('the socket did not open')); })")
    if not str(extensions).startswith("permessage-deflate; server_no_context_takeover"):
        raise TestFailure(f"the page's WebSocket did not agree to permessage-deflate: {extensions!r}")


def check_reachable(url, context):
    try:
        with urllib.request.urlopen(url, timeout=10, context=context) as response:
            response.read(1)
    except OSError as error:
        raise TestFailure(f"cannot fetch {url}: {error}; is the gateway running and serving web/?") from None


def spki_pin(url, ca_file):
    """The SHA-256 of the key an https gateway presents (base64), its certificate checked against ca_file."""
    parts = urllib.parse.urlsplit(url)
    context = ssl.create_default_context(cafile=ca_file)
    with socket.create_connection((parts.hostname, parts.port or 443), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=parts.hostname) as tls:
            der = tls.getpeercert(binary_form=True)
    public_pem = subprocess.run(["openssl", "x509", "-inform", "DER", "-pubkey", "-noout"], input=der,
                                capture_output=True, check=True).stdout
    spki = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=public_pem,
                          capture_output=True, check=True).stdout
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def run(arguments):
    os.makedirs(arguments.screenshots, exist_ok=True)
    context = ssl.create_default_context(cafile=arguments.ca) if arguments.ca else None
    check_reachable(arguments.url, context)
    browser = Browser(arguments.chromium, spki_pin(arguments.url, arguments.ca) if arguments.ca else None)
    devtools = None
    page = None
    try:
        devtools = DevTools(browser.page_websocket_url(timeout=30))
        page = Page(devtools, arguments.timeout)
        devtools.call("Runtime.enable")
        devtools.call("Page.enable")
        devtools.call("Emulation.setDeviceMetricsOverride", width=PHONE_WIDTH, height=PHONE_HEIGHT,
                      deviceScaleFactor=1, mobile=True)
        devtools.call("Page.navigate", url=arguments.url)
        page.wait_for(f"{arguments.url} to load the Stadium UI",
                      "document.readyState === 'complete' && typeof window.stadium === 'object'", timeout=30)
        page.wait_for("the connection status to say live",
                      "window.stadium.state === 'live' && document.querySelector('#status').textContent === 'live'",
                      timeout=30)
        if arguments.ca and page.js("window.location.protocol") != "https:":
            raise TestFailure("with --ca the page did not load over https")
        check_compression(page)
        name = arguments.name or f"webtest-{random.randrange(10000):04d}"
        set_name(page, name)
        check_fits_phone(page)
        _, index = answer_a_question(page)
        check_answer_locked(page, index)
        check_result(page)
        page.screenshot(os.path.join(arguments.screenshots, "play.png"))
        check_leaderboard(page, name)
        check_fits_phone(page)
        page.screenshot(os.path.join(arguments.screenshots, "leaderboard.png"))
        if arguments.run_dir:
            check_reconnects(page, arguments.run_dir)
        check_name_survives_reload(page, name)
        if devtools.exceptions:
            raise TestFailure("the page threw JavaScript exceptions: " + "; ".join(devtools.exceptions))
    except TestFailure:
        if page is not None:
            page.screenshot(os.path.join(arguments.screenshots, "failure.png"))
        raise
    finally:
        if devtools is not None:
            devtools.close()
        browser.stop()


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the gateway's page, e.g. http://127.0.0.1:8080/")
    parser.add_argument("--ca", help="with an https:// URL: the CA file the gateway's certificate must chain to "
                        "(the page then plays over https and wss)")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium",
                        help="path of the Chromium binary (Debian package: chromium)")
    parser.add_argument("--screenshots", required=True, help="directory for play.png and leaderboard.png")
    parser.add_argument("--timeout", type=float, default=90,
                        help="seconds to wait for each game event; more than one quiz round (default 90)")
    parser.add_argument("--name", help="player name to use (default: webtest-NNNN)")
    parser.add_argument("--run-dir", help="RUN_DIR of `scripts/stack.sh start`: restart its gateway under the "
                        "page to check that the page reconnects and subscribes again")
    return parser.parse_args()


def main():
    arguments = parse_arguments()
    try:
        run(arguments)
    except TestFailure as failure:
        print(f"FAIL test_web_ui: {failure}", file=sys.stderr)
        return 1
    print(f"PASS test_web_ui: played a round at {arguments.url}, screenshots in {arguments.screenshots}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
