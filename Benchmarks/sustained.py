#!/usr/bin/env python3
"""The peers' benchmark shape, sustained: many clients, each subscribed to one of 10,000 keys,
every key updated once a second through Kafka with a 512-byte record, for minutes.

Per size (clients) and run: a fresh development broker, a fresh gateway pinned to core 1
(`--io-threads 1`: one thread) and, on core 0, `stadium-load --mode fanout --keys
KEYS --external-publisher` holding the clients (client i subscribes to /sustained/k<i % KEYS>)
and kcat producing the records straight into Kafka (topic `sustained`, key k<i>), paced by
this script: record n of key i is due at start + n s + i/KEYS s, and carries that due time, so
latency counts from the schedule (coordinated omission corrected), through Kafka, the gateway
and the client's socket. The gateway only consumes and fans out; every client gets one message
a second, so deliveries per second = clients.

Reported per size: deliveries per second, p50/p99/p99.9/max delivery latency over the whole run
(and per 10-second window in the raw report), gateway CPU per delivery and the share of its
core, the share of the other core (broker, kcat, producer, clients) that was busy, lost and duplicated. The highest rate with p99 under 50 ms is what the figures compare.
Each run's report also says how fast each core was meanwhile (bench_processes.MachineWatch: this
VM's cores each switch between two speeds about 1.5x apart): per core, the mean µs of a loopback
send and receive and the share of the time it was slow.

    python3 Benchmarks/sustained.py --clients 20000,40000,60000 [--seconds 120] [--runs 3]

Writes the raw report to Benchmarks/reports/sustained-<commit>.json (or --report).
"""

import argparse
import json
import os
import subprocess
import sys
import shutil
import threading
import time

from bench_processes import (GATEWAY_CORE, LOAD_CORE, ROOT, SUBSCRIBED, MachineWatch, core_busy_seconds, listening_port,
                             metric, prepare, probe_value, start, start_broker, wait_until)
from compare import cpu_seconds, rss_kib, spread  # the server's CPU and memory from /proc; median and spread


def start_gateway(binary, bootstrap, clients, log_path):
    process = start([binary, "--listen", "127.0.0.1:0", "--auth", "none", "--brokers", bootstrap, "--topics", "sustained",
                     "--io-threads", "1", "--max-connections", str(clients + 1000), "--handshake-timeout", "60"],
                    log_path, GATEWAY_CORE)
    port = listening_port(process, log_path)
    wait_until(lambda: metric(port, "stadium_kafka_up") == 1, 30, "the gateway's Kafka connection")
    return process, port


def produce(bootstrap, keys, rounds, record_bytes, outcome):
    """Writes every key once a second for `rounds` seconds through kcat, each record at its due time."""
    kcat = subprocess.Popen(
        ["taskset", "-c", LOAD_CORE, "kcat", "-P", "-b", bootstrap, "-t", "sustained", "-K", "\t", "-X", "linger.ms=1",
         # A produce retried after a slow acknowledgement must not write the record twice.
         "-X", "enable.idempotence=true"],
        stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    start = time.time() + 0.5
    total = keys * rounds
    sent = 0
    latest_lag = 0.0
    while sent < total:
        now = time.time()
        due_through = min(total, int((now - start) * keys) + 1)
        if due_through > sent:
            lines = []
            for index in range(sent, due_through):
                n, key = divmod(index, keys)
                due_ms = int((start + index / keys) * 1000)
                lines.append("k%d\t%s\n" % (key, probe_value(n, due_ms, int(time.time() * 1000), record_bytes)))
            kcat.stdin.write("".join(lines).encode())
            kcat.stdin.flush()
            latest_lag = max(latest_lag, now - (start + sent / keys))
            sent = due_through
        else:
            time.sleep(max(0.0, start + sent / keys - now))
    kcat.stdin.close()
    kcat.wait(timeout=120)
    outcome.update(started=start, finished=time.time(), produced=sent, kcat_status=kcat.returncode,
                   producer_max_lag_seconds=round(latest_lag, 3))


def duplicates_in_kafka(bootstrap, since_ms):
    """Records the producer wrote twice since since_ms (same key and due time): a duplicate a client
    counts is the gateway's only when Kafka itself holds none."""
    consumed = subprocess.run(
        ["taskset", "-c", LOAD_CORE, "kcat", "-C", "-b", bootstrap, "-t", "sustained", "-o", "beginning", "-e", "-q",
         "-f", "%k\t%s\n"], capture_output=True, text=True, timeout=300, check=True)
    seen, duplicates = set(), 0
    for line in consumed.stdout.splitlines():
        key, _, value = line.partition("\t")
        due_ms = json.loads(value)["scheduled_ms"]
        if due_ms < since_ms:
            continue
        if (key, due_ms) in seen:
            duplicates += 1
        seen.add((key, due_ms))
    return duplicates


def one_run(options, clients, run, directory):
    # A broker of its own: a record of an earlier run (the same keys) would reach this run's clients
    # as a retained message, counted as a duplicate, and its last probe would end their run early.
    tag = "%d-%d" % (clients, run)
    broker, bootstrap = start_broker(os.path.join(options.bin, "stadium-kafka"), os.path.join(directory, "bootstrap-" + tag),
                                     os.path.join(directory, "kafka-%s.log" % tag), options.partitions, topics="sustained")
    try:
        return measure(options, bootstrap, clients, tag, directory)
    finally:
        broker.terminate()
        broker.wait(timeout=30)


def measure(options, bootstrap, clients, tag, directory):
    gateway, port = start_gateway(options.gateway, bootstrap, clients, os.path.join(directory, "gateway-%s.log" % tag))
    report_path = os.path.join(directory, "load-%s.json" % tag)
    load_log_path = os.path.join(directory, "load-%s.log" % tag)
    try:
        load = subprocess.Popen(
            ["taskset", "-c", LOAD_CORE, os.path.join(options.bin, "stadium-load"), "--url", "ws://127.0.0.1:%d/" % port,
             "--mode", "fanout", "--connections", str(clients), "--subject", "/sustained", "--keys", str(options.keys),
             "--external-publisher", "--messages", str(options.seconds), "--progress-every", "1", "--report", report_path],
            stdout=open(load_log_path, "w"), stderr=subprocess.STDOUT)
        wait_until(lambda: load.poll() is None and any(
            int(m) >= clients for m in SUBSCRIBED.findall(open(load_log_path).read())), 300, "every client to subscribe")
        rss_subscribed = rss_kib(gateway.pid)
        outcome = {}
        cpu_before = cpu_seconds(gateway.pid)
        # The other core holds the broker, kcat, this producer and every client socket: is it the limit?
        load_core_before, load_core_since = core_busy_seconds(LOAD_CORE), time.monotonic()
        producer = threading.Thread(target=produce, args=(bootstrap, options.keys, options.seconds, options.record_bytes, outcome))
        producer.start()
        # Where a slow run loses its time: records Kafka holds that the gateway has not read yet.
        lag = []
        while producer.is_alive():
            lag.append(metric(port, "stadium_kafka_consumer_lag") or 0)
            producer.join(timeout=1)
        status = load.wait(timeout=300)
        cpu = cpu_seconds(gateway.pid) - cpu_before
        load_core_busy = core_busy_seconds(LOAD_CORE) - load_core_before
        load_core_seconds = time.monotonic() - load_core_since
        with open(report_path) as file:
            report = json.load(file)
    finally:
        if 'load' in locals() and load.poll() is None:
            load.kill()
        gateway.terminate()
        gateway.wait(timeout=30)
    kafka_duplicates = duplicates_in_kafka(bootstrap, int(outcome["started"] * 1000))
    loss = report.get("loss") or {}
    delivery = report["latencies"].get("delivery", {})
    seconds = outcome["finished"] - outcome["started"]
    received = loss.get("received", 0)
    return {
        "clients": clients, "keys": options.keys, "record_bytes": options.record_bytes, "seconds": options.seconds,
        "load_status": status, "kcat_status": outcome["kcat_status"], "produced": outcome["produced"],
        "producer_max_lag_seconds": outcome["producer_max_lag_seconds"],
        "deliveries_per_second": round(received / seconds), "received": received,
        "lost": loss.get("missing"), "duplicates": loss.get("duplicates"), "duplicates_in_kafka": kafka_duplicates,
        "p50_ms": delivery.get("p50_ms"), "p99_ms": delivery.get("p99_ms"), "p999_ms": delivery.get("p999_ms"),
        "max_ms": delivery.get("max_ms"),
        "gateway_cpu_seconds": round(cpu, 2), "gateway_core_share": round(cpu / seconds, 3),
        "gateway_cpu_us_per_delivery": round(cpu / max(received, 1) * 1e6, 2),
        "load_core_share": round(load_core_busy / load_core_seconds, 3),
        "gateway_rss_kib_subscribed": rss_subscribed,
        "gateway_consumer_lag_max": max(lag, default=0),
        "windows": report.get("delivery_windows"),
    }


def median_and_spread(runs, field):
    """compare.py's spread as (median, min, max), the report's and the table's shape."""
    summary = spread([r[field] for r in runs])
    return (summary["median"], summary["min"], summary["max"]) if summary else (None, None, None)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build/release"))
    parser.add_argument("--gateway", help="the stadium-gateway to measure (default: the one in --bin)")
    parser.add_argument("--clients", default="20000,40000,60000")
    parser.add_argument("--keys", type=int, default=10000)
    parser.add_argument("--clients-per-key", type=int,
                        help="instead of --keys: clients / this many keys per size (the peers ran 100 clients a key)")
    parser.add_argument("--seconds", type=int, default=120, help="how long each key is updated, once a second")
    parser.add_argument("--record-bytes", type=int, default=512)
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--report")
    options = parser.parse_args()
    options.gateway = options.gateway or os.path.join(options.bin, "stadium-gateway")
    commit, report_path = prepare("sustained", options.report)
    rows = []
    # Every run's gateway log, load log and load report stay here for a run that needs explaining.
    directory = os.path.join(ROOT, ".run", "sustained")
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    for clients in map(int, options.clients.split(",")):
        runs = []
        if options.clients_per_key:
            options.keys = max(1, clients // options.clients_per_key)
        for run in range(options.runs):
            with MachineWatch((LOAD_CORE, GATEWAY_CORE)) as watch:
                result = one_run(options, clients, run, directory)
            result["machine"] = watch.summary()
            runs.append(result)
            print("%6d clients, run %d: %d deliveries/s, p50 %s ms, p99 %s ms, p99.9 %s ms, max %s ms, lost %s, "
                  "duplicates %s, gateway %.2f µs/delivery (%.0f%% of its core), load core %.0f%% busy" % (
                      clients, run + 1, result["deliveries_per_second"], result["p50_ms"], result["p99_ms"],
                      result["p999_ms"], result["max_ms"], result["lost"], result["duplicates"],
                      result["gateway_cpu_us_per_delivery"], 100 * result["gateway_core_share"],
                      100 * result["load_core_share"]), flush=True)
            print("        producer at most %.3f s behind its schedule; gateway's Kafka consumer at most %d records behind; "
                  "records written twice into Kafka %d; core 0 slow %.0f%% of the time, core 1 %.0f%%" % (
                      result["producer_max_lag_seconds"], result["gateway_consumer_lag_max"],
                      result["duplicates_in_kafka"], 100 * (result["machine"][LOAD_CORE]["slow_share"] or 0),
                      100 * (result["machine"][GATEWAY_CORE]["slow_share"] or 0)), flush=True)
        row = {"clients": clients, "runs": runs}
        for field in ("deliveries_per_second", "p50_ms", "p99_ms", "p999_ms", "max_ms", "gateway_cpu_us_per_delivery",
                      "gateway_core_share", "load_core_share"):
            row[field] = median_and_spread(runs, field)
        row["lost"] = sum(r["lost"] or 0 for r in runs)
        row["duplicates"] = sum(r["duplicates"] or 0 for r in runs)
        row["duplicates_in_kafka"] = sum(r["duplicates_in_kafka"] for r in runs)
        rows.append(row)
    command = " ".join(["python3", os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    with open(report_path, "w") as file:
        json.dump({"commit": commit, "command": command, "rows": rows}, file, indent=1)

    def cell(triple, digits=1):
        median, low, high = triple
        return "n/a" if median is None else "%.*f (%.*f-%.*f)" % (digits, median, digits, low, digits, high)

    print("\n| clients | keys | deliveries/s | p50 ms | p99 ms | p99.9 ms | max ms | gateway µs/delivery | gateway core | load core busy | lost | dup | written twice into Kafka |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %d | %d |" % (
            f"{row['clients']:,}", f"{row['runs'][0]['keys']:,}", cell(row["deliveries_per_second"], 0), cell(row["p50_ms"]), cell(row["p99_ms"]),
            cell(row["p999_ms"]), cell(row["max_ms"]), cell(row["gateway_cpu_us_per_delivery"], 2),
            cell(row["gateway_core_share"], 2), cell(row["load_core_share"], 2), row["lost"], row["duplicates"],
            row["duplicates_in_kafka"]))
    print("report: " + os.path.relpath(report_path, ROOT))
    print("each run's logs and load report: " + os.path.relpath(directory, ROOT))
    return 0 if all(row["lost"] == 0 and row["duplicates"] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
