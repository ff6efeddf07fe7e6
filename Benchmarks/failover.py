#!/usr/bin/env python3
"""Failover: a gateway holding N quiz players is killed (-9) mid-round; how long until every
player is back on the other gateway, and did anyone miss anything.

Per run: the development broker and stadium-processors (short rounds) and stadium-load on core
0; two gateways, A and B, both pinned to core 1. stadium-load plays N bots with `--url A,B`:
every bot starts on A and, when A goes away, reconnects to B and resubscribes with `since`.
Once every bot is subscribed and a round has been played, A is killed with SIGKILL halfway
through a round. Measured from the kill, on B's /metrics every 100 ms: the time until B holds
all N connections, and until it holds all 3N subscriptions (each bot's /question,
/result/<bot>, /top/<bot>, resumed with since). The run goes on for two more rounds; then
stadium-load's own per-player accounting says whether any question, acknowledgement or result
was lost or duplicated (its verdict, with no tolerance).

    python3 Benchmarks/failover.py --players 50000 [--runs 3]

Clients hold the list of gateways themselves here: HAProxy in front (as `make cluster-test` does
with 2,000 players) would need two descriptors per player, and a process on this machine may
hold 20,000. Writes Benchmarks/reports/failover-<commit>.json (or --report).
"""

import argparse
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GATEWAY_CORE, LOAD_CORE = "1", "0"
SUBSCRIBED = re.compile(r"subscribed (\d+)")


class Failure(Exception):
    pass


def wait_until(predicate, seconds, what, interval=0.1):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise Failure("timed out waiting for " + what)
        # Polling another process's log or metrics: there is no event to wait on.
        time.sleep(interval)


def metric(port, series):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as response:
            for line in response.read().decode().splitlines():
                if line.startswith(series + " "):
                    return float(line.split()[-1])
    except OSError:
        return None
    return 0.0


def start(command, log_path, core):
    return subprocess.Popen(["taskset", "-c", core] + command, stdout=open(log_path, "w"), stderr=subprocess.STDOUT)


def listening_port(process, log_path):
    found = {}

    def check():
        if process.poll() is not None:
            raise Failure("%s exited: %s" % (log_path, open(log_path).read()[-2000:]))
        match = re.search(r"listening on ws://[\d.]+:(\d+)/", open(log_path).read())
        if match:
            found["port"] = int(match.group(1))
        return "port" in found

    wait_until(check, 30, "a gateway to listen")
    return found["port"]


def one_run(options, players, run, directory):
    binary = lambda name: os.path.join(options.bin, name)  # noqa: E731
    bootstrap_path = os.path.join(directory, "bootstrap-%d" % run)
    processes = []
    try:
        broker = start([binary("stadium-kafka"), "--partitions", "16", "--bootstrap-file", bootstrap_path],
                       os.path.join(directory, "kafka.log"), LOAD_CORE)
        processes.append(broker)
        wait_until(lambda: os.path.exists(bootstrap_path) and open(bootstrap_path).read().strip(), 30, "the broker")
        bootstrap = open(bootstrap_path).read().strip()
        processors = start([binary("stadium-processors"), "--brokers", bootstrap, "--round", str(options.round),
                            "--answer-window", str(options.round // 2), "--start-delay", "5"],
                           os.path.join(directory, "processors.log"), LOAD_CORE)
        processes.append(processors)
        gateways = []
        for name in ("a", "b"):
            log_path = os.path.join(directory, "gateway-%s.log" % name)
            process = start([binary("stadium-gateway"), "--listen", "127.0.0.1:0", "--auth", "none", "--brokers", bootstrap,
                             "--max-connections", str(players + 1000), "--handshake-timeout", "60"], log_path, GATEWAY_CORE)
            processes.append(process)
            gateways.append((process, listening_port(process, log_path)))
        (gateway_a, port_a), (gateway_b, port_b) = gateways
        for port in (port_a, port_b):
            wait_until(lambda: metric(port, "stadium_kafka_up") == 1, 60, "the gateways' Kafka connection")
        load_log = os.path.join(directory, "load.log")
        report_path = os.path.join(directory, "load-%d.json" % run)
        duration = options.warmup_rounds * options.round + 3 * options.round
        load = start([binary("stadium-load"), "--url", "ws://127.0.0.1:%d/,ws://127.0.0.1:%d/" % (port_a, port_b),
                      "--players", str(players), "--duration", str(duration), "--think-seconds", str(options.round // 4),
                      "--handshake-timeout", "60", "--progress-every", "1", "--report", report_path,
                      # Every player loses its connection once, on purpose: a failed connect or a
                      # disconnect is expected; a lost or duplicated message is not.
                      "--tolerate-connect-failures", str(3 * players)], load_log, LOAD_CORE)
        processes.append(load)
        wait_until(lambda: any(int(m) >= players for m in SUBSCRIBED.findall(open(load_log).read())),
                   600, "every player to subscribe", interval=0.5)
        # Kill halfway through a round, after the warm-up rounds: answers are in flight.
        questions_before = open(os.path.join(directory, "processors.log")).read().count("question published")
        wait_until(lambda: open(os.path.join(directory, "processors.log")).read().count("question published")
                   >= questions_before + options.warmup_rounds, options.round * (options.warmup_rounds + 2), "the warm-up rounds")
        time.sleep(options.round / 2)  # the schedule's own pause: halfway into the round, not a synchronisation
        held_by_a = metric(port_a, "stadium_connections")
        killed_at = time.monotonic()
        gateway_a.send_signal(signal.SIGKILL)
        gateway_a.wait()
        all_connected = all_subscribed = None
        deadline = killed_at + options.give_up_seconds
        while time.monotonic() < deadline and all_subscribed is None:
            connections = metric(port_b, "stadium_connections") or 0
            subscriptions = metric(port_b, "stadium_subscriptions") or 0
            now = time.monotonic() - killed_at
            if all_connected is None and connections >= players:
                all_connected = round(now, 2)
            if subscriptions >= 3 * players:
                all_subscribed = round(now, 2)
            time.sleep(0.1)
        status = load.wait(timeout=duration + 300)
        with open(report_path) as file:
            report = json.load(file)
        verdict = report.get("verdict") or {}
        summary = report.get("players") or {}
        return {
            "players": players, "held_by_killed_gateway": held_by_a,
            "seconds_to_all_connected": all_connected, "seconds_to_all_resubscribed": all_subscribed,
            "recovered_from_kafka": metric(port_b, "stadium_messages_recovered_total"),
            "replayed_from_memory": metric(port_b, "stadium_messages_replayed_total"),
            "load_status": status, "verdict": verdict, "player_summary": summary,
        }
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build/release"))
    parser.add_argument("--players", type=int, default=50000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--round", type=int, default=20, help="seconds between questions (answers close after half)")
    parser.add_argument("--warmup-rounds", type=int, default=2)
    parser.add_argument("--give-up-seconds", type=int, default=120)
    parser.add_argument("--report")
    options = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    report_path = options.report or os.path.join(ROOT, "Benchmarks", "reports", "failover-%s.json" % commit)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    runs = []
    with tempfile.TemporaryDirectory() as directory:
        for run in range(options.runs):
            result = one_run(options, options.players, run, directory)
            runs.append(result)
            verdict = result["verdict"]
            print("run %d: %s players, the killed gateway held %s; all reconnected after %s s, all resubscribed after %s s; "
                  "verdict %s (lost %s, duplicates %s, connection failures %s)" % (
                      run + 1, f"{options.players:,}", result["held_by_killed_gateway"], result["seconds_to_all_connected"],
                      result["seconds_to_all_resubscribed"], "passed" if verdict.get("passed") else "FAILED",
                      verdict.get("lost"), verdict.get("duplicates"), verdict.get("connection_failures")), flush=True)
    command = " ".join(["python3", os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    with open(report_path, "w") as file:
        json.dump({"commit": commit, "command": command, "runs": runs}, file, indent=1)
    times = [r["seconds_to_all_resubscribed"] for r in runs if r["seconds_to_all_resubscribed"] is not None]
    if times:
        print("all players back with since: median %.2f s (%.2f-%.2f) over %d run(s)" % (
            statistics.median(times), min(times), max(times), len(runs)))
    print("report: " + os.path.relpath(report_path, ROOT))
    passed = all(r["verdict"].get("passed") and r["seconds_to_all_resubscribed"] is not None for r in runs)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
