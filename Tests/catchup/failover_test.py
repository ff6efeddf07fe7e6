#!/usr/bin/env python3
"""A client resumes on any gateway, from Kafka itself.

Gateways share nothing but Kafka, and `seq` is the Kafka offset, so a client that comes back
with `since` to an instance that never held what it missed (started after, or after the one
it used was killed) gets it read back from Kafka, in order, exactly once, then the live ones.
Runs the development broker with 3 partitions, kcat as the producer and raw clients:

1. A client reads /result/carol on gateway A; A is killed (kill -9); 300 records for carol
   and 600 for others follow, so a gateway starting now holds none of carol's in memory.
2. Gateway C, running all along, serves the resume from its memory.
3. Gateway B, started cold, serves the same resume from Kafka: all 300, no gap, then live;
   two clients resuming together share the read.
4. Gateway D with --recovery-max-records 50 reads only the newest 50 offsets: a gap for the
   rest, then carol's records after it, in order.
5. Records produced with Kafka's Java partitioner (murmur2) resume on a gateway started
   with --partitioner murmur2.
6. A client that resumes on a gateway that has not yet read as far as the client has (its
   `since` is ahead of the gateway's consumer) gets only what comes after its `since`.

    python3 Tests/catchup/failover_test.py --bin .build/debug

Exit status 0 when all hold, 1 on a failed check, 2 when the test could not run.
"""

import json
import os
import sys

from catchup_test import Broker, Failure, Gateway, expect_all, open_readers, produce, run_with_binaries, value

MISSED = 300


def resume(gateway, subject, since, expected, who):
    """A client resuming `subject` after `since` gets exactly records `expected`, no gap."""
    fleet = open_readers(gateway.port, 1, lambda i: [subject], since={subject: since})
    reader = fleet.readers[0]
    fleet.wait(lambda: reader.count(subject) >= len(expected), 120, "%d resumed records (%s)" % (len(expected), who))
    fleet.stop()
    if reader.gaps:
        raise Failure("%s: unexpected gap %s" % (who, reader.gaps))
    expect_all(reader, subject, expected, who)
    return reader


def run(binaries, directory):
    broker = Broker(os.path.join(binaries, "stadium-kafka"), directory, partitions=3)
    gateway_binary = os.path.join(binaries, "stadium-gateway")
    started = []
    try:
        a = Gateway(gateway_binary, broker.bootstrap)
        c = Gateway(gateway_binary, broker.bootstrap)
        started += [a, c]
        fleet = open_readers(a.port, 1, lambda i: ["/result/carol"])
        produce(broker.bootstrap, "result", [("carol", value(0, 200))])
        fleet.wait(lambda: fleet.readers[0].count("/result/carol") == 1, 60, "carol's first record")
        since = fleet.readers[0].live("/result/carol")[0][1]
        fleet.stop()
        a.process.kill()  # kill -9: no goodbye
        a.process.wait()
        started.remove(a)
        produce(broker.bootstrap, "result", [("carol", value(n, 200)) for n in range(1, MISSED + 1)])
        produce(broker.bootstrap, "result", [("noise%d" % n, value(n, 200)) for n in range(600)])

        resume(c, "/result/carol", since, range(1, MISSED + 1), "gateway C (memory)")
        print("failover: a client of a killed gateway resumed on a running one from its memory")

        b = Gateway(gateway_binary, broker.bootstrap)
        started.append(b)
        pair = open_readers(b.port, 2, lambda i: ["/result/carol"], since={"/result/carol": since})
        pair.wait(lambda: all(r.count("/result/carol") >= MISSED for r in pair.readers), 120,
                  "two clients resuming from Kafka")
        produce(broker.bootstrap, "result", [("carol", value(MISSED + 1, 200))])
        pair.wait(lambda: all(r.count("/result/carol") >= MISSED + 1 for r in pair.readers), 60, "the live record")
        pair.stop()
        for index, reader in enumerate(pair.readers):
            if reader.gaps:
                raise Failure("gateway B, client %d: unexpected gap %s" % (index, reader.gaps))
            expect_all(reader, "/result/carol", range(1, MISSED + 2), "gateway B (cold), client %d" % index)
        recovered = b.metric("stadium_messages_recovered_total")
        reads = b.metric("stadium_recovery_reads_total")
        if recovered < MISSED:
            raise Failure("gateway B read back %d records from Kafka, expected at least %d" % (recovered, MISSED))
        print("failover: a cold gateway gave two resuming clients all %d missed records from Kafka (%d read(s)), "
              "then the live one" % (MISSED, reads))

        d = Gateway(gateway_binary, broker.bootstrap, ["--recovery-max-records", "50"])
        started.append(d)
        fleet = open_readers(d.port, 1, lambda i: ["/result/carol"], since={"/result/carol": since})
        reader = fleet.readers[0]
        fleet.wait(lambda: len(reader.gaps) >= 1 and reader.count("/result/carol") >= 1, 60, "a gap and records")
        fleet.stop()
        gap = json.loads(reader.gaps[0])
        got = reader.live("/result/carol")
        if gap["from"] != since + 1 or any(seq <= gap["to"] for _, seq, _, _ in got):
            raise Failure("gateway D: gap %s does not precede the records %s" % (gap, [m[1] for m in got][:5]))
        numbers = [m[2] for m in got]
        if numbers != list(range(numbers[0], MISSED + 2)):
            raise Failure("gateway D: after the gap the records are not consecutive to the newest: %s" % numbers[:10])
        print("failover: past --recovery-max-records a gap, then the newest %d records in order" % len(numbers))

        e = Gateway(gateway_binary, broker.bootstrap, ["--partitioner", "murmur2"])
        started.append(e)
        fleet = open_readers(e.port, 1, lambda i: ["/result/dave"])
        produce(broker.bootstrap, "result", [("dave", value(0, 200))], partitioner="murmur2_random")
        fleet.wait(lambda: fleet.readers[0].count("/result/dave") == 1, 60, "dave's first record")
        dave_since = fleet.readers[0].live("/result/dave")[0][1]
        fleet.stop()
        produce(broker.bootstrap, "result", [("dave", value(n, 200)) for n in range(1, 101)], partitioner="murmur2_random")
        produce(broker.bootstrap, "result", [("noise%d" % n, value(n, 200)) for n in range(600)],
                partitioner="murmur2_random")
        f = Gateway(gateway_binary, broker.bootstrap, ["--partitioner", "murmur2"])
        started.append(f)
        resume(f, "/result/dave", dave_since, range(1, 101), "gateway F (cold, murmur2)")
        print("failover: records partitioned by murmur2 resumed from Kafka with --partitioner murmur2")

        # erin's next records will take the offsets right after her first one (nothing else is
        # produced meanwhile); a client claims to have seen three of them on another gateway.
        fleet = open_readers(f.port, 1, lambda i: ["/result/erin"])
        produce(broker.bootstrap, "result", [("erin", value(0, 200))])
        fleet.wait(lambda: fleet.readers[0].count("/result/erin") == 1, 60, "erin's first record")
        erin_first = fleet.readers[0].live("/result/erin")[0][1]
        fleet.stop()
        ahead = open_readers(f.port, 1, lambda i: ["/result/erin"], since={"/result/erin": erin_first + 3})
        produce(broker.bootstrap, "result", [("erin", value(n, 200)) for n in range(1, 7)])
        ahead.wait(lambda: ahead.readers[0].count("/result/erin") >= 3, 60, "erin's records after the client's since")
        produce(broker.bootstrap, "result", [("erin", value(7, 200))])
        ahead.wait(lambda: ahead.readers[0].count("/result/erin") >= 4, 60, "erin's next live record")
        ahead.stop()
        expect_all(ahead.readers[0], "/result/erin", range(4, 8), "a client ahead of the gateway")
        print("failover: a client ahead of the gateway's consumer got only what came after its since, then live")
        print("failover: passed")
    finally:
        for gateway in started:
            gateway.stop()
        broker.stop()


def main():
    return run_with_binaries(run, "failover", __doc__)


if __name__ == "__main__":
    sys.exit(main())
