#!/usr/bin/env python3
"""wss:// at the gateway: memory per idle TLS connection, TLS 1.3 handshakes per core, TLS fan-out.

For each run and server (runs interleaved, as compare.py does), the server is pinned to one core
and `stadium-load --mode fanout` to another: N connections open at --rate (--tls-rate over TLS,
where the load's own handshakes bound it) and subscribe to
/question, then --messages probes go to all of them, --interval-ms apart. Measured per run:

- whole RSS per connection: the server's VmRSS with every connection open, divided by them, read
  when the last connection opened ("at open") and --settle-seconds later ("settled", before the
  second probe: handshake memory has been returned to the kernel by then, see HandshakeMemoryTrim);
- connect CPU: the server's user + system seconds from the load's start until every connection is
  open (TCP accept, TLS handshake, WebSocket upgrade, sub and its ok), as connections per CPU second;
- fan-out: time to the last subscriber of each probe from its scheduled send (stadium-load's
  delivery max), server CPU seconds per million deliveries from open to the load's end, and loss.

Servers (--servers, comma-separated):
  ws       stadium-gateway, plain WebSocket
  wss      stadium-gateway --tls-cert/--tls-key: TLS in the process
  haproxy  HAProxy from Debian terminating TLS (`mode tcp`, `ssl crt`) in front of a plain
           stadium-gateway, all pinned to the server core; RSS and CPU are the sum of all. HAProxy
           holds two ordinary descriptors per connection and a process here may hold 20,000, so
           above about 9,000 connections several HAProxy processes share the port (HAProxy binds
           with SO_REUSEPORT on Linux and the kernel spreads connections over them)

Every server gets one core's worth of threads: the gateway `--io-threads 1`, HAProxy `nbthread 1`
(each of its processes, all on the one server core).
The certificate is a P-256 ECDSA one from a test CA that openssl makes in a temporary directory;
stadium-load verifies it (`--ca`). The raw rows, the command, the commit, HAProxy's configuration
and the load average before and after each run go to Benchmarks/reports/ (--out).

    python3 Benchmarks/wss.py --connections 100000 [--runs 3] [--servers ws,wss,haproxy]
"""

import argparse
import datetime
import json
import math
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from bench_processes import Failure, stop_all, wait_until
from compare import cell, commit, cpu_seconds, last_ratio, log_says, pinned, rss_kib, summarise

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_DIR = os.path.join(ROOT, ".run", "wss")
BINARIES = os.path.join(ROOT, ".build/release")
# HAProxy reaches the gateway from these addresses: each has its own ephemeral ports (about 28,000
# each in the default range), so 100,000 proxied connections fit. The load binds from 127.0.0.2 up.
PROXY_SOURCES = ["127.0.1.%d" % host for host in range(1, 17)]


def make_certificates(directory):
    """A test CA and a server certificate for 127.0.0.1 and localhost that it signed."""
    path = lambda name: os.path.join(directory, name)
    run = lambda command: subprocess.run(command, check=True, capture_output=True)
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run(["openssl", "req", "-x509"] + key + ["-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2",
                                             "-subj", "/CN=Stadium wss benchmark CA"])
    with open(path("ext.cnf"), "w") as handle:
        handle.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run(["openssl", "req"] + key + ["-keyout", path("server.key"), "-out", path("server.csr"), "-subj", "/CN=localhost"])
    run(["openssl", "x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
         "-CAcreateserial", "-out", path("server.pem"), "-days", "2", "-extfile", path("ext.cnf")])
    # HAProxy's `crt` takes the chain and the key in one file.
    with open(path("server-and-key.pem"), "w") as combined:
        combined.write(open(path("server.pem")).read() + open(path("server.key")).read())
    return path


def haproxy_config(port, gateway_port, connections):
    """One HAProxy process's configuration; `connections` is what that process may hold."""
    servers = "\n".join(
        f"    server gateway{index} 127.0.0.1:{gateway_port} source {source}"
        for index, source in enumerate(PROXY_SOURCES))
    return f"""global
    maxconn {connections + 100}
    nbthread 1
    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets

defaults
    mode tcp
    timeout connect 10s
    timeout client 1h
    timeout server 1h

frontend wss
    bind 127.0.0.1:{port} ssl crt {{crt}} alpn http/1.1
    maxconn {connections + 100}
    default_backend stadium

backend stadium
    balance roundrobin
{servers}
"""


def gateway_command(port, connections, tls_files=None):
    command = [os.path.join(BINARIES, "stadium-gateway"), "--listen", f"127.0.0.1:{port}", "--io-threads", "1",
               "--max-connections", str(connections + 1000), "--handshake-timeout", "60"]
    if tls_files:
        command += ["--tls-cert", tls_files[0], "--tls-key", tls_files[1]]
    return command


def port_accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def raise_descriptor_limit():
    """For HAProxy, before it starts: its soft descriptor limit up to the hard one."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# Descriptors a HAProxy process keeps beside its two per connection (listener, logs, pipes).
PROXY_SPARE_DESCRIPTORS = 1000
# A share of connections a process may get above the mean: SO_REUSEPORT spreads by a hash, not evenly.
PROXY_SPREAD_MARGIN = 1.15


def proxy_layout(connections):
    """How many HAProxy processes hold `connections` under the hard descriptor limit, and each one's maxconn."""
    per_process = (resource.getrlimit(resource.RLIMIT_NOFILE)[1] - PROXY_SPARE_DESCRIPTORS) // 2
    if connections <= per_process:
        return 1, per_process
    return math.ceil(connections * PROXY_SPREAD_MARGIN / per_process), per_process


def start_server(name, port, connections, path, arguments, tag):
    """The server's processes (the one clients reach first) and the URL clients use."""
    log_path = os.path.join(RUN_DIR, f"{tag}.log")
    log = open(log_path, "w")
    if name in ("ws", "wss"):
        tls_files = (path("server.pem"), path("server.key")) if name == "wss" else None
        gateway = subprocess.Popen(pinned(arguments.server_core, gateway_command(port, connections, tls_files)),
                                   stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: log_says(log_path, "listening on") or gateway.poll() is not None, 60, f"{name} to listen")
        if gateway.poll() is not None:
            raise Failure(f"{name} exited: {open(log_path).read()[-2000:]}")
        scheme = "wss" if name == "wss" else "ws"
        return [gateway], f"{scheme}://127.0.0.1:{port}/"
    if name == "haproxy":
        gateway_port = port + 500
        gateway = subprocess.Popen(pinned(arguments.server_core, gateway_command(gateway_port, connections)),
                                   stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: log_says(log_path, "listening on") or gateway.poll() is not None, 60, "the gateway to listen")
        count, maxconn = proxy_layout(connections)
        config_path = os.path.join(RUN_DIR, f"{tag}-haproxy.cfg")
        with open(config_path, "w") as config:
            config.write(haproxy_config(port, gateway_port, maxconn).replace("{crt}", path("server-and-key.pem")))
        proxy_log = open(os.path.join(RUN_DIR, f"{tag}-haproxy.log"), "w")
        # Every process binds the same port: HAProxy sets SO_REUSEPORT, so the kernel spreads accepts.
        proxies = [subprocess.Popen(pinned(arguments.server_core, ["haproxy", "-db", "-f", config_path]),
                                    stdout=proxy_log, stderr=subprocess.STDOUT, preexec_fn=raise_descriptor_limit)
                   for _ in range(count)]
        processes = proxies + [gateway]
        wait_until(lambda: port_accepts(port) or any(proxy.poll() is not None for proxy in proxies), 60, "HAProxy to listen")
        if any(process.poll() is not None for process in processes):
            stop_all(processes)
            raise Failure(f"haproxy or its gateway exited: {open(proxy_log.name).read()[-2000:]}")
        print(f"wss:   {count} HAProxy process(es), maxconn {maxconn:,} each", flush=True)
        return processes, f"wss://127.0.0.1:{port}/"
    raise ValueError(name)


def total(reader, processes):
    return sum(reader(process.pid) for process in processes)


def run_one(name, connections, run, arguments, port, path):
    tag = f"{name}-{connections}-run{run}"
    report_path = os.path.join(RUN_DIR, f"{tag}.json")
    load_before = os.getloadavg()
    processes, url = start_server(name, port, connections, path, arguments, tag)
    try:
        idle_rss = total(rss_kib, processes)
        load_log_path = os.path.join(RUN_DIR, f"load-{tag}.log")
        cpu_start = total(cpu_seconds, processes)
        started = time.monotonic()
        with open(load_log_path, "w") as load_log:
            load = subprocess.Popen(
                pinned(arguments.load_core, [
                    os.path.join(BINARIES, "stadium-load"), "--url", url, "--mode", "fanout", "--connections", str(connections),
                    "--rate", str(arguments.tls_rate if url.startswith("wss") else arguments.rate), "--subject", "/question", "--messages", str(arguments.messages),
                    "--interval-ms", str(arguments.interval_ms), "--handshake-timeout", "60",
                    "--report", report_path] + (["--ca", path("ca.pem")] if url.startswith("wss") else [])
                    + arguments.load_args),
                stdout=load_log, stderr=subprocess.STDOUT)
        # Every connection open: the first probe goes out now, the second --interval-ms later.
        wait_until(lambda: log_says(load_log_path, "connection(s) open after") or load.poll() is not None,
                   3600, "every connection", interval=0.05)
        opened = time.monotonic()
        cpu_open = total(cpu_seconds, processes)
        open_rss = total(rss_kib, processes)
        # Read at a set time after the ramp, between the first and the second probe: a point of
        # the measurement's schedule, not a wait for another process.
        settled_at = opened + arguments.settle_seconds
        while load.poll() is None and time.monotonic() < settled_at:
            time.sleep(0.05)
        settled_rss = total(rss_kib, processes) if load.poll() is None else None
        load_status = load.wait(timeout=3600)
        cpu_end = total(cpu_seconds, processes)
    finally:
        stop_all(processes)
    load_after = os.getloadavg()
    with open(report_path) as file:
        report = json.load(file)
    delivery = report["latencies"].get("delivery", {})
    verdict = report.get("verdict") or {}
    counters = report["counters"]
    connected = counters.get("handshakes", 0)
    connect_cpu = cpu_open - cpu_start
    return {
        "server": name, "connections": connections, "run": run, "connected": connected,
        "connect_seconds": round(opened - started, 2), "connect_cpu_s": round(connect_cpu, 2),
        "connections_per_cpu_second": round(connected / connect_cpu) if connect_cpu > 0 else None,
        "p50_ms": delivery.get("p50_ms"), "p99_ms": delivery.get("p99_ms"), "max_ms": delivery.get("max_ms"),
        "missing": report["loss"]["missing"], "duplicates": report["loss"]["duplicates"],
        "handshake_failures": counters.get("handshake_failures", 0),
        "load_exit": load_status, "passed": verdict.get("passed", False), "failures": verdict.get("failures", []),
        "idle_rss_kib": idle_rss, "open_rss_kib": open_rss, "settled_rss_kib": settled_rss,
        "rss_bytes_per_connection_open": round(open_rss * 1024 / max(1, connections)),
        "rss_bytes_per_connection": round(settled_rss * 1024 / max(1, connections)) if settled_rss else None,
        "growth_bytes_per_connection": round((settled_rss - idle_rss) * 1024 / max(1, connections)) if settled_rss else None,
        "cpu_s_per_million": round((cpu_end - cpu_open) / max(1, report["loss"]["received"]) * 1e6, 2),
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in load_after],
    }


SUMMARISED = ("rss_bytes_per_connection", "rss_bytes_per_connection_open", "growth_bytes_per_connection", "connections_per_cpu_second",
              "connect_seconds", "max_ms", "p50_ms", "p99_ms", "cpu_s_per_million")


def table(summary):
    plain = {entry["connections"]: entry for entry in summary if entry["server"] == "ws"}
    lines = ["| connections | server | runs | whole RSS per connection, settled, B | at open, B | growth per connection, "
             "B | connections per server CPU second | last subscriber, ms | vs ws | CPU s per million deliveries | lost | "
             "verdict |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for entry in sorted(summary, key=lambda entry: (entry["connections"], entry["server"])):
        base = plain.get(entry["connections"])
        ratio = last_ratio(entry, base)
        lines.append(
            f"| {entry['connections']:,} | {entry['server']} | {entry['runs']} | {cell(entry['rss_bytes_per_connection'])} | "
            f"{cell(entry['rss_bytes_per_connection_open'])} | {cell(entry['growth_bytes_per_connection'])} | "
            f"{cell(entry['connections_per_cpu_second'])} | "
            f"{cell(entry['max_ms'])} | {ratio} | {cell(entry['cpu_s_per_million'], 1)} | {entry['missing']} | "
            f"{'passed' if entry['all_passed'] else 'FAILED'} |")
    return "\n".join(lines)


def write_report(out, arguments, revision, versions, sizes, earlier, rows, skipped):
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as file:
        json.dump({
            "command": " ".join(["python3", "Benchmarks/wss.py"] + sys.argv[1:]),
            "commit": revision,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "host": dict(cores=os.cpu_count(), kernel=platform.release(), **versions),
            "pinning": {"server_core": arguments.server_core, "load_core": arguments.load_core},
            "haproxy_config": haproxy_config(arguments.port, arguments.port + 500, proxy_layout(max(sizes))[1]) if versions["haproxy"] else None,
            "haproxy_processes": {size: proxy_layout(size)[0] for size in sizes} if versions["haproxy"] else None,
            "earlier_reports": earlier, "skipped": skipped, "summary": summarise(rows, SUMMARISED), "runs": rows,
        }, file, indent=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", default="100000", help="comma-separated connection counts")
    parser.add_argument("--servers", default="ws,wss,haproxy", help="ws, wss, haproxy")
    parser.add_argument("--runs", type=int, default=3, help="runs per size and server (median and spread)")
    parser.add_argument("--messages", type=int, default=3)
    parser.add_argument("--interval-ms", type=int, default=12000, help="longer than --settle-seconds and one fan-out")
    parser.add_argument("--settle-seconds", type=float, default=8, help="after the ramp, when the settled RSS is read")
    parser.add_argument("--rate", type=int, default=2000, help="connects per second to plain ws")
    parser.add_argument("--tls-rate", type=int, default=300,
                        help="connects per second over TLS: at most what the load's core can verify (its client "
                             "handshakes), or the probes start before every connection is open")
    parser.add_argument("--port", type=int, default=18700)
    parser.add_argument("--server-core", type=int, default=1)
    parser.add_argument("--load-core", type=int, default=0)
    parser.add_argument("--load-args", default="", help="more stadium-load options")
    parser.add_argument("--out", help="JSON report (default: Benchmarks/reports/wss-SIZES-COMMIT.json)")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--first-run", type=int, default=1, help="number of the first run (when adding runs to --also)")
    parser.add_argument("--also", action="append", default=[],
                        help="an earlier report of this script whose runs join the summary (runs added later)")
    parser.add_argument("--bin", help="directory of stadium-gateway and stadium-load (default .build/release; implies --skip-build)")
    arguments = parser.parse_args()
    servers = arguments.servers.split(",")
    sizes = [int(size) for size in arguments.connections.split(",")]
    if arguments.runs < 1 or arguments.settle_seconds * 1000 >= arguments.interval_ms:
        parser.error("--runs must be at least 1 and --settle-seconds shorter than --interval-ms")
    if shutil.which("taskset") is None or os.cpu_count() < 2 or arguments.server_core == arguments.load_core:
        parser.error("pinning needs taskset and two distinct cores (--server-core, --load-core)")
    for tool in ["openssl"] + (["haproxy"] if "haproxy" in servers else []):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is missing (apt-get install -y {tool})")
    arguments.load_args = arguments.load_args.split()
    global BINARIES
    if arguments.bin:
        BINARIES = os.path.abspath(arguments.bin)
    elif not arguments.skip_build:
        for product in ("stadium-gateway", "stadium-load"):
            subprocess.run(["swift", "build", "-c", "release", "--product", product], cwd=ROOT, check=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    revision = commit()
    out = arguments.out or os.path.join(
        ROOT, "Benchmarks/reports", f"wss-{'-'.join(str(size) for size in sizes)}-{(revision or 'unknown')[:7]}.json")
    os.makedirs(RUN_DIR, exist_ok=True)
    haproxy_version = None
    if "haproxy" in servers:
        haproxy_version = subprocess.run(["haproxy", "-v"], capture_output=True, text=True).stdout.splitlines()[0]
    openssl_version = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    rows = []
    earlier = []
    for report in arguments.also:
        with open(report) as file:
            previous = json.load(file)
        rows += previous["runs"]
        earlier.append({"report": os.path.relpath(os.path.abspath(report), ROOT), "command": previous["command"],
                        "commit": previous["commit"]})
    with tempfile.TemporaryDirectory(prefix="stadium-wss-bench-") as directory:
        path = make_certificates(directory)
        versions = {"openssl": openssl_version, "haproxy": haproxy_version}
        skipped = []
        for run in range(arguments.first_run, arguments.first_run + arguments.runs):
            for size in sizes:
                for name in servers:
                    print(f"wss: run {run}: {name} with {size:,} connections ...", flush=True)
                    try:
                        rows.append(run_one(name, size, run, arguments, arguments.port, path))
                    except (Failure, OSError, subprocess.SubprocessError, KeyError, ValueError) as error:
                        print(f"wss:   could not run: {error}", flush=True)
                        skipped.append(f"{name} at {size:,}, run {run}: {error}")
                        arguments.port += 1
                        continue
                    row = rows[-1]
                    print(f"wss:   {row['rss_bytes_per_connection']} B per connection settled "
                          f"({row['rss_bytes_per_connection_open']} at open), {row['connections_per_cpu_second']} "
                          f"connections per CPU second, last {row['max_ms']} ms, lost {row['missing']}, "
                          f"{'passed' if row['passed'] else 'FAILED'}", flush=True)
                    arguments.port += 1
                    # After every run: an interrupted set keeps what it measured.
                    write_report(out, arguments, revision, versions, sizes, earlier, rows, skipped)
    write_report(out, arguments, revision, versions, sizes, earlier, rows, skipped)
    print(table(summarise(rows, SUMMARISED)))
    for note in skipped:
        print(f"wss: skipped {note}")
    for row in rows:
        if not row["passed"]:
            print(f"wss: {row['server']} at {row['connections']:,}, run {row['run']}: stadium-load exited "
                  f"{row['load_exit']}: {'; '.join(row['failures'])}")
    print(f"wss: wrote {os.path.relpath(out, ROOT)}")
    return 0 if all(row["passed"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
