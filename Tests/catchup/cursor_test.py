#!/usr/bin/env python3
"""A subject without a key on a topic of several partitions resumes on any gateway with a cursor.

Its seqs come from several partitions, so one number cannot say where a client stands; the
cursor is the last offset it saw per partition (from the sub's ok `positions`, then each msg's
`partition` and `seq`). Runs the development broker with 3 partitions, kcat as the producer:

1. A client subscribes to /feed on gateway A and reads records produced to every partition;
   A is killed (kill -9) and more records follow on every partition.
2. Gateway B, started cold, serves the client's resume with its cursor: the older missed
   records of each partition from Kafka, the newer from its memory, every one exactly once,
   in order per partition, no gap, then the live ones.
3. The same client resumes again on B after missing a few more: from B's memory, no new read.
4. A cursor that names no partition missed nothing: it gets only live records.
5. An old client's `since` number still means what it did: on a cold gateway, a gap.

    python3 Tests/catchup/cursor_test.py --bin .build/debug

Exit status 0 when all hold, 1 on a failed check, 2 when the test could not run.
"""

import json
import os
import subprocess
import sys

from catchup_test import Broker, Failure, Fleet, Gateway, Reader, run_with_binaries, value

PARTITIONS = 3
SUBJECT = "/feed"
REPLAY = 100  # records per partition a gateway reads at start: older ones come from Kafka


def produce_to(bootstrap, partition, numbers):
    """Records without a key, numbered `numbers`, all to `partition`; waits for Kafka's acks."""
    command = ["kcat", "-P", "-b", bootstrap, "-t", "feed", "-p", str(partition), "-X", "linger.ms=5"]
    kcat = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    kcat.stdin.write("".join(value(n, 100) + "\n" for n in numbers).encode())
    kcat.stdin.close()
    if kcat.wait(timeout=120) != 0:
        raise Failure("kcat failed: " + kcat.stderr.read().decode())


def numbered(partition, first, count):
    """Record numbers that say their partition: partition * 100000 + i."""
    return [partition * 100000 + i for i in range(first, first + count)]


class CursorReader(Reader):
    """A subscriber that keeps a cursor for /feed as a client library does."""

    def __init__(self, port, cursor=None, since=None):
        self.cursor = dict(cursor) if cursor is not None else None
        self.positions = None
        self.records = []  # (partition, seq, n) of every msg not retained
        self.errors = []
        super().__init__(port, [SUBJECT], since if since is not None else (
            {SUBJECT: self.cursor} if self.cursor is not None else None))

    def text(self, payload):
        message = json.loads(payload)
        op = message["op"]
        if op == "ok":
            self.subscribed = True
            self.positions = message.get("positions", {}).get(SUBJECT)
            if self.cursor is None and self.positions is not None:
                self.cursor = dict(self.positions)
        elif op == "msg" and not message.get("retained"):
            partition = message["partition"]
            self.records.append((partition, message["seq"], message["data"]["n"]))
            if self.cursor is not None:
                self.cursor[str(partition)] = message["seq"]
        elif op == "gap":
            self.gaps.append(payload.decode())
        elif op == "err":
            self.errors.append(payload.decode())


def start(port, **options):
    reader = CursorReader(port, **options)
    fleet = Fleet([reader])
    fleet.wait(lambda: reader.subscribed or reader.errors, 60, "the sub's ok")
    if reader.errors:
        raise Failure("err from the gateway: %s" % reader.errors)
    return reader, fleet


def expect_exactly(reader, expected, who):
    """`reader` got each record of `expected` (partition -> numbers) once, in order per partition, no gap."""
    if reader.gaps:
        raise Failure("%s: unexpected gap %s" % (who, reader.gaps))
    for partition, numbers in expected.items():
        got = [(seq, n) for p, seq, n in reader.records if p == partition]
        if [n for _, n in got] != list(numbers):
            raise Failure("%s: partition %d got %s, expected %s" % (
                who, partition, [n for _, n in got][:8], list(numbers)[:8]))
        seqs = [seq for seq, _ in got]
        if seqs != sorted(set(seqs)):
            raise Failure("%s: partition %d seqs out of order or repeated" % (who, partition))
    extra = {p for p, _, _ in reader.records} - set(expected)
    if extra:
        raise Failure("%s: records from partitions %s it had not missed" % (who, sorted(extra)))


def run(binaries, directory):
    broker = Broker(os.path.join(binaries, "stadium-kafka"), directory, partitions=PARTITIONS)
    gateway_binary = os.path.join(binaries, "stadium-gateway")
    started = []
    try:
        a = Gateway(gateway_binary, broker.bootstrap)
        started.append(a)
        reader, fleet = start(a.port)
        if reader.positions is None or sorted(reader.positions) != [str(p) for p in range(PARTITIONS)]:
            raise Failure("the ok of a sub to %s has no position per partition: %s" % (SUBJECT, reader.positions))
        first = {p: numbered(p, 0, 20) for p in range(PARTITIONS)}
        for partition, numbers in first.items():
            produce_to(broker.bootstrap, partition, numbers)
        fleet.wait(lambda: len(reader.records) >= 20 * PARTITIONS, 60, "the first records on every partition")
        fleet.stop()
        expect_exactly(reader, first, "gateway A")
        cursor = reader.cursor
        a.process.kill()  # kill -9: no goodbye
        a.process.wait()
        started.remove(a)
        missed = {p: numbered(p, 20, 150 + 10 * p) for p in range(PARTITIONS)}
        for partition, numbers in missed.items():
            produce_to(broker.bootstrap, partition, numbers)
        print("cursor: read 60 records on gateway A, which was killed; %d more followed" % sum(map(len, missed.values())))

        b = Gateway(gateway_binary, broker.bootstrap, ["--replay-last", str(REPLAY)])
        started.append(b)
        total = sum(map(len, missed.values()))
        reader, fleet = start(b.port, cursor=cursor)
        fleet.wait(lambda: len(reader.records) >= total, 120, "%d records resumed from Kafka" % total)
        live = {p: numbered(p, 500, 1) for p in range(PARTITIONS)}
        for partition, numbers in live.items():
            produce_to(broker.bootstrap, partition, numbers)
        fleet.wait(lambda: len(reader.records) >= total + PARTITIONS, 60, "the live records")
        fleet.stop()
        expect_exactly(reader, {p: missed[p] + live[p] for p in range(PARTITIONS)}, "gateway B (cold)")
        # B holds the newest REPLAY of each partition; the older missed ones it read from Kafka.
        from_kafka = sum(len(numbers) - REPLAY for numbers in missed.values())
        recovered = b.metric("stadium_messages_recovered_total")
        if recovered != from_kafka:
            raise Failure("gateway B read back %d records from Kafka, expected %d" % (recovered, from_kafka))
        print("cursor: a cold gateway gave the client all %d missed records (%d from Kafka, the rest from memory), "
              "then the live ones" % (total, from_kafka))

        cursor = reader.cursor
        reads = b.metric("stadium_recovery_reads_total")
        later = {p: numbered(p, 600, 5 + p) for p in range(PARTITIONS)}
        for partition, numbers in later.items():
            produce_to(broker.bootstrap, partition, numbers)
        reader, fleet = start(b.port, cursor=cursor)
        count = sum(map(len, later.values()))
        fleet.wait(lambda: len(reader.records) >= count, 60, "%d records resumed from memory" % count)
        fleet.stop()
        expect_exactly(reader, later, "gateway B (memory)")
        if b.metric("stadium_recovery_reads_total") != reads:
            raise Failure("a resume that gateway B's memory covers read Kafka")
        print("cursor: a resume the gateway's memory covers came from memory, no read from Kafka")

        reader, fleet = start(b.port, cursor={})
        produce_to(broker.bootstrap, 1, numbered(1, 700, 1))
        fleet.wait(lambda: len(reader.records) >= 1, 60, "a live record after an empty cursor")
        fleet.stop()
        expect_exactly(reader, {1: numbered(1, 700, 1)}, "an empty cursor")
        print("cursor: a cursor that names no partition missed nothing there")

        c = Gateway(gateway_binary, broker.bootstrap)
        started.append(c)
        old = CursorReader(c.port, since={SUBJECT: 3})
        fleet = Fleet([old])
        fleet.wait(lambda: old.gaps, 60, "an old client's gap")
        fleet.stop()
        print("cursor: an old client's since number on a cold gateway still gets a gap: %s" % old.gaps[0])
        print("cursor: passed")
    finally:
        for gateway in started:
            gateway.stop()
        broker.stop()


def main():
    return run_with_binaries(run, "cursor", __doc__)


if __name__ == "__main__":
    sys.exit(main())
