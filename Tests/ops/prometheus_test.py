#!/usr/bin/env python3
"""Points Debian's prometheus at a running Stadium stack and checks what a dashboard needs.

Starts the stack (scripts/stack.sh start: development broker, processors with
--metrics-listen, gateway, bots) on ports the kernel gives them, starts `prometheus` with deploy/prometheus.yml
(targets and a 1 s interval put in, storage in a temporary directory), and checks through
Prometheus's HTTP query API that every series the dashboard needs exists and moves. Then it
evaluates every panel's PromQL expression of deploy/grafana-dashboard.json and requires
data from each. With --chromium it also opens the gateway's own /dashboard page, waits until
every chart is drawn, compares its figures with Prometheus's and takes a screenshot.

Every wait polls with a deadline; the whole run is bounded by --deadline. Whatever it
started is stopped on the way out, failed or not.

    python3 Tests/ops/prometheus_test.py --bin .build/debug [--chromium /usr/bin/chromium \\
        --screenshot docs/dashboard.png]
"""

import argparse
import base64
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

try:
    import websocket  # the websocket-client package
    import yaml  # PyYAML
except ImportError as missing:
    sys.exit(f"prometheus_test: {missing}: scripts/install-deps.sh test installs websocket-client and pyyaml")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from stadium_test import REPOSITORY, Stack  # noqa: E402  scripts/stack.sh with a port of its own

PROMETHEUS_CONFIG = os.path.join(REPOSITORY, "deploy", "prometheus.yml")
GRAFANA_DASHBOARD = os.path.join(REPOSITORY, "deploy", "grafana-dashboard.json")
POLL_SECONDS = 0.25
SCRAPE_SECONDS = 1
# What Grafana would put for $__rate_interval at a 1 s scrape is 4 s; the quiz sends few records
# a second, so a wider window keeps rates and quantiles from being empty between rounds.
RATE_WINDOW = "10s"
# Short rounds so that several questions, answers and results happen within the run.
ROUND_SECONDS = 3
ANSWER_WINDOW_SECONDS = 2
# The gateway with its defaults (subject history included): stadium_fanout_latency must be
# observed at each record's last socket write, not when the history lets the record go.
GATEWAY_ARGS = ""


class TestFailure(Exception):
    """An expectation about Prometheus's view of the stack that did not hold."""


class Deadline:
    """The run's overall time bound: every wait takes what is left of it, at most."""

    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return self.end - time.monotonic()


def wait_until(description, deadline, probe, limit=None):
    """Polls probe until it returns something truthy; fails with description when time is up."""
    end = time.monotonic() + min(deadline.left(), limit if limit is not None else deadline.left())
    last = None
    while True:
        value, last = probe()
        if value:
            return value
        if time.monotonic() >= end:
            raise TestFailure(f"timed out waiting for {description}; last seen: {last}")
        time.sleep(POLL_SECONDS)


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


def port_in_log(path, pattern, what, deadline):
    """The port a process that listens on port 0 wrote to its log."""
    def found():
        with open(path, errors="replace") as handle:
            match = re.search(pattern, handle.read())
        return (int(match.group(1)) if match else None), f"no line matching {pattern!r} in {path}"
    return wait_until(what, deadline, found)


class Prometheus:
    """Debian's prometheus on a port the kernel gives it, with its own temporary storage directory."""

    def __init__(self, binary, config_path, log_path):
        self.storage = tempfile.mkdtemp(prefix="stadium-prometheus-")
        self.log = open(log_path, "w")
        self.url = None
        self.process = subprocess.Popen(
            [binary, f"--config.file={config_path}", f"--storage.tsdb.path={self.storage}",
             "--web.listen-address=127.0.0.1:0", "--storage.tsdb.retention.time=1h"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, deadline):
        port = port_in_log(self.log.name, r'msg="Listening on" address=127\.0\.0\.1:(\d+)', "prometheus to listen",
                           deadline)
        self.url = f"http://127.0.0.1:{port}"

        def ready():
            if self.process.poll() is not None:
                raise TestFailure(f"prometheus exited with {self.process.returncode}; see {self.log.name}")
            try:
                status, _ = http_get(self.url + "/-/ready", timeout=2)
                return status == 200, status
            except OSError as error:
                return False, error
        wait_until("prometheus to be ready", deadline, ready)

    def api(self, path, **parameters):
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(parameters)}"
        try:
            _, body = http_get(url)
        except urllib.error.HTTPError as error:
            raise TestFailure(f"prometheus refused {parameters}: {error.read().decode(errors='replace')}") from None
        document = json.loads(body)
        if document.get("status") != "success":
            raise TestFailure(f"prometheus answered {document} to {path} {parameters}")
        return document["data"]

    def query(self, expression, at=None):
        """An instant query: [(labels, value)] with the values as floats."""
        parameters = {"query": expression}
        if at is not None:
            parameters["time"] = f"{at:.3f}"
        data = self.api("query", **parameters)
        if data["resultType"] == "scalar":
            return [({}, float(data["result"][1]))]
        return [(item["metric"], float(item["value"][1])) for item in data["result"]]

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.storage, ignore_errors=True)


def write_prometheus_config(path, gateway_port, processors_port):
    """deploy/prometheus.yml with this run's targets and a short interval; its jobs must be there."""
    with open(PROMETHEUS_CONFIG) as handle:
        config = yaml.safe_load(handle)
    config.setdefault("global", {})
    config["global"]["scrape_interval"] = f"{SCRAPE_SECONDS}s"
    config["global"]["evaluation_interval"] = f"{SCRAPE_SECONDS}s"
    targets = {"stadium-gateway": f"127.0.0.1:{gateway_port}", "stadium-processors": f"127.0.0.1:{processors_port}"}
    jobs = {job["job_name"]: job for job in config.get("scrape_configs", [])}
    missing = sorted(set(targets) - set(jobs))
    if missing:
        raise TestFailure(f"{PROMETHEUS_CONFIG} has no scrape job {', '.join(missing)}")
    for name, target in targets.items():
        jobs[name]["static_configs"] = [{"targets": [target]}]
    with open(path, "w") as handle:
        yaml.safe_dump(config, handle)


def wait_for_targets_up(prometheus, deadline):
    def all_up():
        targets = prometheus.api("targets")["activeTargets"]
        health = {t["labels"]["job"]: (t["health"], t.get("lastError", "")) for t in targets}
        up = len(targets) == 2 and all(state == "up" for state, _ in health.values())
        return up, health
    wait_until("both scrape targets (gateway, processors) to be up", deadline, all_up, limit=30)


def provoke_errors(gateway_port):
    """One malformed HTTP request and one WebSocket frame that is not JSON: two error kinds."""
    with socket.create_connection(("127.0.0.1", gateway_port), timeout=5) as connection:
        connection.sendall(b"NOT-HTTP\r\n\r\n")
        connection.recv(4096)
    client = websocket.create_connection(f"ws://127.0.0.1:{gateway_port}/", subprotocols=["stadium.v1"], timeout=5)
    try:
        client.send("this is not JSON")
        client.recv()
    finally:
        client.close()


# Counters a dashboard plots as rates: each must grow while the stack runs (sum over instances).
MOVING_COUNTERS = {
    "deliveries (frames written to sockets)": "sum(stadium_frames_sent_total)",
    "client frames received": "sum(stadium_frames_received_total)",
    "pubs accepted": "sum(stadium_messages_published_total)",
    "pubs acknowledged by Kafka": "sum(stadium_kafka_records_produced_total)",
    "questions fanned out from Kafka": 'sum(stadium_kafka_records_consumed_total{topic="question"})',
    "results fanned out from Kafka": 'sum(stadium_kafka_records_consumed_total{topic="result"})',
    "fan-out latency observations": "sum(stadium_fanout_latency_seconds_count)",
    "produce latency observations": "sum(stadium_kafka_produce_latency_seconds_count)",
    "malformed HTTP errors": 'sum(stadium_errors_total{kind="malformed_http"})',
    "bad request errors": 'sum(stadium_errors_total{kind="bad_request"})',
    "rounds (questions published)": "sum(quiz_rounds_total)",
    "answers scored": "sum(quiz_answers_scored_total)",
    "results produced": "sum(quiz_results_produced_total)",
}


def single_value(prometheus, expression, at=None):
    result = prometheus.query(expression, at)
    return result[0][1] if result else None


def check_counters_move(prometheus, deadline, since):
    """Each counter's value now must exceed its value at `since` (both as Prometheus stored them)."""
    baseline = {name: single_value(prometheus, expression, since) for name, expression in MOVING_COUNTERS.items()}
    absent = [f"{name} ({MOVING_COUNTERS[name]})" for name, value in baseline.items() if value is None]
    if absent:
        raise TestFailure("series absent from Prometheus: " + "; ".join(absent))

    def all_moved():
        still = {}
        for name, expression in MOVING_COUNTERS.items():
            now = single_value(prometheus, expression)
            if now is None or now <= baseline[name]:
                still[name] = (baseline[name], now)
        return not still, {name: f"{before} -> {now}" for name, (before, now) in still.items()}
    wait_until("every dashboard counter to grow", deadline, all_moved)
    return {name: single_value(prometheus, expression) for name, expression in MOVING_COUNTERS.items()}


def check_gauges_and_buckets(prometheus, bots):
    connections = single_value(prometheus, "sum(stadium_connections)")
    if connections is None or connections < bots:
        raise TestFailure(f"stadium_connections is {connections}, expected at least the {bots} bots")
    lag_topics = {labels.get("topic") for labels, _ in prometheus.query("stadium_kafka_consumer_lag")}
    if not {"question", "result", "top"} <= lag_topics:
        raise TestFailure(f"stadium_kafka_consumer_lag has topics {sorted(lag_topics)}, expected question, result, top")
    if single_value(prometheus, "min(stadium_kafka_up)") != 1:
        raise TestFailure("stadium_kafka_up is not 1 with the development broker running")
    bounds = {labels.get("le") for labels, _ in prometheus.query("stadium_fanout_latency_seconds_bucket")}
    if "+Inf" not in bounds or len(bounds) < 5:
        raise TestFailure(f"stadium_fanout_latency_seconds_bucket has buckets {sorted(bounds)}: not a histogram")
    kinds = {labels.get("kind") for labels, _ in prometheus.query("stadium_errors_total")}
    if not {"malformed_http", "bad_request", "slow_consumer", "kafka_unavailable"} <= kinds:
        raise TestFailure(f"stadium_errors_total has kinds {sorted(kinds)}: some kinds are not exported before they happen")
    if (single_value(prometheus, "sum(quiz_users)") or 0) < 1:
        raise TestFailure("quiz_users is 0 although bots answer")
    return connections


def dashboard_expressions():
    """(panel title, legend, PromQL) for every target of every panel, rows included."""
    with open(GRAFANA_DASHBOARD) as handle:
        dashboard = json.load(handle)
    found = []

    def visit(panels):
        for panel in panels:
            visit(panel.get("panels", []))
            for target in panel.get("targets", []):
                if target.get("expr"):
                    found.append((panel.get("title", "?"), target.get("legendFormat", ""), target["expr"]))
    visit(dashboard.get("panels", []))
    if not found:
        raise TestFailure(f"{GRAFANA_DASHBOARD} has no panel with a PromQL expression")
    return found


def grafana_to_promql(expression):
    """Grafana's interval variables as a dashboard would expand them at this scrape interval."""
    for variable in ("$__rate_interval", "${__rate_interval}", "$__range", "${__range}"):
        expression = expression.replace(variable, RATE_WINDOW)
    for variable in ("$__interval", "${__interval}"):
        expression = expression.replace(variable, f"{SCRAPE_SECONDS}s")
    if "$" in expression:
        raise TestFailure(f"dashboard expression uses a variable this test cannot expand: {expression}")
    return expression


def check_dashboard_panels(prometheus, deadline):
    """Each panel expression must return at least one finite value."""
    expressions = dashboard_expressions()

    def all_have_data():
        empty = []
        for title, legend, expression in expressions:
            values = [value for _, value in prometheus.query(grafana_to_promql(expression))]
            if not any(math.isfinite(value) for value in values):
                empty.append(f"{title} / {legend or expression}: {values}")
        return not empty, empty
    wait_until("every Grafana panel expression to return data", deadline, all_have_data)
    return len(expressions)


def check_dashboard_page(prometheus, gateway_port, chromium, screenshot, page_seconds, deadline):
    """The gateway's /dashboard in headless Chromium: every chart drawn, the figures Prometheus has."""
    sys.path.insert(0, os.path.join(REPOSITORY, "Tests", "browser"))
    import test_web_ui as browser_driver  # the project's Chromium-over-CDP helpers

    browser = browser_driver.Browser(chromium)
    devtools = None
    try:
        devtools = browser_driver.DevTools(browser.page_websocket_url(timeout=min(30, deadline.left())))
        devtools.call("Runtime.enable")
        devtools.call("Page.enable")
        # Wide enough for three charts a row, tall enough for the two rows and nothing more.
        devtools.call("Emulation.setDeviceMetricsOverride", width=1280, height=640, deviceScaleFactor=1, mobile=False)
        minutes = max(1, math.ceil(page_seconds / 60))
        devtools.call("Page.navigate", url=f"http://127.0.0.1:{gateway_port}/dashboard?every=1&minutes={minutes}")

        def page(expression):
            return devtools.evaluate(expression)

        charts = ["connections", "deliveries", "pubs", "latency", "lag", "errors"]
        # Latency needs a fan-out within the page's rate window; every chart needs two points for a line.
        drawn = " && ".join(f"(window.dashboard.drawn[{json.dumps(c)}] || 0) >= 2" for c in charts)

        def charts_drawn():
            ready = page(f"typeof window.dashboard === 'object' && window.dashboard.samples >= 3 && {drawn}")
            return ready, page("typeof window.dashboard === 'object' ? JSON.stringify(window.dashboard) : 'no dashboard'")
        wait_until("the dashboard page to draw all its charts", deadline, charts_drawn, limit=45)

        # Drawn, not just counted: each canvas has coloured (line) pixels beside its grey grid.
        coloured = page("""[...document.querySelectorAll('canvas[data-chart]')].map(canvas => {
            const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let count = 0;
            for (let i = 0; i < data.length; i += 4) {
                const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
                if (a > 200 && Math.max(r, g, b) - Math.min(r, g, b) > 60) count++;
            }
            return [canvas.dataset.chart, count];
        })""")
        blank = [name for name, count in coloured if count < 50]
        if blank:
            raise TestFailure(f"dashboard charts with no drawn line: {blank} (coloured pixels: {coloured})")

        # The page's figures against Prometheus's, both read from the same gateway a scrape apart.
        def same_figures():
            latest = page("JSON.stringify(window.dashboard.latest)")
            figures = json.loads(latest)
            prometheus_connections = single_value(prometheus, "sum(stadium_connections)")
            prometheus_questions = single_value(
                prometheus, 'sum(stadium_kafka_records_consumed_total{topic="question"})')
            # A scrape's own HTTP connection is counted too: the page's and Prometheus's may overlap.
            agree = (figures.get("connections") is not None and prometheus_connections is not None
                     and abs(figures["connections"] - prometheus_connections) <= 2
                     and figures.get("questionsFannedOut") is not None and prometheus_questions is not None
                     and abs(figures["questionsFannedOut"] - prometheus_questions) <= 1)
            return agree, {"page": {k: figures.get(k) for k in ("connections", "questionsFannedOut")},
                           "prometheus": {"connections": prometheus_connections, "questions": prometheus_questions}}
        wait_until("the page and Prometheus to show the same connections and questions", deadline, same_figures,
                   limit=20)

        # A longer look for the README's picture: the charts fill, with an error now and then.
        watch_end = time.monotonic() + min(page_seconds, max(0, deadline.left() - 5))
        while time.monotonic() < watch_end:
            provoke_errors(gateway_port)
            time.sleep(min(5, max(0, watch_end - time.monotonic())))
        if devtools.exceptions:
            raise TestFailure("the dashboard page threw: " + "; ".join(devtools.exceptions))
        if screenshot:
            os.makedirs(os.path.dirname(os.path.abspath(screenshot)), exist_ok=True)
            shot = devtools.call("Page.captureScreenshot", format="png")
            with open(screenshot, "wb") as handle:
                handle.write(base64.b64decode(shot["data"]))
        return json.loads(page("JSON.stringify(window.dashboard.drawn)"))
    finally:
        if devtools is not None:
            devtools.close()
        browser.stop()


def run(arguments):
    deadline = Deadline(arguments.deadline)
    run_dir = os.path.abspath(arguments.run_dir)
    os.makedirs(run_dir, exist_ok=True)
    prometheus_binary = shutil.which(arguments.prometheus) or arguments.prometheus
    if not os.access(prometheus_binary, os.X_OK):
        raise TestFailure(f"no prometheus executable at {arguments.prometheus}: apt-get install prometheus "
                          "(scripts/install-deps.sh test installs it)")
    stack = Stack(os.path.abspath(arguments.bin), run_dir, 0, BOTS=arguments.bots, ROUND=ROUND_SECONDS,
                  ANSWER_WINDOW=ANSWER_WINDOW_SECONDS, PROCESSORS_ARGS="--metrics-listen 127.0.0.1:0",
                  GATEWAY_ARGS=GATEWAY_ARGS)
    prometheus = None
    try:
        stack.start(timeout=max(1, deadline.left()))
        gateway_port = stack.port
        processors_port = port_in_log(os.path.join(run_dir, "processors.log"),
                                      r"metrics at http://127\.0\.0\.1:(\d+)/metrics", "the processors' /metrics",
                                      deadline)
        config_path = os.path.join(run_dir, "prometheus.yml")
        write_prometheus_config(config_path, gateway_port, processors_port)
        prometheus = Prometheus(prometheus_binary, config_path, os.path.join(run_dir, "prometheus.log"))
        prometheus.wait_ready(deadline)
        wait_for_targets_up(prometheus, deadline)
        # The baseline is what Prometheus held once both targets were scraped; the errors this
        # test causes come after a later scrape, so they cannot be in the baseline.
        baseline = time.time()
        wait_until("a scrape after the baseline", deadline, lambda: (
            (single_value(prometheus, "min(timestamp(up))") or 0) > baseline, "no newer scrape"), limit=10)
        provoke_errors(gateway_port)
        finals = check_counters_move(prometheus, deadline, baseline)
        connections = check_gauges_and_buckets(prometheus, arguments.bots)
        panels = check_dashboard_panels(prometheus, deadline)
        print(f"prometheus_test: {len(MOVING_COUNTERS)} counters grew "
              f"(rounds {finals['rounds (questions published)']:.0f}, answers scored {finals['answers scored']:.0f}, "
              f"deliveries {finals['deliveries (frames written to sockets)']:.0f}); {connections:.0f} connections; "
              f"{panels} Grafana panel expressions returned data")
        if arguments.chromium:
            drawn = check_dashboard_page(prometheus, gateway_port, arguments.chromium, arguments.screenshot,
                                         arguments.page_seconds, deadline)
            print(f"prometheus_test: /dashboard drew {drawn}"
                  + (f"; screenshot {arguments.screenshot}" if arguments.screenshot else ""))
    finally:
        if prometheus is not None:
            prometheus.stop()
        stack.stop()


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True, help="build products directory, e.g. .build/debug")
    parser.add_argument("--run-dir", default=".run/prometheus-test", help="stack logs, prometheus.yml and its log")
    parser.add_argument("--prometheus", default="prometheus", help="prometheus executable (Debian package prometheus)")
    parser.add_argument("--bots", type=int, default=20, help="bot players the stack runs")
    parser.add_argument("--deadline", type=float, default=110, help="seconds the whole run may take")
    parser.add_argument("--chromium", help="also check the gateway's /dashboard page in this headless Chromium")
    parser.add_argument("--screenshot", help="with --chromium: save the dashboard page as this PNG")
    parser.add_argument("--page-seconds", type=float, default=0,
                        help="with --chromium: watch the page this much longer before the screenshot, so its "
                        "charts fill (errors are provoked every 5 s meanwhile)")
    return parser.parse_args()


def main():
    arguments = parse_arguments()
    started = time.monotonic()
    try:
        run(arguments)
    except (TestFailure, subprocess.CalledProcessError, subprocess.TimeoutExpired) as failure:
        print(f"FAIL prometheus_test: {failure}\n  logs: {arguments.run_dir}/", file=sys.stderr)
        return 1
    print(f"PASS prometheus_test in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
