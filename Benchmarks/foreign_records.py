#!/usr/bin/env python3
"""What a gateway spends on records for players it does not hold.

Every gateway of a cluster consumes every record (no consumer group: seq must be the same
offset everywhere), so each one reads and drops the results of the other instances' players.
This starts the development broker (8 partitions) and one gateway (release build, pinned to
core 1, no client connected), produces --records keyed records of --bytes with distinct keys
(one per player) with kcat on core 0, and reports the gateway's CPU time per record, its whole
RSS before and after, and how many subjects it still holds (subjects nobody subscribes to are
forgotten past --max-idle-subjects, so memory stays bounded however many players there are).

    python3 Benchmarks/foreign_records.py --records 100000 --runs 3

Writes the raw report to Benchmarks/reports/foreign-records-<commit>.json. To compare builds,
their runs interleaved on one broker: --gateway LABEL=PATH for each (e.g. a build of an older commit).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "catchup"))
import catchup_test as clients  # noqa: E402  the broker, gateway and kcat helpers
from bench_processes import prepare  # noqa: E402  the commit and the report's path
from compare import cpu_seconds, rss_kib  # noqa: E402


def one_run(broker, binary, records, size, run):
    gateway = clients.Gateway(binary, broker.bootstrap, prefix=("taskset", "-c", "1"))
    try:
        consumed_before = gateway.metric('stadium_kafka_records_consumed_total{topic="result"}')
        rss_before = rss_kib(gateway.process.pid)
        cpu_before = cpu_seconds(gateway.process.pid)
        started = time.monotonic()
        clients.produce(broker.bootstrap, "result", [("r%d-p%d" % (run, n), clients.value(n, size)) for n in range(records)])
        clients.wait_until(
            "the gateway to consume every record", 300,
            lambda: gateway.metric('stadium_kafka_records_consumed_total{topic="result"}') - consumed_before >= records)
        took = time.monotonic() - started
        cpu = cpu_seconds(gateway.process.pid) - cpu_before
        return {
            "records": records, "record_bytes": size, "seconds": round(took, 2),
            "gateway_cpu_seconds": round(cpu, 2), "cpu_microseconds_per_record": round(cpu / records * 1e6, 2),
            "rss_kib_before": rss_before, "rss_kib_after": rss_kib(gateway.process.pid),
            "subjects_held": int(gateway.metric("stadium_subjects")),
        }
    finally:
        gateway.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build/release"))
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--bytes", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--gateway", action="append", default=[], metavar="LABEL=PATH",
                        help="a gateway build to measure (repeat to compare builds, their runs interleaved); "
                             "default: this checkout's, labelled with its commit")
    parser.add_argument("--report", help="default: Benchmarks/reports/foreign-records-<commit>.json")
    options = parser.parse_args()
    commit, report_path = prepare("foreign-records", options.report)
    gateways = [tuple(g.split("=", 1)) for g in options.gateway] or [(commit, os.path.join(options.bin, "stadium-gateway"))]
    for label, path in gateways:
        if not os.access(path, os.X_OK):
            parser.error("no gateway binary at %s (for %s)" % (path, label))
    os.sched_setaffinity(0, {0})
    runs = {label: [] for label, _ in gateways}
    with tempfile.TemporaryDirectory() as directory:
        # 8 partitions keep each within the development broker's ~5 MB per partition.
        broker = clients.Broker(os.path.join(options.bin, "stadium-kafka"), directory, partitions=8)
        try:
            serial = 0  # every run's keys are new players, whichever build it measures
            for run in range(options.runs):
                for label, path in gateways:
                    result = one_run(broker, path, options.records, options.bytes, serial)
                    serial += 1
                    runs[label].append(result)
                    print("%s run %d: %d records of %d B for players not held here: %.2f us of gateway CPU per record, "
                          "RSS %d -> %d KiB, %d subjects held" % (
                              label, run + 1, options.records, options.bytes, result["cpu_microseconds_per_record"],
                              result["rss_kib_before"], result["rss_kib_after"], result["subjects_held"]), flush=True)
        finally:
            broker.stop()
    summaries = {}
    for label, measured in runs.items():
        per_record = [r["cpu_microseconds_per_record"] for r in measured]
        summaries[label] = {"median_cpu_microseconds_per_record": statistics.median(per_record),
                            "min": min(per_record), "max": max(per_record)}
    report = {"commit": commit, "command": " ".join(["Benchmarks/foreign_records.py"] + sys.argv[1:])}
    if len(gateways) == 1:
        report.update(runs=runs[gateways[0][0]], summary=summaries[gateways[0][0]])
    else:
        report.update(runs=runs, summary=summaries)
    with open(report_path, "w") as file:
        json.dump(report, file, indent=1)
    for label, summary in summaries.items():
        print("%s: median %.2f us per record (%.2f-%.2f)" % (
            label, summary["median_cpu_microseconds_per_record"], summary["min"], summary["max"]))
    print("report " + os.path.relpath(report_path, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
