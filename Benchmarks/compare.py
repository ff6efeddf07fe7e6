#!/usr/bin/env python3
"""Stadium against the C baseline and the SwiftNIO reference under the same load, fairly.

For each run, size and server: start the server pinned to one core, run `stadium-load --mode
fanout` pinned to another (every connection subscribes, one publishes MESSAGES probes, every
connection must get every one), and read the server's memory and CPU from /proc around the
fan-out. Every server gets one core's worth of threads: the C baseline `--threads 1`, the
SwiftNIO reference one event loop, the gateway `--io-threads 1` (one thread; more rings on it only when one ring's
descriptor table cannot hold the size). Runs are interleaved (run 1 of every server and size,
then run 2, ...) so that a slow stretch of the machine does not land on one server only.

The table gives per size and server the median over the runs and the spread (min-max): time
to the last subscriber, whole RSS per connection (the server's resident memory with every
connection open, divided by the connections: the headline) and the growth from no connections
beside it, server CPU seconds per million deliveries (also in loopback deliveries of the server's
core during the fan-out: bench_processes.MachineWatch), and what was lost. The raw rows, the
command and the commit are written to Benchmarks/reports/ (--out).

    python3 Benchmarks/compare.py --sizes 10000,100000 [--runs 3] [--servers stadium,c-baseline,nio]

Servers: stadium-gateway (release build), Benchmarks/CBaseline/c_baseline.c (built here with
gcc), Benchmarks/NIOReference (built with swift build; sizes its descriptors cannot hold are
skipped).
"""

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time

from bench_processes import MachineWatch, in_loopback_deliveries

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_DIR = os.path.join(ROOT, ".run", "compare")
TICKS = os.sysconf("SC_CLK_TCK")
NIO_BINARY = os.path.join(ROOT, "Benchmarks/NIOReference/.build/release/nio-reference")
# Descriptors the SwiftNIO reference keeps beside its connections (listener, epoll, eventfds, logs).
NIO_DESCRIPTOR_RESERVE = 500


def build(servers):
    subprocess.run(["swift", "build", "-c", "release", "--product", "stadium-gateway"], cwd=ROOT, check=True)
    subprocess.run(["swift", "build", "-c", "release", "--product", "stadium-load"], cwd=ROOT, check=True)
    os.makedirs(RUN_DIR, exist_ok=True)
    subprocess.run(["gcc", "-O2", "-o", os.path.join(RUN_DIR, "c-baseline"),
                    os.path.join(ROOT, "Benchmarks/CBaseline/c_baseline.c"), "-luring", "-lcrypto", "-lpthread"], check=True)
    if "nio" in servers:
        subprocess.run(["swift", "build", "-c", "release", "--package-path", os.path.join(ROOT, "Benchmarks/NIOReference")],
                       check=True)


# `stadium-before`: an older build of the gateway (--before-gateway), to show a change's effect.
BEFORE_GATEWAY = None


def server_command(name, port, connections):
    listen = f"127.0.0.1:{port}"
    if name in ("stadium", "stadium-before"):
        binary = BEFORE_GATEWAY if name == "stadium-before" else os.path.join(ROOT, ".build/release/stadium-gateway")
        # One I/O thread for one core; it runs more rings only when one table cannot hold the size.
        # Builds before --io-threads spelled it --rings (then a thread per ring).
        threads = "--rings" if name == "stadium-before" else "--io-threads"
        return [binary, "--listen", listen,
                "--max-connections", str(connections + 1000), "--handshake-timeout", "60", threads, "1"]
    if name == "c-baseline":
        return [os.path.join(RUN_DIR, "c-baseline"), "--listen", listen, "--max-connections", str(connections + 1000),
                "--threads", "1"]
    if name == "nio":
        return [NIO_BINARY, "--listen", listen, "--threads", "1"]
    raise ValueError(name)


def pinned(core, command):
    return command if core is None else ["taskset", "-c", str(core)] + command


def nio_can_hold(connections):
    return connections + NIO_DESCRIPTOR_RESERVE <= resource.getrlimit(resource.RLIMIT_NOFILE)[1]


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
        # Polling a log file the other process writes: there is no event to wait on.
        time.sleep(0.1)


def log_says(path, text):
    with open(path) as file:
        return text in file.read()


def run_one(name, connections, run, arguments, port):
    # This VM's cores each switch between two speeds (bench_processes.MachineWatch): say which each run had.
    with MachineWatch((0, 1)) as watch:
        row = measure_one(name, connections, run, arguments, port)
    row["machine"] = watch.summary()
    # The server's CPU is counted over the fan-out phase, so its core's speed is taken over the same span.
    row["machine_during_fanout"] = watch.summary(row.pop("fanout_started_at"), row.pop("fanout_ended_at"))
    if arguments.server_core is not None:
        # cpu_s_per_million is µs per delivery.
        row["cpu_per_delivery_in_loopback_deliveries"] = in_loopback_deliveries(
            row["cpu_s_per_million"], row["machine_during_fanout"][str(arguments.server_core)])
    return row


def measure_one(name, connections, run, arguments, port):
    tag = f"{name}-{connections}-run{run}"
    log_path = os.path.join(RUN_DIR, f"{tag}.log")
    report_path = os.path.join(RUN_DIR, f"{tag}.json")
    with open(log_path, "w") as log:
        server = subprocess.Popen(pinned(arguments.server_core, server_command(name, port, connections)),
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"{name} to listen", lambda: log_says(log_path, "listening on"), 60)
        idle_rss = rss_kib(server.pid)
        load_log_path = os.path.join(RUN_DIR, f"load-{tag}.log")
        with open(load_log_path, "w") as load_log:
            load = subprocess.Popen(
                pinned(arguments.load_core, [
                    os.path.join(ROOT, ".build/release/stadium-load"), "--url", f"ws://127.0.0.1:{port}/",
                    "--mode", "fanout", "--connections", str(connections), "--rate", str(arguments.rate),
                    "--subject", "/question", "--messages", str(arguments.messages),
                    "--interval-ms", str(arguments.interval_ms), "--report", report_path] + arguments.load_args),
                stdout=load_log, stderr=subprocess.STDOUT)
        # The fan-out phase starts once every connection is open: sample memory and CPU there.
        wait_for("every connection", lambda: log_says(load_log_path, "connection(s) open after")
                 or load.poll() is not None, 3600)
        held_rss = rss_kib(server.pid)
        cpu_before, fanout_started_at = cpu_seconds(server.pid), time.time()
        load_status = load.wait(timeout=3600)
        cpu_after, fanout_ended_at = cpu_seconds(server.pid), time.time()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    with open(report_path) as file:
        report = json.load(file)
    delivery = report["latencies"].get("delivery", {})
    verdict = report.get("verdict") or {}
    return {
        "server": name, "connections": connections, "run": run,
        "connected": report["counters"].get("handshakes", 0),
        "p50_ms": delivery.get("p50_ms"), "p99_ms": delivery.get("p99_ms"), "max_ms": delivery.get("max_ms"),
        "send_lag_max_ms": report["latencies"].get("send_lag", {}).get("max_ms"),
        "missing": report["loss"]["missing"], "duplicates": report["loss"]["duplicates"],
        "load_exit": load_status, "passed": verdict.get("passed", False), "failures": verdict.get("failures", []),
        "idle_rss_kib": idle_rss, "held_rss_kib": held_rss,
        "rss_bytes_per_connection": round(held_rss * 1024 / max(1, connections)),
        "growth_bytes_per_connection": round((held_rss - idle_rss) * 1024 / max(1, connections)),
        "cpu_s_per_million": round((cpu_after - cpu_before) / max(1, report["loss"]["received"]) * 1e6, 2),
        "fanout_started_at": fanout_started_at, "fanout_ended_at": fanout_ended_at,
    }


def spread(values):
    """Median, min and max of the values that were measured (None where a run had none)."""
    measured = [value for value in values if value is not None]
    if not measured:
        return None
    return {"median": statistics.median(measured), "min": min(measured), "max": max(measured)}


SUMMARISED = ("max_ms", "p50_ms", "p99_ms", "rss_bytes_per_connection", "growth_bytes_per_connection",
              "cpu_s_per_million", "cpu_per_delivery_in_loopback_deliveries")


def summarise(rows, figures=SUMMARISED):
    """One entry per (size, server): each figure's median and spread over the runs."""
    groups = {}
    for row in rows:
        groups.setdefault((row["connections"], row["server"]), []).append(row)
    summary = []
    for (connections, server), runs in groups.items():
        entry = {"connections": connections, "server": server, "runs": len(runs),
                 "missing": sum(run["missing"] for run in runs), "duplicates": sum(run["duplicates"] for run in runs),
                 "all_passed": all(run["passed"] for run in runs)}
        for key in figures:
            entry[key] = spread([run.get(key) for run in runs])
        summary.append(entry)
    return summary


def cell(figure, digits=0):
    if figure is None:
        return "-"
    text = f"{figure['median']:,.{digits}f}"
    if figure["min"] != figure["max"]:
        text += f" ({figure['min']:,.{digits}f}-{figure['max']:,.{digits}f})"
    return text


def last_ratio(entry, base):
    """The median time to the last subscriber against the base's, as "1.23x"; "-" without both."""
    if base and base["max_ms"] and entry["max_ms"] and base["max_ms"]["median"]:
        return f"{entry['max_ms']['median'] / base['max_ms']['median']:.2f}x"
    return "-"


def table(summary):
    baseline = {entry["connections"]: entry for entry in summary if entry["server"] == "c-baseline"}
    lines = ["| connections | server | runs | last, ms | last vs C | p99, ms | whole RSS per connection, B | growth per "
             "connection, B | CPU s per million deliveries | in loopback deliveries of the server's core | lost | duplicates "
             "| verdict |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for entry in sorted(summary, key=lambda entry: (entry["connections"], entry["server"])):
        base = baseline.get(entry["connections"])
        ratio = last_ratio(entry, base)
        lines.append(
            f"| {entry['connections']:,} | {entry['server']} | {entry['runs']} | {cell(entry['max_ms'])} | {ratio} | "
            f"{cell(entry['p99_ms'])} | {cell(entry['rss_bytes_per_connection'])} | "
            f"{cell(entry['growth_bytes_per_connection'])} | {cell(entry['cpu_s_per_million'], 1)} | "
            f"{cell(entry.get('cpu_per_delivery_in_loopback_deliveries'), 2)} | {entry['missing']} | {entry['duplicates']} | {'passed' if entry['all_passed'] else 'FAILED'} |")
    return "\n".join(lines)


def commit():
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.strip()
        return head + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def ephemeral_ports():
    """net.ipv4.ip_local_port_range: the ports the kernel gives outgoing connections."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as file:
        low, high = (int(number) for number in file.read().split())
    return range(low, high + 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated connection counts")
    parser.add_argument("--servers", default="stadium,c-baseline", help="stadium, c-baseline, nio, stadium-before (with --before-gateway)")
    parser.add_argument("--runs", type=int, default=3, help="runs per size and server (median and spread)")
    parser.add_argument("--messages", type=int, default=3)
    parser.add_argument("--interval-ms", type=int, default=30000, help="longer than one fan-out at the largest size")
    parser.add_argument("--rate", type=int, default=6000, help="connects per second")
    parser.add_argument("--port", type=int, default=9300,
                        help="first server port, one more per run; all below the ephemeral range (checked)")
    parser.add_argument("--server-core", type=int, default=1, help="core every server is pinned to")
    parser.add_argument("--load-core", type=int, default=0, help="core stadium-load is pinned to")
    parser.add_argument("--no-pin", action="store_true", help="let the scheduler place server and load (not a fair set-up)")
    parser.add_argument("--load-args", default="", help="more stadium-load options, e.g. \"--tolerate-connect-failures 1000\"")
    parser.add_argument("--out", help="JSON report (default: Benchmarks/reports/compare-SIZES-SERVERS.json)")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--before-gateway", help="an older stadium-gateway build, measured as server stadium-before")
    arguments = parser.parse_args()
    global BEFORE_GATEWAY
    BEFORE_GATEWAY = arguments.before_gateway
    if "stadium-before" in arguments.servers.split(",") and not BEFORE_GATEWAY:
        parser.error("server stadium-before needs --before-gateway PATH")
    servers = arguments.servers.split(",")
    sizes = [int(size) for size in arguments.sizes.split(",")]
    if arguments.runs < 1:
        parser.error("--runs must be at least 1")
    arguments.load_args = arguments.load_args.split()
    if arguments.no_pin:
        arguments.server_core = arguments.load_core = None
    elif shutil.which("taskset") is None or os.cpu_count() < 2 or arguments.server_core == arguments.load_core:
        parser.error("pinning needs taskset and two distinct cores (--server-core, --load-core); --no-pin runs unpinned")
    ports = range(arguments.port, arguments.port + arguments.runs * len(sizes) * len(servers))
    ephemeral = ephemeral_ports()
    if ports.start <= ephemeral.stop - 1 and ephemeral.start <= ports.stop - 1:
        parser.error(f"--port: ports {ports.start}-{ports.stop - 1} overlap the ephemeral ports {ephemeral.start}-"
                     f"{ephemeral.stop - 1} (net.ipv4.ip_local_port_range): a load connection could hold one; "
                     "choose a first port outside them")
    out = arguments.out or os.path.join(
        ROOT, "Benchmarks/reports", f"compare-{'-'.join(str(size) for size in sizes)}-{'-'.join(servers)}.json")
    if not arguments.skip_build:
        build(servers)
    os.makedirs(RUN_DIR, exist_ok=True)
    rows, skipped = [], []
    for run in range(1, arguments.runs + 1):
        for size in sizes:
            for name in servers:
                if name == "nio" and not nio_can_hold(size):
                    if run == 1:
                        skipped.append(f"nio at {size:,}: one descriptor per connection, over this host's hard limit")
                    continue
                print(f"compare: run {run} of {arguments.runs}: {name} with {size:,} connections ...", flush=True)
                rows.append(run_one(name, size, run, arguments, arguments.port))
                print(f"compare:   last {rows[-1]['max_ms']} ms, whole RSS {rows[-1]['rss_bytes_per_connection']} B per "
                      f"connection, lost {rows[-1]['missing']}, {'passed' if rows[-1]['passed'] else 'FAILED'}; slow share of "
                      f"the time: core 0 {rows[-1]['machine']['0']['slow_share']}, core 1 "
                      f"{rows[-1]['machine']['1']['slow_share']}", flush=True)
                arguments.port += 1
    summary = summarise(rows)
    print(table(summary))
    for note in skipped:
        print(f"compare: skipped {note}")
    for row in rows:
        if not row["passed"]:
            print(f"compare: {row['server']} at {row['connections']:,}, run {row['run']}: stadium-load exited "
                  f"{row['load_exit']}: {'; '.join(row['failures'])}")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as file:
        json.dump({
            "command": " ".join(["python3", "Benchmarks/compare.py"] + sys.argv[1:]),
            "commit": commit(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "host": {"cores": os.cpu_count(), "kernel": platform.release()},
            "pinning": None if arguments.no_pin else {"server_core": arguments.server_core, "load_core": arguments.load_core},
            "skipped": skipped, "summary": summary, "runs": rows,
        }, file, indent=1)
    print(f"compare: wrote {os.path.relpath(out, ROOT)}")
    return 0 if all(row["passed"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
