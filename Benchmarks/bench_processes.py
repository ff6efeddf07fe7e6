"""What the benchmark scripts that run a stack share: cores, starting and stopping processes,
waiting on their logs and metrics, the report's name. Imported, not run."""

import os
import re
import resource
import subprocess
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Servers on core 1; the load generator, the broker and the processors on core 0.
GATEWAY_CORE, LOAD_CORE = "1", "0"
# stadium-load's progress line: how many connections have subscribed so far.
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
    """A gateway's (or processors') series from /metrics; None when it does not answer."""
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
    """The port a gateway started with --listen 127.0.0.1:0 says it listens on."""
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


def start_broker(binary, bootstrap_path, log_path, partitions, topics=None):
    """stadium-kafka on the load core; returns the process and its bootstrap address."""
    command = [binary, "--partitions", str(partitions), "--bootstrap-file", bootstrap_path]
    process = start(command + (["--topics", topics] if topics else []), log_path, LOAD_CORE)
    wait_until(lambda: os.path.exists(bootstrap_path) and open(bootstrap_path).read().strip(), 30, "the broker")
    return process, open(bootstrap_path).read().strip()


def stop_all(processes):
    """SIGTERM, newest first (the broker last); SIGKILL what has not ended after 30 s."""
    for process in reversed(processes):
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def prepare(kind, report_override):
    """Raises the descriptor limit to the hard one; returns (commit, report path, command line)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    path = report_override or os.path.join(ROOT, "Benchmarks", "reports", "%s-%s.json" % (kind, commit))
    return commit, path


def commit_id():
    """The short commit of the tree, "+dirty" when it has changes (Benchmarks/lib.sh's commit_id)."""
    def git(*arguments):
        return subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def core_busy_seconds(core):
    """CPU seconds `core` has spent busy since boot (/proc/stat: everything but idle and iowait)."""
    with open("/proc/stat") as stat:
        for line in stat:
            fields = line.split()
            if fields[0] == "cpu%s" % core:
                ticks = [int(value) for value in fields[1:]]
                return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    raise RuntimeError("no cpu%s in /proc/stat" % core)


def probe_value(n, scheduled_ms, sent_ms, record_bytes):
    """The fan-out probe stadium-load reads ("n" first), padded to exactly record_bytes."""
    bare = '{"n":%d,"scheduled_ms":%d,"sent_ms":%d,"pad":""}' % (n, scheduled_ms, sent_ms)
    return bare[:-2] + "x" * max(0, record_bytes - len(bare)) + '"}'


LOOPBACK_COST_SOURCE = os.path.join(ROOT, "Benchmarks", "KernelCost", "loopback_cost.c")
LOOPBACK_COST_BINARY = os.path.join(ROOT, ".run", "kernel-cost", "loopback-cost")


def loopback_cost_binary():
    """Benchmarks/KernelCost/loopback_cost.c, compiled into .run/kernel-cost when missing or older than its source."""
    if not os.path.exists(LOOPBACK_COST_BINARY) or os.path.getmtime(LOOPBACK_COST_BINARY) < os.path.getmtime(LOOPBACK_COST_SOURCE):
        os.makedirs(os.path.dirname(LOOPBACK_COST_BINARY), exist_ok=True)
        subprocess.run(["gcc", "-O2", "-Wall", "-o", LOOPBACK_COST_BINARY, LOOPBACK_COST_SOURCE], check=True)
    return LOOPBACK_COST_BINARY


def parse_watch_samples(output):
    """`loopback-cost ... EVERY_MS` output: one (unix seconds, µs) pair per whole line; a line cut
    off by the watcher's stop is dropped."""
    samples = []
    for line in output.splitlines():
        fields = line.split()
        if len(fields) == 2:
            try:
                samples.append((float(fields[0]), float(fields[1])))
            except ValueError:
                continue
    return samples


def in_loopback_deliveries(microseconds, core_summary):
    """`microseconds` of work in loopback deliveries of a core at the time (summarise_watch's mean):
    a figure that does not move with the core's two speeds as far as the work slows as the kernel
    does; None when the watch has no sample of the run."""
    mean = core_summary["mean_us"]
    return round(microseconds / mean, 3) if mean else None


def summarise_watch(samples, since=None, until=None, slow_above_us=3.6):
    """Of the samples taken between `since` and `until` (unix seconds): how many, their mean µs
    per loopback send and receive, and the share above `slow_above_us` (the core's slow speed)."""
    values = [us for at, us in samples if (since is None or at >= since) and (until is None or at <= until)]
    if not values:
        return {"samples": 0, "mean_us": None, "slow_share": None}
    return {"samples": len(values), "mean_us": round(sum(values) / len(values), 3),
            "slow_share": round(sum(1 for us in values if us > slow_above_us) / len(values), 3)}


class MachineWatch:
    """How fast each core of this VM is while a run goes on. Each of this VM's cores runs at one of
    two speeds about 1.5x apart, switching every second or so, independently of the other core
    and of what runs on it; a run's time follows the share of it spent slow. So beside each run,
    one `loopback-cost ... EVERY_MS` per core sends and receives 500 loopback messages of 1 KB
    every 250 ms (about 2 ms of CPU, under 1% of the core) and prints its thread's CPU µs per send
    and receive: about 2.8 when the core is fast, 4.5 when it is slow. Use it as a context manager
    around a run (`with MachineWatch(cores) as watch:`), then read `watch.summary()`."""

    SLOW_ABOVE_US = 3.6  # between the two speeds' levels

    def __init__(self, cores, connections=50, rounds=10, message_bytes=1024, every_ms=250):
        binary = loopback_cost_binary()
        self.watchers = {
            str(core): subprocess.Popen(
                ["taskset", "-c", str(core), binary, str(connections), str(rounds), str(message_bytes), str(every_ms)],
                stdout=subprocess.PIPE, text=True)
            for core in cores}
        self.samples = {}

    def __enter__(self):
        return self

    def __exit__(self, *failure):
        self.stop()

    def stop(self):
        """Stops watching (once; later calls do nothing)."""
        for core, watcher in self.watchers.items():
            if core in self.samples:
                continue
            watcher.terminate()
            output, _ = watcher.communicate()
            self.samples[core] = parse_watch_samples(output)

    def summary(self, since=None, until=None):
        """Per core, summarise_watch of its samples between `since` and `until`."""
        self.stop()
        return {core: summarise_watch(samples, since, until, self.SLOW_ABOVE_US) for core, samples in self.samples.items()}
