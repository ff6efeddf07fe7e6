#!/usr/bin/env python3
"""Bursts from Kafka to subscribers that read: how long until the last subscriber has the last
record, and whether anything was lost or anyone closed.

For each size (subscribers x burst records) and run: a fresh gateway (release build, default
options but --auth none) pinned to core 1, the development broker, kcat and the readers
(raw-socket clients on one Python thread, the catch-up test's) on core 0. All subscribers
subscribe to /feed; kcat produces the burst of 1 KB records at once; the clock runs from the
first produce to the last record read by the last subscriber. Also reports the gateway's CPU
seconds and its whole RSS at the end.

    python3 Benchmarks/burst.py --subscribers 10,100,1000 --bursts 1000,10000 --runs 3

Writes the raw report to Benchmarks/reports/burst-<commit>.json (or --report).
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "catchup"))
import catchup_test as clients  # noqa: E402  the test's broker, gateway, kcat and reader helpers
from compare import cpu_seconds, rss_kib  # noqa: E402  the server's CPU and memory from /proc


def one_run(broker, binary, subscribers, records):
    gateway = clients.Gateway(binary, broker.bootstrap, prefix=("taskset", "-c", "1"))
    try:
        fleet = clients.open_readers(gateway.port, subscribers, lambda i: ["/feed"])
        cpu_before = cpu_seconds(gateway.process.pid)
        started = time.monotonic()
        clients.produce(broker.bootstrap, "feed", [(None, clients.value(n, 1024)) for n in range(records)])
        try:
            fleet.wait(lambda: all(r.count("/feed") >= records or r.closed for r in fleet.readers),
                       600, "the burst at every subscriber")
            timed_out = False
        except clients.Failure:
            timed_out = True
        received = [r.count("/feed") for r in fleet.readers]
        last = max((r.last_message_at or started) for r in fleet.readers)
        result = {
            "subscribers": subscribers, "records": records, "record_bytes": 1024,
            "seconds_to_last": round(last - started, 3),
            "deliveries_per_second": round(sum(received) / max(last - started, 1e-9)),
            "lost": subscribers * records - sum(received),
            "closed": sum(1 for r in fleet.readers if r.closed or r.close_code is not None),
            "timed_out": timed_out,
            "gateway_cpu_seconds": round(cpu_seconds(gateway.process.pid) - cpu_before, 2),
            "gateway_rss_kib": rss_kib(gateway.process.pid),
        }
        fleet.stop()
        return result
    finally:
        gateway.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build/release"))
    parser.add_argument("--gateway", help="the stadium-gateway to measure (default: the one in --bin), e.g. an older build")
    parser.add_argument("--subscribers", default="10,100,1000")
    parser.add_argument("--bursts", default="1000,10000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--report")
    options = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    report_path = options.report or os.path.join(ROOT, "Benchmarks", "reports", "burst-%s.json" % commit)
    os.sched_setaffinity(0, {0})  # readers, kcat and the broker on core 0; the gateway on core 1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    gateway = options.gateway or os.path.join(options.bin, "stadium-gateway")
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        broker = clients.Broker(os.path.join(options.bin, "stadium-kafka"), directory)
        try:
            for subscribers in map(int, options.subscribers.split(",")):
                for records in map(int, options.bursts.split(",")):
                    runs = []
                    for run in range(options.runs):
                        result = one_run(broker, gateway, subscribers, records)
                        runs.append(result)
                        print("%5d subscribers x %6d records, run %d: last %.2f s, %d deliveries/s, lost %d, closed %d, "
                              "gateway CPU %.1f s, RSS %d KiB" % (
                                  subscribers, records, run + 1, result["seconds_to_last"], result["deliveries_per_second"],
                                  result["lost"], result["closed"], result["gateway_cpu_seconds"], result["gateway_rss_kib"]),
                              flush=True)
                    times = [r["seconds_to_last"] for r in runs]
                    rows.append({"subscribers": subscribers, "records": records, "runs": runs,
                                 "median_seconds_to_last": statistics.median(times), "min": min(times), "max": max(times),
                                 "lost": sum(r["lost"] for r in runs), "closed": sum(r["closed"] for r in runs)})
        finally:
            broker.stop()
    with open(report_path, "w") as file:
        json.dump({"commit": commit, "command": " ".join(sys.argv), "gateway": os.path.relpath(gateway, ROOT),
                   "rows": rows}, file, indent=1)
    print("\n| subscribers | burst (1 KB records) | last subscriber has the last record, median (min-max) | lost | closed |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| %s | %s | %.2f s (%.2f-%.2f) | %d | %d |" % (
            f"{row['subscribers']:,}", f"{row['records']:,}", row["median_seconds_to_last"], row["min"], row["max"],
            row["lost"], row["closed"]))
    print("report: " + os.path.relpath(report_path, ROOT))
    return 0 if all(row["lost"] == 0 and row["closed"] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
