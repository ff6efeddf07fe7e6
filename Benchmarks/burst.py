#!/usr/bin/env python3
"""Bursts from Kafka to subscribers that read: how long until the last subscriber has the last
record, and whether anything was lost or anyone closed.

For each size (subscribers x burst records) and run: a fresh gateway (release build, default
options but --auth none) pinned to core 1; the development broker (one for the whole script),
kcat and the readers on core 0. All subscribers subscribe to /feed; once every one has its ok,
kcat produces the burst of 1 KB records at once (topic `feed`, no key: partition 0, subject
/feed). Each record is a fan-out probe, {"n":i,"scheduled_ms":T,"sent_ms":T,"pad":"x..."} padded
to exactly 1,024 bytes, where T is the wall-clock ms at which the clock starts: just before the
records are handed to kcat (kcat's start-up is inside the time, as it always was). The clock
runs from there to the last record read by the last subscriber.

Readers (--reader):
  stadium-load (the default): `stadium-load --mode fanout --external-publisher --subject /feed
      --messages RECORDS --connections SUBSCRIBERS` on io_uring. It subscribes only; the script
      waits for its progress line to say every connection is subscribed, then produces. Its
      delivery latency counts from each probe's scheduled_ms, so its max is "the last subscriber
      has the last record" (wall-clock ms, kept to three significant digits); lost and
      duplicates come from its per-connection tally, closed from its disconnects (connections
      the gateway dropped). Probes scheduled before it started are ignored (none are: T is
      after every subscription).
  python: the catch-up test's raw-socket readers on one Python thread (Tests/catchup), as
      before: they were the bottleneck (the gateway's core 35-45% busy), kept for comparison.

Per run also: deliveries per second (deliveries received / seconds to the last); the gateway's
CPU seconds over the burst, its busy fraction (CPU seconds / seconds to the last; 1.0 is its
whole core) and CPU µs per delivery; its whole RSS when the last record arrived; the reader's CPU
seconds, busy fraction and µs per delivery (stadium-load's process; with --reader python this
script's own, which also feeds kcat); and how busy core 0 was (/proc/stat: broker, kcat, reader
and anything else on it). A gateway well below 1.0 with core 0 near 1.0 means the reader's side
bounded the run, not the gateway. CPU and RSS are sampled every 10 ms on a thread (CPU from the
scheduler's per-thread ns counters, /proc/PID/task/*/schedstat) and read at the moment of the
last record: stadium-load says when that was only after it has closed its connections, which
the gateway also spends CPU on. And the kernel's TcpExt counters that say TCP ran short of
memory during the run (TCPMemoryPressures, PruneCalled, TCPRcvCollapsed, RcvPruned, from
/proc/net/netstat, machine-wide): a burst parked in the readers' socket buffers can pass tcp_mem's
pressure mark, and then both sides pay to collapse and prune queues. And how fast each core of the
VM was during the run (bench_processes.MachineWatch: each core runs at one of two speeds about 1.5x
apart, switching every second or so; a watcher per core times a few loopback sends and receives
every 250 ms): the mean µs of a loopback delivery and the share of samples in the slow speed, and
two figures divided by that mean, which do not move with the cores' speeds if the work slows as
the kernel does: the time to the last record per delivery in loopback deliveries of core 0 (the
reader's core, which bounds these runs), and the gateway's CPU per delivery in loopback deliveries
of core 1.

stadium-load receives into 16 KB buffers (--receive-buffer-bytes; its own default is 4 KB), so a
burst of 1 KB records arrives in a quarter of the completions.

The development broker keeps about 5 MB per partition: a burst of more than about 4,000 records
of 1 KB into one partition is deleted before a consumer that is behind reads it.

    python3 Benchmarks/burst.py --subscribers 10,100,1000 --bursts 1000,4000 --runs 3 [--reader python]

Writes the raw report to Benchmarks/reports/burst-<commit>.json (--reader python:
burst-python-<commit>.json; or --report); stadium-load's logs and reports of each run stay in
.run/burst. Exit status 0 when nothing was lost, duplicated or closed in any run.
"""

import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "catchup"))
import catchup_test as clients  # noqa: E402  the test's broker, gateway, kcat and reader helpers
from bench_processes import SUBSCRIBED, MachineWatch, core_busy_seconds, in_loopback_deliveries, prepare, probe_value  # noqa: E402  stadium-load's progress line; shared helpers
from compare import cpu_seconds, rss_kib, spread  # noqa: E402  the server's CPU and memory from /proc

RECORD_BYTES = 1024
RUN_DIR = os.path.join(ROOT, ".run", "burst")
# Kernels without CONFIG_SCHED_INFO have no schedstat: CPU then comes in clock ticks.
SCHEDSTAT = os.path.exists("/proc/self/schedstat")


def process_cpu_seconds(pid):
    """CPU seconds of every thread of `pid` from the scheduler's ns counters; /proc/PID/stat's
    clock ticks (10 ms) are too coarse for a burst of a tenth of a second."""
    if not SCHEDSTAT:
        return cpu_seconds(pid)
    total = 0
    tasks = os.listdir("/proc/%d/task" % pid)
    if not tasks:
        raise ProcessLookupError(pid)
    for task in tasks:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, task)) as file:
                total += int(file.read().split()[0])
        except FileNotFoundError:  # a thread that ended between the listing and the read
            pass
    return total / 1e9


Sample = collections.namedtuple("Sample", "wall gateway_cpu gateway_rss_kib reader_cpu load_core_busy")


class Sampler:
    """The gateway's CPU seconds and RSS, the reader's CPU seconds and how busy core 0 (broker,
    kcat, readers) has been, every 10 ms on a thread from before the produce until `stop`: a run
    reads them at the moment its last record arrived."""

    def __init__(self, gateway_pid, reader_pid, interval=0.01):
        self.gateway_pid = gateway_pid
        self.reader_pid = reader_pid
        self.interval = interval
        self.samples = [self.sample()]
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def sample(self):
        return Sample(time.time(), process_cpu_seconds(self.gateway_pid), rss_kib(self.gateway_pid),
                      process_cpu_seconds(self.reader_pid), core_busy_seconds(0))

    def run(self):
        while self.running:
            time.sleep(self.interval)  # a sampling period, not a wait for the system under test
            try:
                self.samples.append(self.sample())
            except OSError:  # stadium-load has exited: the burst is over
                return

    def stop(self):
        self.running = False
        self.thread.join()

    def at(self, wall):
        """The first sample at or after `wall` (about one period late), else the last. Its reader CPU is
        the highest seen so far: a thread that has ended (stadium-load's, as it stops) leaves no schedstat."""
        index = next((i for i, s in enumerate(self.samples) if s.wall >= wall), len(self.samples) - 1)
        return self.samples[index]._replace(reader_cpu=max(s.reader_cpu for s in self.samples[:index + 1]))


def produce_burst(broker, records):
    """Starts the clock and produces the burst; returns (wall, monotonic) of the start."""
    started_wall, started = time.time(), time.monotonic()
    scheduled_ms = int(started_wall * 1000)
    clients.produce(broker.bootstrap, "feed", [(None, probe_value(n, scheduled_ms, scheduled_ms, RECORD_BYTES)) for n in range(records)])
    return started_wall, started


def run_python(broker, gateway, subscribers, records):
    fleet = clients.open_readers(gateway.port, subscribers, lambda i: ["/feed"])
    try:
        sampler = Sampler(gateway.process.pid, os.getpid())
        started_wall, started = produce_burst(broker, records)
        try:
            fleet.wait(lambda: all(r.count("/feed") >= records or r.closed for r in fleet.readers),
                       600, "the burst at every subscriber")
            timed_out = False
        except clients.Failure:
            timed_out = True
        sampler.stop()
        received = [r.count("/feed") for r in fleet.readers]
        last = max((r.last_message_at or started) for r in fleet.readers)
        return sampler, started_wall, last - started, {
            "received": sum(received), "lost": subscribers * records - sum(received), "duplicates": None,
            "closed": sum(1 for r in fleet.readers if r.closed or r.close_code is not None), "timed_out": timed_out,
        }
    finally:
        fleet.stop()


def run_stadium_load(options, broker, gateway, subscribers, records, tag):
    log_path = os.path.join(RUN_DIR, "load-%s.log" % tag)
    report_path = os.path.join(RUN_DIR, "load-%s.json" % tag)
    with open(log_path, "w") as log:
        load = subprocess.Popen(
            [options.load, "--url", "ws://127.0.0.1:%d/" % gateway.port, "--mode", "fanout",
             "--connections", str(subscribers), "--subject", "/feed", "--external-publisher",
             "--messages", str(records), "--progress-every", "0.2", "--report", report_path]
            # 4 KB is stadium-load's own default: said only when it differs, so older builds run too.
            + (["--receive-buffer-bytes", str(options.receive_buffer_bytes)] if options.receive_buffer_bytes != 4096 else []),
            stdout=log, stderr=subprocess.STDOUT)
    try:
        def everyone_subscribed():
            if load.poll() is not None:
                raise clients.Failure("stadium-load exited %s before subscribing:\n%s" % (
                    load.returncode, open(log_path).read()[-2000:]))
            return any(int(m) >= subscribers for m in SUBSCRIBED.findall(open(log_path).read()))
        clients.wait_until("stadium-load's %d subscriptions" % subscribers, 120, everyone_subscribed)
        sampler = Sampler(gateway.process.pid, load.pid)
        started_wall, _ = produce_burst(broker, records)
        try:
            # It exits once every probe reached every connection (or none came for 5 s).
            status = load.wait(timeout=600)
            timed_out = False
        except subprocess.TimeoutExpired:
            load.kill()
            status = load.wait()
            timed_out = True
        sampler.stop()
    finally:
        if load.poll() is None:
            load.kill()
            load.wait()
    try:
        with open(report_path) as file:
            report = json.load(file)
    except (OSError, ValueError):  # killed after the timeout: no report, everything counted lost
        report = {}
    loss = report.get("loss") or {}
    delivery = report.get("latencies", {}).get("delivery", {})
    counters = report.get("counters", {})
    verdict = report.get("verdict") or {}
    seconds = delivery["max_ms"] / 1000 if "max_ms" in delivery else sampler.samples[-1].wall - started_wall
    return sampler, started_wall, seconds, {
        "received": loss.get("received", 0), "lost": loss.get("missing", subscribers * records),
        "duplicates": loss.get("duplicates"), "closed": counters.get("disconnects", 0), "timed_out": timed_out,
        "load_status": status, "connection_failures": verdict.get("connection_failures"),
        "never_connected": verdict.get("never_connected"), "stale_probes": counters.get("stale_probes"),
        "delivery_p50_ms": delivery.get("p50_ms"), "delivery_p99_ms": delivery.get("p99_ms"),
    }


# Kernel counters that say TCP ran short of memory (a burst parked in 1,000 sockets' buffers can
# pass tcp_mem's pressure mark): both sides then pay to collapse and prune queues.
TCP_MEMORY_COUNTERS = ("TCPMemoryPressures", "PruneCalled", "TCPRcvCollapsed", "RcvPruned")


def tcp_memory_counters():
    """TcpExt counters of /proc/net/netstat named in TCP_MEMORY_COUNTERS (since boot)."""
    with open("/proc/net/netstat") as netstat:
        lines = netstat.read().splitlines()
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], map(int, values.split()[1:])))
            return {name: table.get(name, 0) for name in TCP_MEMORY_COUNTERS}
    return {name: 0 for name in TCP_MEMORY_COUNTERS}


def one_run(options, broker, subscribers, records, run):
    with MachineWatch((0, 1)) as watch:
        gateway = clients.Gateway(options.gateway, broker.bootstrap, prefix=("taskset", "-c", "1"))
        counters_before = tcp_memory_counters()
        try:
            if options.reader == "python":
                sampler, started_wall, seconds, outcome = run_python(broker, gateway, subscribers, records)
            else:
                sampler, started_wall, seconds, outcome = run_stadium_load(
                    options, broker, gateway, subscribers, records, "%d-%d-%d" % (subscribers, records, run))
        finally:
            gateway.stop()
    counters_after = tcp_memory_counters()
    # The watch samples every 250 ms: the window is widened so the shortest runs have a sample too.
    machine = watch.summary(since=started_wall - 0.5, until=started_wall + seconds + 0.5)
    before, last = sampler.samples[0], sampler.at(started_wall + seconds)
    cpu = last.gateway_cpu - before.gateway_cpu
    reader_cpu = last.reader_cpu - before.reader_cpu
    # The clock starts just after the first sample; the core counters are in ticks, over the samples' own span.
    load_core_busy = (last.load_core_busy - before.load_core_busy) / max(last.wall - before.wall, 1e-9)
    return {
        "reader": options.reader, "subscribers": subscribers, "records": records, "record_bytes": RECORD_BYTES,
        "seconds_to_last": round(seconds, 3),
        "deliveries_per_second": round(outcome["received"] / max(seconds, 1e-9)),
        **outcome,
        "gateway_cpu_seconds": round(cpu, 3),
        "gateway_cpu_busy": round(cpu / max(seconds, 1e-9), 3),
        "gateway_cpu_us_per_delivery": round(cpu / max(outcome["received"], 1) * 1e6, 2),
        "gateway_rss_kib": last.gateway_rss_kib,
        "reader_cpu_seconds": round(reader_cpu, 3),
        "reader_cpu_busy": round(reader_cpu / max(seconds, 1e-9), 3),
        "reader_cpu_us_per_delivery": round(reader_cpu / max(outcome["received"], 1) * 1e6, 2),
        "load_core_busy": round(load_core_busy, 3),
        "tcp_memory_counters": {name: counters_after[name] - counters_before[name] for name in TCP_MEMORY_COUNTERS},
        "machine": machine,
        # The time to the last record per delivery against core 0 (the reader's, which bounds
        # these runs); the gateway's CPU per delivery against its own core 1.
        "time_per_delivery_in_loopback_deliveries": in_loopback_deliveries(
            seconds / max(outcome["received"], 1) * 1e6, machine["0"]),
        "gateway_cpu_per_delivery_in_loopback_deliveries": in_loopback_deliveries(
            cpu / max(outcome["received"], 1) * 1e6, machine["1"]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build/release"))
    parser.add_argument("--gateway", help="the stadium-gateway to measure (default: the one in --bin), e.g. an older build")
    parser.add_argument("--load", help="the stadium-load that reads (default: the one in --bin), e.g. an older build")
    parser.add_argument("--reader", choices=("stadium-load", "python"), default="stadium-load",
                        help="who reads: stadium-load (default) or the catch-up test's Python readers (one thread)")
    parser.add_argument("--subscribers", default="10,100,1000")
    parser.add_argument("--bursts", default="1000,4000",
                        help="records of 1 KB per burst (the development broker keeps about 5 MB per partition: at most 4,000)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--receive-buffer-bytes", type=int, default=16384,
                        help="stadium-load's receive buffers: 16 KB takes a burst of 1 KB records in a quarter of 4 KB's completions")
    parser.add_argument("--report")
    options = parser.parse_args()
    commit, report_path = prepare("burst" if options.reader == "stadium-load" else "burst-python", options.report)
    os.sched_setaffinity(0, {0})  # readers, kcat and the broker on core 0 (children inherit it); the gateway on core 1
    options.gateway = options.gateway or os.path.join(options.bin, "stadium-gateway")
    options.load = options.load or os.path.join(options.bin, "stadium-load")
    if options.reader == "stadium-load":
        shutil.rmtree(RUN_DIR, ignore_errors=True)
        os.makedirs(RUN_DIR)
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        broker = clients.Broker(os.path.join(options.bin, "stadium-kafka"), directory)
        try:
            for subscribers in map(int, options.subscribers.split(",")):
                for records in map(int, options.bursts.split(",")):
                    runs = []
                    for run in range(options.runs):
                        result = one_run(options, broker, subscribers, records, run)
                        runs.append(result)
                        print("%5d subscribers x %5d records, run %d (%s): last %.3f s, %d deliveries/s, lost %d, "
                              "duplicates %s, closed %d%s; gateway CPU %.2f s (%.0f%% busy, %.2f µs/delivery), RSS %d KiB; "
                              "reader CPU %.2f s (%.0f%% busy, %.2f µs/delivery); core 0 %.0f%% busy; "
                              "machine: a loopback delivery %.2f µs on core 0 (slow %.0f%% of the time), %.2f on core 1 (%.0f%%)" % (
                                  subscribers, records, run + 1, options.reader, result["seconds_to_last"],
                                  result["deliveries_per_second"], result["lost"], result["duplicates"],
                                  result["closed"], ", TIMED OUT" if result["timed_out"] else "",
                                  result["gateway_cpu_seconds"], 100 * result["gateway_cpu_busy"],
                                  result["gateway_cpu_us_per_delivery"], result["gateway_rss_kib"],
                                  result["reader_cpu_seconds"], 100 * result["reader_cpu_busy"],
                                  result["reader_cpu_us_per_delivery"], 100 * result["load_core_busy"],
                                  result["machine"]["0"]["mean_us"] or 0, 100 * (result["machine"]["0"]["slow_share"] or 0),
                                  result["machine"]["1"]["mean_us"] or 0, 100 * (result["machine"]["1"]["slow_share"] or 0)),
                              flush=True)
                        pressure = {name: n for name, n in result["tcp_memory_counters"].items() if n}
                        if pressure:
                            print("      TCP ran short of memory during this run: " +
                                  ", ".join("%s +%d" % item for item in pressure.items()), flush=True)
                    times = [r["seconds_to_last"] for r in runs]
                    rows.append({"subscribers": subscribers, "records": records, "runs": runs,
                                 "median_seconds_to_last": statistics.median(times), "min": min(times), "max": max(times),
                                 "deliveries_per_second": spread([r["deliveries_per_second"] for r in runs]),
                                 **{field: spread([r[field] for r in runs]) for field in (
                                     "gateway_cpu_busy", "gateway_cpu_us_per_delivery", "reader_cpu_busy",
                                     "reader_cpu_us_per_delivery", "load_core_busy", "time_per_delivery_in_loopback_deliveries",
                                     "gateway_cpu_per_delivery_in_loopback_deliveries")},
                                 **{"machine_core%s_%s" % (core, field): spread([r["machine"][core][field] or 0 for r in runs])
                                    for core in ("0", "1") for field in ("mean_us", "slow_share")},
                                 "lost": sum(r["lost"] for r in runs), "duplicates": sum(r["duplicates"] or 0 for r in runs),
                                 "closed": sum(r["closed"] for r in runs),
                                 "timed_out": sum(1 for r in runs if r["timed_out"]),
                                 "load_failed": sum(1 for r in runs if r.get("load_status", 0) != 0)})
        finally:
            broker.stop()
    command = " ".join(["python3", os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    with open(report_path, "w") as file:
        json.dump({"commit": commit, "command": command, "reader": options.reader,
                   "receive_buffer_bytes": options.receive_buffer_bytes,
                   "gateway": os.path.relpath(options.gateway, ROOT), "load": os.path.relpath(options.load, ROOT),
                   "rows": rows}, file, indent=1)
    print("\nreader: %s" % options.reader)
    print("| subscribers | burst (1 KB records) | last subscriber has the last record, median (min-max) "
          "| deliveries/s, median | gateway core busy, median (min-max) | gateway µs/delivery | reader busy | core 0 busy "
          "| machine: a loopback delivery, µs on core 0 / core 1 (slow share) "
          "| time per delivery in core 0's loopback deliveries, median (min-max) | lost | dup | closed |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        busy = row["gateway_cpu_busy"]
        machine = "%.2f / %.2f (%.0f%% / %.0f%%)" % (
            row["machine_core0_mean_us"]["median"], row["machine_core1_mean_us"]["median"],
            100 * row["machine_core0_slow_share"]["median"], 100 * row["machine_core1_slow_share"]["median"])
        relative = row["time_per_delivery_in_loopback_deliveries"]
        print("| %s | %s | %.3f s (%.3f-%.3f) | %s | %.0f%% (%.0f-%.0f%%) | %.2f | %.0f%% | %.0f%% | %s | %.2f (%.2f-%.2f) "
              "| %d | %s | %d |" % (
            f"{row['subscribers']:,}", f"{row['records']:,}", row["median_seconds_to_last"], row["min"], row["max"],
            f"{round(row['deliveries_per_second']['median']):,}", 100 * busy["median"], 100 * busy["min"],
            100 * busy["max"], row["gateway_cpu_us_per_delivery"]["median"], 100 * row["reader_cpu_busy"]["median"],
            100 * row["load_core_busy"]["median"], machine, relative["median"], relative["min"], relative["max"], row["lost"], "n/a" if options.reader == "python" else row["duplicates"],
            row["closed"]))
    print("report: " + os.path.relpath(report_path, ROOT))
    if options.reader == "stadium-load":
        print("each run's stadium-load log and report: " + os.path.relpath(RUN_DIR, ROOT))
    return 0 if all(row["lost"] == 0 and row["duplicates"] == 0 and row["closed"] == 0 and not row["timed_out"]
                    and not row["load_failed"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
