#!/usr/bin/env python3
"""Quiz scoring through the development broker: how fast stadium-processors turns answers into results.

Each run starts its own stadium-kafka (--partitions, 32 by default, so no partition of `answer`
outgrows the development broker's ~100,000 records) and a release stadium-processors with one
question open for the whole run (--round 3600 --answer-window 3600), learns the question's id from
topic `question`, and waits until the processors consume (a `gettop` answered on `top`). Then kcat
produces --answers answers from a prepared file, one distinct user per answer, all to that
question, and the script polls the high watermarks of `result` until every answer has its result,
or none came for --idle-seconds after the broker acknowledged the last answer.

Reported per run: the time until the broker acknowledged every answer (kcat exited), the results on
`result`, the time to the last result (the newest `result` record's Kafka timestamp, set by the
processors' producer, against the wall clock when kcat started), scored per second (results / time
to the last result) and the answers never scored. The clock starts when kcat starts producing.

stadium-processors is pinned to core 1; the broker, kcat and this script to core 0.

    python3 Benchmarks/scoring.py                  # 1,000,000 answers, 3 runs, .build/release
    python3 Benchmarks/scoring.py --bin /path/to/release --answers 200000 --runs 1

Writes the raw report to Benchmarks/reports/scoring-<commit>.json (`+dirty` when the tree has
uncommitted changes). Exit status 0 when every run finished, 1 when one failed (a wait timed out, a
process died), 2 when it could not start (no kcat, no binaries).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "support"))
from stadium_test import Broker, Failure, Process  # noqa: E402
from bench_processes import commit_id  # noqa: E402  the report's commit, "+dirty" as lib.sh writes it
from compare import spread  # noqa: E402  median, min and max

# What a stadium-processors without --cluster reads and writes (QuizProcessor.allTopics).
TOPICS = "question,answer,result,gettop,top,quiz-state"
PROCESSOR_CORE = "1"
KCAT_SECONDS = 60  # any one kcat call but the producer may take this long


def kcat(*arguments, stdin=None, seconds=KCAT_SECONDS, what="kcat"):
    """kcat's output; a Failure when it fails or takes longer than `seconds`."""
    try:
        done = subprocess.run(["kcat", *arguments], input=stdin, capture_output=True, text=True, timeout=seconds)
    except subprocess.TimeoutExpired:
        raise Failure("timed out after %d s waiting for %s" % (seconds, what)) from None
    if done.returncode != 0:
        raise Failure("%s: kcat exited with %d: %s" % (what, done.returncode, done.stderr.strip()))
    return done.stdout


def high_watermarks(bootstrap, topic, partitions):
    """The sum of `topic`'s end offsets: every record ever written to it."""
    query = []
    for partition in range(partitions):
        query += ["-t", "%s:%d:-1" % (topic, partition)]
    total = 0
    seen = 0
    for line in kcat("-Q", "-b", bootstrap, *query, what="the end offsets of " + topic).splitlines():
        # "result [3] offset 31250"
        fields = line.split()
        if len(fields) == 4 and fields[0] == topic and fields[2] == "offset":
            total += int(fields[3])
            seen += 1
    if seen != partitions:
        raise Failure("kcat -Q answered for %d of %d partitions of %s" % (seen, partitions, topic))
    return total


def newest_timestamp_ms(bootstrap, topic):
    """The largest Kafka timestamp among the last records of `topic`'s partitions."""
    output = kcat("-C", "-b", bootstrap, "-t", topic, "-o", "-1", "-e", "-q", "-f", "%T\\n",
                  what="the last records of " + topic)
    stamps = [int(line) for line in output.split() if line.lstrip("-").isdigit()]
    if not stamps:
        raise Failure("no record on %s" % topic)
    return max(stamps)


def open_question(bootstrap):
    """The id of the question the processors published (questions go to partition 0)."""
    value = kcat("-C", "-b", bootstrap, "-t", "question", "-p", "0", "-o", "beginning", "-c", "1", "-q", "-f", "%s\\n",
                 what="the first question on topic question")
    question = json.loads(value)
    if question["deadline_ms"] < (time.time() + 600) * 1000:
        raise Failure("the question closes within 10 minutes: %s" % value.strip())
    return question["id"]


def wait_until_consuming(bootstrap):
    """A gettop answered on `top`: the processors' group consumer has its partitions, so the
    answers produced next are read at once instead of after the broker's group join delay."""
    kcat("-P", "-b", bootstrap, "-t", "gettop", "-K", "\t", stdin='scoring-probe\t{"user_id":"scoring-probe"}\n',
         what="the gettop probe")
    kcat("-C", "-b", bootstrap, "-t", "top", "-o", "beginning", "-c", "1", "-q", "-f", "%k\\n",
         what="the processors to answer a gettop (consuming)")


def write_answers(path, question_id, count):
    """One line a user, key and value split by a tab: user-N answers the open question."""
    head = '\t{"question_id":"%s","answer":' % question_id
    with open(path, "w") as file:
        for start in range(0, count, 100_000):
            file.write("".join("user-%d%s%d}\n" % (n, head, n & 3) for n in range(start, min(count, start + 100_000))))


def one_run(options, number, directory):
    broker = Broker(os.path.join(options.bin, "stadium-kafka"), directory, partitions=options.partitions, topics=TOPICS)
    bootstrap = broker.bootstrap
    processors = producer = None
    try:
        processors = Process(["taskset", "-c", PROCESSOR_CORE, os.path.join(options.bin, "stadium-processors"),
                              "--bootstrap-file", broker.bootstrap_file, "--round", "3600", "--answer-window", "3600"],
                             name="stadium-processors")
        question_id = open_question(bootstrap)
        wait_until_consuming(bootstrap)
        answers_file = os.path.join(directory, "answers")
        write_answers(answers_file, question_id, options.answers)
        load = os.getloadavg()[0]

        producer_log = os.path.join(directory, "kcat-producer.log")  # a file: a pipe could fill and stall kcat
        started = time.time()
        with open(producer_log, "w") as log:
            producer = subprocess.Popen(["kcat", "-P", "-b", bootstrap, "-t", "answer", "-K", "\t", "-X", "linger.ms=5",
                                         "-l", answers_file], stdout=subprocess.DEVNULL, stderr=log)
        exited = []  # when kcat exited: it waits for the broker's acknowledgement of every answer
        threading.Thread(target=lambda: exited.append((producer.wait(), time.time())), daemon=True).start()
        acknowledged = None
        results = 0
        last_change = None  # when the result count last grew, once every answer was acknowledged
        last_print = started
        while True:
            time.sleep(0.5)
            now = time.time()
            if processors.process.poll() is not None:
                raise Failure("stadium-processors exited with %s:\n%s" % (processors.process.poll(), processors.tail()))
            if broker.process.process.poll() is not None:
                raise Failure("stadium-kafka exited:\n" + broker.process.tail())
            if acknowledged is None and exited:
                if producer.returncode != 0:
                    raise Failure("kcat producing answers exited with %d: %s"
                                  % (producer.returncode, open(producer_log).read().strip()[-2000:]))
                acknowledged = exited[0][1] - started
                stored = high_watermarks(bootstrap, "answer", options.partitions)
                if stored != options.answers:
                    raise Failure("the broker holds %d answers, %d were produced" % (stored, options.answers))
                last_change = now
            elif acknowledged is None and now - started > options.produce_seconds:
                raise Failure("timed out after %d s waiting for kcat to produce %d answers"
                              % (options.produce_seconds, options.answers))
            count = high_watermarks(bootstrap, "result", options.partitions)
            if count != results:
                results = count
                if last_change is not None:
                    last_change = now
            if now - last_print >= 1:
                last_print = now
                print("  run %d: %5.1f s: %s, %d of %d results" % (
                    number, now - started,
                    "answers acknowledged after %.1f s" % acknowledged if acknowledged is not None else "producing",
                    results, options.answers), flush=True)
            if acknowledged is not None and results >= options.answers:
                break
            if last_change is not None and now - last_change >= options.idle_seconds:
                break  # the rest are never scored
            if now - started > options.timeout:
                raise Failure("timed out after %d s waiting for results (%d of %d)" % (options.timeout, results, options.answers))

        last_result = newest_timestamp_ms(bootstrap, "result") / 1000 - started if results else None
        return {
            "answers": options.answers,
            "partitions": options.partitions,
            "load_average_1m_at_start": round(load, 2),
            "acknowledged_seconds": round(acknowledged, 3),
            "results": results,
            "last_result_seconds": round(last_result, 3) if last_result is not None else None,
            "scored_per_second": round(results / last_result) if last_result else 0,
            "never_scored": options.answers - results,
        }
    finally:
        if producer is not None and producer.poll() is None:
            producer.kill()
            producer.wait()
        if processors is not None:
            processors.stop()
        broker.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build/release"),
                        help="directory of stadium-kafka and stadium-processors (release build)")
    parser.add_argument("--answers", type=int, default=1_000_000, help="answers per run, one user each")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=32,
                        help="partitions of every topic; the development broker keeps ~100,000 records per partition")
    parser.add_argument("--idle-seconds", type=float, default=5,
                        help="a run ends when no result came for this long after the last answer was acknowledged")
    parser.add_argument("--produce-seconds", type=int, default=300, help="longest wait for kcat to produce every answer")
    parser.add_argument("--timeout", type=int, default=600, help="longest wait for the results of one run")
    options = parser.parse_args()
    if options.answers < 1 or options.runs < 1 or options.partitions < 1:
        parser.error("--answers, --runs and --partitions must be positive")
    missing = [tool for tool in ("kcat", "taskset") if shutil.which(tool) is None]
    missing += [path for path in (os.path.join(options.bin, name) for name in ("stadium-kafka", "stadium-processors"))
                if not os.access(path, os.X_OK)]
    if missing:
        print("scoring: cannot run, missing: %s (binaries: swift build -c release)" % ", ".join(missing), file=sys.stderr)
        return 2
    if (os.cpu_count() or 1) < 2:
        print("scoring: needs 2 cores (processors on core 1, the rest on core 0)", file=sys.stderr)
        return 2
    commit = commit_id()
    os.sched_setaffinity(0, {0})  # the broker and kcat inherit core 0
    runs = []
    for number in range(1, options.runs + 1):
        with tempfile.TemporaryDirectory(prefix="stadium-scoring-") as directory:
            try:
                run = one_run(options, number, directory)
            except Failure as failure:
                print("scoring: run %d FAILED: %s" % (number, failure), file=sys.stderr)
                return 1
        runs.append(run)
        print("run %d: %d answers acknowledged by the broker in %.2f s; %d results on `result`, the last after %s s: "
              "%d scored/s, %d never scored" % (
                  number, run["answers"], run["acknowledged_seconds"], run["results"], run["last_result_seconds"],
                  run["scored_per_second"], run["never_scored"]), flush=True)

    summary = {field: spread([run[field] for run in runs]) for field in
               ("acknowledged_seconds", "results", "last_result_seconds", "scored_per_second", "never_scored")}
    path = os.path.join(ROOT, "Benchmarks", "reports", "scoring-%s.json" % commit)
    with open(path, "w") as file:
        json.dump({"commit": commit, "command": " ".join(["python3", "Benchmarks/scoring.py"] + sys.argv[1:]),
                   "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "runs": runs, "summary": summary},
                  file, indent=1)
    scored = summary["scored_per_second"]
    last = summary["last_result_seconds"]
    print("median %d scored/s (%d-%d), last result after %s s (%s-%s), %d never scored at most; report %s" % (
        scored["median"], scored["min"], scored["max"],
        last["median"] if last else "-", last["min"] if last else "-", last["max"] if last else "-",
        summary["never_scored"]["max"], os.path.relpath(path, ROOT)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
