#!/usr/bin/env python3
"""Stadium against the C baseline (and the SwiftNIO reference, when built) under the same load.

For each server and each size: start the server, run `stadium-load --mode fanout` (every
connection subscribes, one publishes MESSAGES probes, every connection must get every one),
and read the server's memory and CPU from /proc around the run. Prints one table with the
ratios to the C baseline and writes it as JSON.

    python3 Benchmarks/compare.py --sizes 10000,100000 [--messages 3] [--interval-ms 30000]

Servers: stadium-gateway (release build), Benchmarks/CBaseline/c_baseline.c (built here with
gcc), and Benchmarks/NIOReference (if its package exists; built with swift build).
"""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_DIR = os.path.join(ROOT, ".run", "compare")
TICKS = os.sysconf("SC_CLK_TCK")


def build(servers):
    subprocess.run(["swift", "build", "-c", "release", "--product", "stadium-gateway"], cwd=ROOT, check=True)
    subprocess.run(["swift", "build", "-c", "release", "--product", "stadium-load"], cwd=ROOT, check=True)
    os.makedirs(RUN_DIR, exist_ok=True)
    subprocess.run(["gcc", "-O2", "-o", os.path.join(RUN_DIR, "c-baseline"),
                    os.path.join(ROOT, "Benchmarks/CBaseline/c_baseline.c"), "-luring", "-lcrypto", "-lpthread"], check=True)
    if "nio" in servers:
        subprocess.run(["swift", "build", "-c", "release", "--package-path", os.path.join(ROOT, "Benchmarks/NIOReference")],
                       check=True)


def server_command(name, port, connections):
    listen = f"127.0.0.1:{port}"
    if name == "stadium":
        return [os.path.join(ROOT, ".build/release/stadium-gateway"), "--listen", listen,
                "--max-connections", str(connections + 1000), "--handshake-timeout", "60"]
    if name == "c-baseline":
        # As many threads as cores, like the gateway's rings: the same cores for both.
        return [os.path.join(RUN_DIR, "c-baseline"), "--listen", listen, "--max-connections", str(connections + 1000),
                "--threads", str(os.cpu_count())]
    if name == "nio":
        return [os.path.join(ROOT, "Benchmarks/NIOReference/.build/release/nio-reference"), "--listen", listen]
    raise ValueError(name)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as file:
        for line in file:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def wait_for(description, predicate, seconds):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {description}")
        time.sleep(0.1)


def run_one(name, connections, arguments, port):
    log_path = os.path.join(RUN_DIR, f"{name}-{connections}.log")
    report_path = os.path.join(RUN_DIR, f"{name}-{connections}.json")
    with open(log_path, "w") as log:
        server = subprocess.Popen(server_command(name, port, connections), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"{name} to listen", lambda: "listening on" in open(log_path).read(), 60)
        idle_rss = rss_kib(server.pid)
        load_log_path = os.path.join(RUN_DIR, f"load-{name}-{connections}.log")
        with open(load_log_path, "w") as load_log:
            load = subprocess.Popen(
                [os.path.join(ROOT, ".build/release/stadium-load"), "--url", f"ws://127.0.0.1:{port}/",
                 "--mode", "fanout", "--connections", str(connections), "--rate", str(arguments.rate),
                 "--subject", "/question", "--messages", str(arguments.messages),
                 "--interval-ms", str(arguments.interval_ms), "--report", report_path],
                stdout=load_log, stderr=subprocess.STDOUT)
        # The fan-out phase starts once every connection is open: sample memory and CPU there.
        wait_for("every connection", lambda: "connection(s) open after" in open(load_log_path).read()
                 or load.poll() is not None, 3600)
        held_rss = rss_kib(server.pid)
        cpu_before = cpu_seconds(server.pid)
        load.wait(timeout=3600)
        cpu_after = cpu_seconds(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    with open(report_path) as file:
        report = json.load(file)
    delivery = report["latencies"].get("delivery", {})
    received = report["loss"]["received"]
    return {
        "server": name, "connections": connections,
        "connected": report["counters"].get("handshakes", 0),
        "p50_ms": delivery.get("p50_ms"), "p99_ms": delivery.get("p99_ms"), "max_ms": delivery.get("max_ms"),
        "missing": report["loss"]["missing"],
        "bytes_per_connection": round((held_rss - idle_rss) * 1024 / max(1, connections)),
        "rss_mib": round(held_rss / 1024),
        "cpu_s_per_million": round((cpu_after - cpu_before) / max(1, received) * 1e6, 2),
    }


def print_table(rows):
    baseline = {row["connections"]: row for row in rows if row["server"] == "c-baseline"}
    header = f"{'server':<12}{'connections':>12}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}{'x C max':>9}" \
             f"{'missing':>9}{'B/conn':>9}{'CPU s/M':>9}{'x C CPU':>9}"
    print(header)
    for row in rows:
        base = baseline.get(row["connections"])
        def ratio(key):
            if not base or not base.get(key) or row.get(key) is None:
                return "-"
            return f"{row[key] / base[key]:.2f}"
        print(f"{row['server']:<12}{row['connections']:>12,}{row['p50_ms'] or 0:>10.0f}{row['p99_ms'] or 0:>10.0f}"
              f"{row['max_ms'] or 0:>10.0f}{ratio('max_ms'):>9}{row['missing']:>9}{row['bytes_per_connection']:>9}"
              f"{row['cpu_s_per_million']:>9}{ratio('cpu_s_per_million'):>9}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated connection counts")
    parser.add_argument("--servers", default="stadium,c-baseline", help="stadium, c-baseline, nio")
    parser.add_argument("--messages", type=int, default=3)
    parser.add_argument("--interval-ms", type=int, default=30000, help="longer than one fan-out at the largest size")
    parser.add_argument("--rate", type=int, default=6000, help="connects per second")
    parser.add_argument("--port", type=int, default=18950)
    parser.add_argument("--out", default=os.path.join(ROOT, "Benchmarks/reports/compare.json"))
    parser.add_argument("--skip-build", action="store_true")
    arguments = parser.parse_args()
    servers = arguments.servers.split(",")
    if not arguments.skip_build:
        build(servers)
    os.makedirs(RUN_DIR, exist_ok=True)
    rows = []
    for size in [int(size) for size in arguments.sizes.split(",")]:
        for name in servers:
            print(f"compare: {name} with {size:,} connections ...", flush=True)
            rows.append(run_one(name, size, arguments, arguments.port))
            arguments.port += 1
    print_table(rows)
    os.makedirs(os.path.dirname(arguments.out), exist_ok=True)
    with open(arguments.out, "w") as file:
        json.dump(rows, file, indent=1)
    print(f"compare: wrote {arguments.out}")


if __name__ == "__main__":
    sys.exit(main())
