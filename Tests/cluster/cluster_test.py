#!/usr/bin/env python3
"""A gateway of the cluster dies mid-round, then a processors instance; nothing is lost or repeated.

Starts the cluster with scripts/cluster.sh (broker, processors, two gateways and HAProxy,
each on a network namespace host of its own) on short rounds, and 2,000 stadium-load players
through the HAProxy URL. Once every player is subscribed and one whole round has passed,
gateway gw1 is killed with SIGKILL while the next round's answers are arriving on it. HAProxy
holds its players' reconnects back (gw2 drained) until the next question is out, so each of
them misses it; then they reconnect to gw2 and resume with `since`. From stadium-load's JSON
report (rounds, and its own accounting of each player), the gateways' and processors' metrics
and HAProxy's runtime API:

- before the kill both gateways held players (leastconn), and the round before the kill and
  the two that open once everyone is back reached every player, with every answer
  acknowledged and scored;
- the round of the kill reached every player, and at least as many of its answers were scored
  as were acknowledged (a pub whose connection died unacknowledged may be lost; the report
  counts per round, not which answer, so an unacknowledged one that was scored could hide an
  acknowledged one that was not: the other rounds, checked exactly, make that unlikely);
- the question missed while away reached every one of gw1's players by resume (gw2 resent at
  least one message to each), every answer to it acknowledged and scored;
- no player missed a question, no acknowledgement is missing outside the kill round, no gap,
  nothing delivered twice (per player: questions, acks and results), no answer scored twice.

Then the processors instance that publishes the questions (two run, `--cluster`, sharing the
answer partitions) is killed with SIGKILL while a round's answers are being scored. The other
one takes over its partitions (restoring their scores from `quiz-scores`) and the question
sequence: every round is published once, by one instance, none skipped. That round and the two
after it reach every player with every answer scored. Finally
the test's own accounting, from `answer` and `result` read back with kcat: every answer in
Kafka has exactly one result, and each player's results add up, one after the other, to the
totals the processors wrote (nothing scored twice or lost across the kill, every total continues).

    python3 Tests/cluster/cluster_test.py --bin .build/debug

Exit status 0 when all hold, 1 on a failed check, 2 when the cluster could not run.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from stadium_test import Failure, wait_until  # noqa: E402  the tests' shared helpers

ROUND_SECONDS = 6
ANSWER_WINDOW_SECONDS = 4
THINK_SECONDS = 3
# The killed gateway must have taken this many of the kill round's answers first: mid-round, while
# answers come in and their results (scored at once) go out, some to players that are away.
ANSWERS_BEFORE_KILL = 50


def metric(url, name):
    """One unlabelled value from a Prometheus text page."""
    with urllib.request.urlopen(url, timeout=5) as response:
        for line in response.read().decode().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == name:
                return float(parts[1])
    raise Failure("%s has no metric %s" % (url, name))


class Balancer:
    """HAProxy's runtime API on the cluster's unix socket."""

    def __init__(self, path):
        self.path = path

    def command(self, text):
        client = socket.socket(socket.AF_UNIX)
        client.settimeout(5)
        client.connect(self.path)
        client.sendall(text.encode() + b"\n")
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
        client.close()
        return answer.decode()

    def set_state(self, server, state):
        """ready, drain (no new connections; those it has go on) or maint."""
        answer = self.command("set server gateways/%s state %s" % (server, state))
        if answer.strip():
            raise Failure("HAProxy refused to set %s %s: %s" % (server, state, answer.strip()))

    def servers(self):
        """{server: (status, current sessions)} of the gateways backend."""
        lines = self.command("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        servers = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(",")))
            if row.get("pxname") == "gateways" and row.get("svname", "").startswith("gw"):
                servers[row["svname"]] = (row["status"], int(row["scur"] or 0))
        return servers


class Processors:
    """The questions the processors instances published, in order, from their logs."""

    def __init__(self, log_paths):
        self.log_paths = log_paths

    def published(self):
        """Every question record any instance published, as the instances logged them."""
        published = []
        for path in self.log_paths:
            with open(path, errors="replace") as log:
                for line in log:
                    if line.rstrip().endswith("question published"):
                        match = re.search(r"value=(\{.*\}) \[", line)
                        if match:
                            published.append(json.loads(match.group(1)))
        return published

    def questions(self):
        """The questions published so far, oldest first (a round published twice counts once here)."""
        by_round = {question["round"]: question for question in self.published()}
        return [by_round[number] for number in sorted(by_round)]

    def sequence_failures(self):
        """One generator at a time: each round published once, rounds 1, 2, 3, ... with none skipped."""
        rounds = sorted(question["round"] for question in self.published())
        if rounds != list(range(1, len(rounds) + 1)):
            return ["questions were published for rounds %s, not once each from 1 on" % rounds]
        return []

    @staticmethod
    def generator_turns(path):
        """How often the instance logging to `path` became the question generator, and whether it is now."""
        turns, current = 0, False
        with open(path, errors="replace") as log:
            for line in log:
                line = line.rstrip()
                if line.endswith("] question generator"):
                    turns, current = turns + 1, True
                elif line.endswith("] no longer the question generator"):
                    current = False
        return turns, current

    def wait_for(self, count, seconds):
        """The first `count` questions, once published."""
        return wait_until("question %d" % count, seconds,
                          lambda: (lambda questions: questions if len(questions) >= count else None)(self.questions()))


class Players:
    """stadium-load in players mode; its progress lines are read as they come."""

    PROGRESS = re.compile(r"open (\d+)/(\d+) .*subscribed (\d+)")

    def __init__(self, binary, url, players, report_path, output_path):
        self.players = players
        self.lines = []
        self.lock = threading.Lock()
        self.output = open(output_path, "w")
        self.process = subprocess.Popen(
            [binary, "--url", url, "--players", str(players), "--names", "load-{i}",
             "--think-seconds", str(THINK_SECONDS), "--gettop-every", "0", "--bind-sources", "off",
             "--progress-every", "0.5", "--report", report_path,
             # The failover's reconnects, and the kill round's unacknowledged answers (an ack and a
             # result each), are judged below; a duplicate is never tolerated.
             "--tolerate-connect-failures", str(100 * players), "--tolerate-lost", str(2 * players)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.output.write(line)
            self.output.flush()
            with self.lock:
                self.lines.append(line.rstrip())

    def latest_progress(self):
        """(open, subscribed, reconnecting) of the newest progress line, or None."""
        with self.lock:
            for line in reversed(self.lines):
                match = self.PROGRESS.search(line)
                if match:
                    waiting = re.search(r"reconnecting (\d+)", line)
                    return int(match.group(1)), int(match.group(3)), int(waiting.group(1)) if waiting else 0
        return None

    def round_line(self, question_id):
        with self.lock:
            return any(('round "%s":' % question_id) in line for line in self.lines)

    def stop(self):
        """SIGINT: stadium-load closes its connections and writes its report."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise Failure("stadium-load did not stop within 60 s of SIGINT")
        self.reader.join(timeout=10)
        self.output.close()
        return self.process.returncode


def pid_alive(pid):
    """Running, not a zombie: nobody may reap the gateway once cluster.sh start has exited."""
    try:
        with open("/proc/%d/stat" % pid) as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def read_pids(run_dir):
    with open(os.path.join(run_dir, "pids")) as file:
        return {name: int(pid) for name, pid in (line.split() for line in file if line.strip())}


def check_round(tally, players, name):
    """A round during which nothing failed: every player got it, answered, was acked and scored."""
    failures = []
    if tally["deliveries"] != players:
        failures.append("%s: question reached %d of %d players" % (name, tally["deliveries"], players))
    if tally["answers"] != players:
        failures.append("%s: %d of %d players answered" % (name, tally["answers"], players))
    if tally["acks"] != tally["answers"]:
        failures.append("%s: %d of %d answers acknowledged" % (name, tally["acks"], tally["answers"]))
    if tally["results"] != tally["answers"]:
        failures.append("%s: %d results for %d answers" % (name, tally["results"], tally["answers"]))
    return failures


def check_kill_round(tally, players, name):
    """The round of the kill: pubs that died unacknowledged may be lost, acknowledged ones not."""
    failures = []
    if tally["deliveries"] != players:
        failures.append("%s: question reached %d of %d players" % (name, tally["deliveries"], players))
    if not tally["acks"] <= tally["answers"] <= players:
        failures.append("%s: %d acks, %d answers for %d players" % (name, tally["acks"], tally["answers"], players))
    if tally["results"] < tally["acks"]:
        failures.append("%s: only %d results for %d acknowledged answers" % (name, tally["results"], tally["acks"]))
    if tally["results"] > tally["answers"]:
        failures.append("%s: %d results for %d answers sent" % (name, tally["results"], tally["answers"]))
    return failures


def check_missed_round(tally, players, name):
    """The round published while gw1's players were away: they get it by resuming, maybe too late to answer."""
    failures = []
    if tally["deliveries"] != players:
        failures.append("%s: question reached %d of %d players" % (name, tally["deliveries"], players))
    if tally["answers"] > players:
        failures.append("%s: %d answers from %d players" % (name, tally["answers"], players))
    if tally["acks"] != tally["answers"]:
        failures.append("%s: %d of %d answers acknowledged" % (name, tally["acks"], tally["answers"]))
    if tally["results"] != tally["answers"]:
        failures.append("%s: %d results for %d answers" % (name, tally["results"], tally["answers"]))
    return failures


def read_topic(run_dir, environment, host, topic):
    """Every record of `topic` as (partition, key, value), each partition in offset order, read
    with kcat on `host` (through its end of the Kafka relay)."""
    with open(os.path.join(run_dir, "bootstrap")) as file:
        bootstrap = file.read().strip()
    namespace = "%s-%s" % (environment["CLUSTER_NAME"], host)
    # -e: stop at the end of every partition; the format keeps one record a line (values are JSON).
    read = subprocess.run(["ip", "netns", "exec", namespace, "kcat", "-C", "-b", bootstrap, "-t", topic, "-e", "-q",
                           "-f", "%p\t%k\t%s\n"], capture_output=True, text=True, timeout=180)
    if read.returncode != 0:
        raise RuntimeError("kcat could not read %s: %s" % (topic, read.stderr[-500:]))
    records = []
    for line in read.stdout.splitlines():
        partition, key, value = line.split("\t", 2)
        records.append((int(partition), key, value))
    return records


def account_from_kafka(run_dir, environment, host, log):
    """The test's own accounting of every player: each answer in Kafka scored exactly once, and
    each player's results, in the order written, add up to the totals they carry."""
    started = time.monotonic()
    answered = {}
    for _, user, value in read_topic(run_dir, environment, host, "answer"):
        answered.setdefault(user, set()).add(json.loads(value)["question_id"])
    scored = {}
    for partition, user, value in read_topic(run_dir, environment, host, "result"):
        result = json.loads(value)
        scored.setdefault(user, []).append((partition, result["question_id"], result["points"], result["total"]))
    failures = []
    counts = {"players": 0, "answers": 0, "results": 0}
    for user in sorted(set(answered) | set(scored)):
        counts["players"] += 1
        counts["answers"] += len(answered.get(user, ()))
        counts["results"] += len(scored.get(user, ()))
        seen, total = set(), 0
        for partition, question, points, written in scored.get(user, []):
            if question in seen:
                failures.append("%s: %s scored twice" % (user, question))
            seen.add(question)
            total += points
            if written != total:
                failures.append("%s: after %s the total is %d, its results add up to %d" % (user, question, written, total))
                total = written
        if len({entry[0] for entry in scored.get(user, [])}) > 1:
            failures.append("%s: results in several partitions" % user)
        lost = answered.get(user, set()) - seen
        if lost:
            failures.append("%s: %d answer(s) in Kafka never scored: %s" % (user, len(lost), ", ".join(sorted(lost)[:3])))
        unasked = seen - answered.get(user, set())
        if unasked:
            failures.append("%s: results for questions never answered: %s" % (user, ", ".join(sorted(unasked)[:3])))
    log("from Kafka (%.1f s to read): %d players, %d answered questions, %d results"
        % (time.monotonic() - started, counts["players"], counts["answers"], counts["results"]))
    if len(failures) > 20:
        failures = failures[:20] + ["... and %d more" % (len(failures) - 20)]
    return failures


def run(arguments, run_dir, environment):
    log = lambda text: print("cluster_test: %s" % text, flush=True)
    started = time.monotonic()
    start = subprocess.run(["scripts/cluster.sh", "start"], env=environment, capture_output=True, text=True,
                           timeout=180)
    if start.returncode != 0:
        print(start.stderr[-3000:], file=sys.stderr)
        raise RuntimeError("scripts/cluster.sh start exited %d" % start.returncode)
    page_url = start.stdout.strip().splitlines()[-1]
    host_port = page_url.split("//")[1].rstrip("/")
    net = environment["CLUSTER_NET"]
    log("cluster up at %s after %.1f s" % (page_url, time.monotonic() - started))
    pids = read_pids(run_dir)
    balancer = Balancer(os.path.join(run_dir, "lb.sock"))
    # Both instances, by host: their names in the pids file, logs and metrics.
    instances = {
        host: {"name": name, "log": os.path.join(run_dir, name + ".log"),
               "metrics": "http://%s.%d:9100/metrics" % (net, octet)}
        for host, name, octet in (("proc", "processors", 3), ("proc2", "processors-proc2", 4))}
    processors = Processors([instance["log"] for instance in instances.values()])
    victim_metrics = "http://%s.11:%s/metrics" % (net, arguments.port)
    survivor_metrics = "http://%s.12:%s/metrics" % (net, arguments.port)

    report_path = os.path.join(run_dir, "players.json")
    players = Players(os.path.join(arguments.bin, "stadium-load"), "ws://%s/" % host_port, arguments.players,
                      report_path, os.path.join(run_dir, "players.out"))
    try:
        def all_subscribed():
            progress = players.latest_progress()
            return progress is not None and progress[0] == arguments.players and progress[1] >= arguments.players
        wait_until("all %d players subscribed" % arguments.players, 120, all_subscribed)
        spread = balancer.servers()
        log("all %d players subscribed; HAProxy spread them %s" % (arguments.players, spread))
        for server, (status, sessions) in spread.items():
            if sessions < arguments.players // 4:
                raise Failure("leastconn gave %s only %d of %d players" % (server, sessions, arguments.players))

        published_before = len(processors.questions())
        # Round A opens with every player present; round B is the one of the kill.
        questions = processors.wait_for(published_before + 2, 4 * ROUND_SECONDS)
        round_a, round_b = questions[published_before]["id"], questions[published_before + 1]["id"]
        pubs_at_b = metric(victim_metrics, "stadium_messages_published_total")
        pubs_at_kill = wait_until(
            "answers to %s on gw1" % round_b, ROUND_SECONDS,
            lambda: (lambda pubs: pubs if pubs >= pubs_at_b + ANSWERS_BEFORE_KILL else None)(
                metric(victim_metrics, "stadium_messages_published_total")))
        replayed_before = metric(survivor_metrics, "stadium_messages_replayed_total")
        victim_sessions = balancer.servers()["gw1"][1]
        os.kill(pids["gw1"], signal.SIGKILL)
        killed_at = time.monotonic()
        # Players come back within a few hundred ms, before anything new is published: hold them
        # back until the next question is out, so each one misses it and needs `since` to get it.
        balancer.set_state("gw2", "drain")
        wait_until("gw1 to die", 10, lambda: not pid_alive(pids["gw1"]))
        log("killed gw1 (kill -9) during %s, holding %d players, after %d of its answers to it"
            % (round_b, victim_sessions, pubs_at_kill - pubs_at_b))

        wait_until("HAProxy to mark gw1 down", 10, lambda: balancer.servers()["gw1"][0].startswith("DOWN"))
        log("HAProxy marked gw1 down after %.1f s" % (time.monotonic() - killed_at))
        questions = processors.wait_for(published_before + 3, 2 * ROUND_SECONDS)
        round_c = questions[published_before + 2]["id"]
        balancer.set_state("gw2", "ready")
        reopened_at = time.monotonic()
        log("%s published while gw1's players were away; gw2 takes new connections again" % round_c)

        def all_back():
            progress = players.latest_progress()
            return (progress is not None and progress[0] == arguments.players and progress[2] == 0
                    and balancer.servers()["gw2"][1] == arguments.players)
        wait_until("every player back, on gw2", 60, all_back)
        # The backoff of players refused while gw2 drained sets this, not HAProxy or the gateway.
        log("all %d players back on gw2 %.1f s after it took connections again"
            % (arguments.players, time.monotonic() - reopened_at))

        # Rounds D and E open with every player back; F closes E. Any between C and D was missed too.
        back_at = len(processors.questions())
        questions = processors.wait_for(back_at + 3, 4 * ROUND_SECONDS)
        round_d, round_e = questions[back_at]["id"], questions[back_at + 1]["id"]
        also_missed = [question["id"] for question in questions[published_before + 3:back_at]]
        wait_until("stadium-load to close %s" % round_e, 3 * ROUND_SECONDS, lambda: players.round_line(round_e))
        replayed = metric(survivor_metrics, "stadium_messages_replayed_total") - replayed_before
        recovered = metric(survivor_metrics, "stadium_messages_recovered_total")
        log("gw2 replayed %d missed messages to resuming players from its memory, %d read back from Kafka"
            % (replayed, recovered))
        # Up to here no answer reached the processors twice: neither instance saw a repeat.
        duplicate_answers = sum(metric(instance["metrics"], "quiz_duplicate_answers_total") for instance in instances.values())

        # The processors instance that publishes the questions dies while answers are scored.
        turns = {host: Processors.generator_turns(instance["log"]) for host, instance in instances.items()}
        generators = [host for host, (_, current) in turns.items() if current]
        if len(generators) != 1:
            raise Failure("expected one question generator among the processors, found %s" % (generators or "none"))
        victim_host = generators[0]
        survivor_host = "proc2" if victim_host == "proc" else "proc"
        victim, survivor = instances[victim_host], instances[survivor_host]
        before_kill = len(processors.questions())
        questions = processors.wait_for(before_kill + 1, 3 * ROUND_SECONDS)
        round_g = questions[before_kill]["id"]
        scored_at_g = metric(victim["metrics"], "quiz_answers_scored_total")
        scored_at_kill = wait_until(
            "answers to %s scored by %s" % (round_g, victim["name"]), ROUND_SECONDS,
            lambda: (lambda scored: scored if scored >= scored_at_g + ANSWERS_BEFORE_KILL else None)(
                metric(victim["metrics"], "quiz_answers_scored_total")))
        os.kill(pids[victim["name"]], signal.SIGKILL)
        processor_killed_at = time.monotonic()
        wait_until("%s to die" % victim["name"], 10, lambda: not pid_alive(pids[victim["name"]]))
        log("killed %s (kill -9, the question generator) during %s, after it scored %d of its answers"
            % (victim["name"], round_g, scored_at_kill - scored_at_g))
        wait_until("%s to take over the questions" % survivor["name"], 60,
                   lambda: Processors.generator_turns(survivor["log"])[0] > turns[survivor_host][0])
        log("%s took over the partitions and the questions %.1f s after the kill"
            % (survivor["name"], time.monotonic() - processor_killed_at))
        questions = processors.wait_for(before_kill + 3, 4 * ROUND_SECONDS)
        round_h, round_i = questions[before_kill + 1]["id"], questions[before_kill + 2]["id"]
        wait_until("stadium-load to close %s" % round_i, 3 * ROUND_SECONDS, lambda: players.round_line(round_i))
        replays = metric(survivor["metrics"], "quiz_duplicate_answers_total")
        log("%s recognised %d answers delivered again after the move as already scored" % (survivor["name"], replays))
    finally:
        status = players.stop()
    if status != 0:
        raise Failure("stadium-load exited %d" % status)

    with open(report_path) as file:
        report = json.load(file)
    rounds = {tally["question_id"].strip('"'): tally for tally in report["rounds"]}
    for tally in report["rounds"]:
        log("round %s: %d deliveries, %d answers, %d acks, %d results" % (
            tally["question_id"], tally["deliveries"], tally["answers"], tally["acks"], tally["results"]))
    failures = []
    for name in [round_a, round_b, round_c] + also_missed + [round_d, round_e, round_g, round_h, round_i]:
        if name not in rounds:
            failures.append("round %s is missing from the report" % name)
    if failures:
        raise Failure("; ".join(failures))
    failures += check_round(rounds[round_a], arguments.players, "%s (before the kill)" % round_a)
    failures += check_kill_round(rounds[round_b], arguments.players, "%s (the kill)" % round_b)
    for name in [round_c] + also_missed:
        failures += check_missed_round(rounds[name], arguments.players, "%s (missed by gw1's players)" % name)
    failures += check_round(rounds[round_d], arguments.players, "%s (after)" % round_d)
    failures += check_round(rounds[round_e], arguments.players, "%s (after)" % round_e)
    failures += check_round(rounds[round_g], arguments.players, "%s (processors killed)" % round_g)
    failures += check_round(rounds[round_h], arguments.players, "%s (after the takeover)" % round_h)
    failures += check_round(rounds[round_i], arguments.players, "%s (after the takeover)" % round_i)

    for tally in report["rounds"]:
        if tally.get("duplicates", 0):
            failures.append("round %s: %d duplicate question(s), ack(s) or result(s)" % (tally["question_id"], tally["duplicates"]))

    summary = report.get("players")
    if summary is None:
        raise Failure("the report has no per-player accounting: this stadium-load cannot show loss or repeats")
    log("per player: %s" % ", ".join("%s %d" % item for item in sorted(summary.items())))
    if summary["players"] != arguments.players:
        failures.append("the report accounts for %d of %d players" % (summary["players"], arguments.players))
    for field in ("questions_missed", "question_duplicates", "ack_duplicates", "result_duplicates", "unexpected"):
        if summary[field] != 0:
            failures.append("per player: %s %d" % (field, summary[field]))
    unacknowledged = rounds[round_b]["answers"] - rounds[round_b]["acks"]
    if summary["acks_missing"] != unacknowledged:
        failures.append("%d answers never acknowledged, %d of them in the kill round" % (summary["acks_missing"], unacknowledged))
    unscored = sum(tally["answers"] - tally["results"] for tally in report["rounds"][:-1])
    if summary["results_missing"] > unscored:
        failures.append("%d results missing, the closed rounds miss %d" % (summary["results_missing"], unscored))

    counters = report["counters"]
    log("counters: %s" % ", ".join("%s %d" % item for item in sorted(counters.items()) if item[1]))
    for counter in ("gaps", "duplicates", "errors", "protocol_errors"):
        if counters.get(counter, 0) != 0:
            failures.append("%s: %d" % (counter, counters[counter]))
    if replayed + recovered < victim_sessions:
        failures.append("gw2 resent %d missed messages, but each of gw1's %d players missed %s"
                        % (replayed + recovered, victim_sessions, round_c))
    if counters["disconnects"] < victim_sessions:
        failures.append("only %d disconnects, gw1 held %d players" % (counters["disconnects"], victim_sessions))
    if duplicate_answers != 0:
        failures.append("before the processors kill, the processors ignored %d answers as repeats" % duplicate_answers)
    failures += processors.sequence_failures()
    failures += account_from_kafka(run_dir, environment, survivor_host, log)
    if failures:
        raise Failure("\n  ".join(failures))
    log("passed: %d players, gw1 killed mid-round with %d of them, all resumed on gw2 with no loss, "
        "no gap, no repeat; then %s killed mid-round, %s scored on with every answer once and every total going on"
        % (arguments.players, victim_sessions, victim["name"], survivor["name"]))


def leftovers(name):
    """Namespaces or interfaces of this cluster still present."""
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in namespaces.splitlines() if line.startswith(name + "-")] + \
        [line.split(":")[1].strip().split("@")[0] for line in links.splitlines()
         if line.split(":")[1].strip().startswith(name + "-")]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=".build/debug", help="directory of the built executables")
    parser.add_argument("--players", type=int, default=2000)
    parser.add_argument("--port", type=int, default=8080, help="port of HAProxy and the gateways on their hosts")
    parser.add_argument("--keep", action="store_true", help="keep the logs and the report after a pass too")
    arguments = parser.parse_args()
    if os.geteuid() != 0:
        print("cluster_test: needs root (network namespaces)", file=sys.stderr)
        return 2

    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    run_dir = tempfile.mkdtemp(prefix="stadium-cluster-")
    # A name and network of its own, so a demo or another run of the test may run beside it.
    name = "ct%d" % (os.getpid() % 100000)
    environment = dict(os.environ, BIN=arguments.bin, PORT=str(arguments.port), BOTS="0",
                       ROUND=str(ROUND_SECONDS), ANSWER_WINDOW=str(ANSWER_WINDOW_SECONDS), RUN_DIR=run_dir,
                       CLUSTER_NAME=name, CLUSTER_NET="198.19.%d" % (os.getpid() % 250 + 1))
    status = 0
    try:
        run(arguments, run_dir, environment)
    except Failure as failure:
        print("cluster_test: FAILED: %s" % failure, file=sys.stderr)
        status = 1
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
        print("cluster_test: could not run: %s" % error, file=sys.stderr)
        status = 2
    finally:
        subprocess.run(["scripts/cluster.sh", "stop"], env=environment, stdout=subprocess.DEVNULL)
    left = leftovers(name)
    if left:
        print("cluster_test: FAILED: left behind after stop: %s" % ", ".join(left), file=sys.stderr)
        status = status or 1
    if status == 0 and not arguments.keep:
        shutil.rmtree(run_dir)
    else:
        print("cluster_test: logs and report in %s" % run_dir, file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
