#!/usr/bin/env python3
"""A client that reads is never cut off: bursts and replays stream from history.

Starts the development broker and a gateway with defaults but `--auth none`, produces records with kcat, and reads
them with clients that are not the project's: `websocket-client` for the one Python client, and
a fleet of raw-socket readers. Each case checks what a user would check: every record arrived,
once, in order, and nobody who reads was closed.

1. 500 records of about 250 bytes at once with key alice: the Python subscriber of
   /result/alice gets all 500.
2. A new client subscribes to /result/alice with since just before those 500: it gets all 500,
   in order, no gap, then a live one.
3. 20,000 records of 1 KB at about 4,000 a second: the Python client, reading continuously,
   and --readers raw readers beside it get all 20,000.
4. Resume: a client that saw the first record leaves, 1,000 more are produced, it comes back
   with since and gets exactly those 1,000 and then the live ones; the same with 200 missed on
   each of five subjects in one sub.
5. A silent client among readers during a burst: the gateway (here with --max-lag-seconds 5)
   closes it with 1008 and counts it; the readers get everything, about as fast as without it.
6. Bursts: 10,000 records of 1 KB, one to each of 10,000 subscribers (per-key subjects), and a
   burst of --burst-records 1 KB records on one subject to --burst-readers subscribers.

Records without a key go to partition 0 of their topic, so a subject's seqs are consecutive.

    python3 Tests/catchup/catchup_test.py --bin .build/debug

Exit status 0 when all hold, 1 on a failed check, 2 when the test could not run.
"""

import argparse
import json
import os
import re
import resource
import selectors
import subprocess
import sys
import tempfile
import threading
import time

import websocket  # websocket-client, a client that is not ours

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
# The failover and cursor tests and Benchmarks/burst.py take these from here too.
from stadium_test import Broker, Failure, RawWebSocket, close_code, read_frames, wait_until  # noqa: E402,F401
from stadium_test import Gateway as GatewayProcess  # noqa: E402

DEADLINE = 240  # seconds any one case may take


def value(n, size):
    """A JSON record value of about `size` bytes carrying its number."""
    head = '{"n":%d,"pad":"' % n
    return head + "x" * max(0, size - len(head) - 2) + '"}'


N_PATTERN = re.compile(rb'"data":\{"n":(\d+)')
SEQ_PATTERN = re.compile(rb'"seq":(\d+)')
SUBJECT_PATTERN = re.compile(rb'"subject":"([^"]+)"')


# --- processes ---------------------------------------------------------------------------

class Gateway(GatewayProcess):
    """A gateway on the test's broker, once its consumer is assigned."""

    def __init__(self, binary, bootstrap, extra=(), prefix=()):
        super().__init__(binary, "--auth", "none", "--brokers", bootstrap, "--topics", "feed,result",
                         "--max-connections", "12000", "--pub-rate", "0", *extra, prefix=prefix)
        # The consumer must be assigned before records are produced, or it starts after them.
        wait_until("the gateway's Kafka connection", 30, self.healthy)


def produce(bootstrap, topic, records, rate=None, partitioner=None):
    """Produces (key, value) pairs with kcat and waits until Kafka acknowledged them all;
    with `rate`, paced to about that many a second (kcat still sends them in batches)."""
    keyed = records[0][0] is not None
    # Without -K kcat produces a null key (subject /T); with it, the text before the tab.
    # Records without a key all go to partition 0: one offset sequence, so /T's seqs are consecutive.
    command = ["kcat", "-P", "-b", bootstrap, "-t", topic, "-X", "linger.ms=5"] + (["-K", "\t"] if keyed else ["-p", "0"])
    if partitioner:
        command += ["-X", "partitioner=" + partitioner]
    kcat = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = [(("%s\t" % key if keyed else "") + data + "\n").encode() for key, data in records]
    started = time.monotonic()
    chunk = max(1, (rate or len(lines)) // 20)
    for index in range(0, len(lines), chunk):
        if rate:
            delay = started + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # pacing the producer, not waiting for the system under test
        kcat.stdin.write(b"".join(lines[index:index + chunk]))
        kcat.stdin.flush()
    kcat.stdin.close()
    if kcat.wait(timeout=120) != 0:
        raise Failure("kcat failed: " + kcat.stderr.read().decode())


def run_with_binaries(run, name, description):
    """The command line of a system test: `run(binaries, directory)` in a temporary directory;
    exit status 0 when it passes, 1 on a `Failure`."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=".build/debug", help="directory of the built executables")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        try:
            run(options.bin, directory)
        except Failure as failure:
            print("%s test FAILED: %s" % (name, failure))
            return 1
    return 0


# --- clients -----------------------------------------------------------------------------

def sub_request(subjects, since=None):
    members = ",".join('"%s"' % s for s in subjects)
    text = '{"op":"sub","id":1,"subjects":[%s]' % members
    if since:
        text += ',"since":{%s}' % ",".join('"%s":%s' % (subject, json.dumps(seen)) for subject, seen in since.items())
    return (text + "}").encode()


class Collector:
    """What a subscriber read: (subject, seq, n, retained) of every msg, gaps, the close code."""

    def __init__(self):
        self.messages = []
        self.gaps = []
        self.close_code = None
        self.subscribed = False
        self.last_message_at = None  # monotonic time the last msg was read
        self.live_counts = {}  # subject -> msgs that were not retained, kept as they come: waits poll it

    def text(self, payload):
        if payload.startswith(b'{"op":"msg"'):
            self.last_message_at = time.monotonic()
            n = N_PATTERN.search(payload)
            subject = SUBJECT_PATTERN.search(payload).group(1).decode()
            retained = payload.endswith(b'"retained":true}')
            self.messages.append((subject, int(SEQ_PATTERN.search(payload).group(1)), int(n.group(1)) if n else None, retained))
            if not retained:
                self.live_counts[subject] = self.live_counts.get(subject, 0) + 1
        elif payload.startswith(b'{"op":"ok"'):
            self.subscribed = True
        elif payload.startswith(b'{"op":"gap"'):
            self.gaps.append(payload.decode())
        elif payload.startswith(b'{"op":"err"'):
            raise Failure("err from the gateway: " + payload.decode())

    def live(self, subject):
        return [m for m in self.messages if m[0] == subject and not m[3]]

    def count(self, subject):
        """How many live msgs of `subject` arrived (cheap enough to poll)."""
        return self.live_counts.get(subject, 0)


class Reader(Collector):
    """One raw-socket subscriber, read by a `Fleet`."""

    def __init__(self, port, subjects, since=None, receive_buffer=None):
        super().__init__()
        self.socket = RawWebSocket(port, receive_buffer=receive_buffer)
        self.sock = self.socket.sock
        self.buffer = self.socket.buffer
        self.closed = False
        self.socket.send(sub_request(subjects, since))
        self.sock.setblocking(False)

    def feed(self, data):
        if not data:
            self.closed = True
            return
        frames, self.buffer = read_frames(self.buffer + data)
        for opcode, payload, _ in frames:
            if opcode == 1:
                self.text(payload)
            elif opcode == 8:
                self.close_code = close_code(payload)


class Fleet:
    """Readers served by one selector loop on a thread until `stop`."""

    def __init__(self, readers):
        self.readers = readers
        self.selector = selectors.DefaultSelector()
        for reader in readers:
            self.selector.register(reader.sock, selectors.EVENT_READ, reader)
        self.running = True
        self.error = None
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        try:
            while self.running:
                for key, _ in self.selector.select(timeout=0.1):
                    reader = key.data
                    try:
                        data = reader.sock.recv(1 << 20)
                    except BlockingIOError:
                        continue
                    except ConnectionResetError:
                        data = b""
                    reader.feed(data)
                    if reader.closed:
                        self.selector.unregister(reader.sock)
        except Exception as error:  # reported by the waiting thread
            self.error = error

    def wait(self, predicate, seconds, what):
        def done():
            if self.error:
                raise self.error
            return predicate()
        wait_until(what, seconds, done)

    def stop(self):
        self.running = False
        self.thread.join()
        for reader in self.readers:
            reader.sock.close()


def open_readers(port, count, subjects_of, since=None):
    readers = [Reader(port, subjects_of(i), since) for i in range(count)]
    fleet = Fleet(readers)
    fleet.wait(lambda: all(r.subscribed for r in readers), 60, "%d subscriptions" % count)
    return fleet


def expect_all(reader, subject, numbers, who):
    """`reader` got exactly the records numbered `numbers` on `subject`, in order, each once."""
    got = reader.live(subject)
    seqs = [m[1] for m in got]
    if [m[2] for m in got] != list(numbers):
        missing = len(set(numbers) - {m[2] for m in got})
        raise Failure("%s got %d of %d records on %s (%d missing, closed %s)" % (
            who, len(got), len(numbers), subject, missing, reader.close_code))
    if seqs != sorted(set(seqs)):
        raise Failure("%s: seqs on %s out of order or repeated" % (who, subject))


class PythonClient:
    """The websocket-client library, reading continuously on a thread."""

    def __init__(self, port, subjects, since=None):
        self.ws = websocket.create_connection("ws://127.0.0.1:%d/" % port, timeout=60,
                                              subprotocols=["stadium.v1"])
        self.reader = Collector()
        self.ws.send(sub_request(subjects, since).decode())
        self.error = None
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        try:
            while True:
                opcode, data = self.ws.recv_data(control_frame=True)
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    self.reader.close_code = close_code(data)
                    return
                if opcode == websocket.ABNF.OPCODE_TEXT:
                    self.reader.text(data)
        except websocket.WebSocketConnectionClosedException:
            pass
        except Exception as error:
            self.error = error

    def wait(self, predicate, seconds, what):
        def done():
            if self.error:
                raise self.error
            if self.reader.close_code is not None:
                raise Failure("the Python client was closed with %s while waiting for %s" % (self.reader.close_code, what))
            return predicate()
        wait_until(what, seconds, done)

    def close(self):
        self.ws.close()
        self.thread.join(timeout=10)


# --- cases -------------------------------------------------------------------------------

def case_burst_and_replay(broker, gateway):
    client = PythonClient(gateway.port, ["/result/alice"])
    client.wait(lambda: client.reader.subscribed, 30, "ok")
    produce(broker.bootstrap, "result", [("alice", value(n, 250)) for n in range(500)])
    client.wait(lambda: client.reader.count("/result/alice") >= 500, DEADLINE, "500 records")
    expect_all(client.reader, "/result/alice", range(500), "case 1: the Python subscriber")
    first_seq = client.reader.live("/result/alice")[0][1]
    client.close()
    print("case 1: a burst of 500 records reached a Python subscriber, all in order")

    # since is the last seq a client saw: it is owed the 499 after the first, then live ones.
    late = PythonClient(gateway.port, ["/result/alice"], since={"/result/alice": first_seq})
    late.wait(lambda: late.reader.count("/result/alice") >= 499, DEADLINE, "499 replayed records")
    produce(broker.bootstrap, "result", [("alice", value(500, 250))])
    late.wait(lambda: late.reader.count("/result/alice") >= 500, 60, "a live record after the replay")
    expect_all(late.reader, "/result/alice", range(1, 501), "case 2: the replaying client")
    if late.reader.gaps:
        raise Failure("case 2: unexpected gap %s" % late.reader.gaps)
    late.close()
    print("case 2: since the first of the 500 replayed the other 499, then the live one")


def case_paced_stream(broker, gateway, readers):
    count = 20_000
    client = PythonClient(gateway.port, ["/feed"])
    fleet = open_readers(gateway.port, readers, lambda i: ["/feed"])
    client.wait(lambda: client.reader.subscribed, 30, "ok")
    started = time.monotonic()
    produce(broker.bootstrap, "feed", [(None, value(n, 1024)) for n in range(count)], rate=4000)
    produced = time.monotonic() - started
    client.wait(lambda: client.reader.count("/feed") >= count, DEADLINE, "20,000 records")
    fleet.wait(lambda: all(r.count("/feed") >= count or r.closed for r in fleet.readers), DEADLINE,
               "20,000 records at every reader")
    took = time.monotonic() - started
    expect_all(client.reader, "/feed", range(count), "case 3: the Python client")
    for index, reader in enumerate(fleet.readers):
        expect_all(reader, "/feed", range(count), "case 3: reader %d" % index)
    client.close()
    fleet.stop()
    print("case 3: 20,000 records of 1 KB produced in %.1f s reached the Python client and %d readers, "
          "all in order, in %.1f s" % (produced, readers, took))


def case_resume(broker, gateway):
    fleet = open_readers(gateway.port, 1, lambda i: ["/result/bob"])
    produce(broker.bootstrap, "result", [("bob", value(0, 200))])
    fleet.wait(lambda: fleet.readers[0].count("/result/bob") == 1, 60, "the first record")
    last_seen = fleet.readers[0].live("/result/bob")[0][1]
    fleet.stop()
    produce(broker.bootstrap, "result", [("bob", value(n, 200)) for n in range(1, 1001)])
    back = open_readers(gateway.port, 1, lambda i: ["/result/bob"], since={"/result/bob": last_seen})
    back.wait(lambda: back.readers[0].count("/result/bob") >= 1000, DEADLINE, "1,000 missed records")
    produce(broker.bootstrap, "result", [("bob", value(1001, 200))])
    back.wait(lambda: back.readers[0].count("/result/bob") >= 1001, 60, "the live record")
    expect_all(back.readers[0], "/result/bob", range(1, 1002), "case 4: the resumed client")
    if back.readers[0].gaps:
        raise Failure("case 4: unexpected gap %s" % back.readers[0].gaps)
    back.stop()

    keys = ["k%d" % i for i in range(5)]
    subjects = ["/result/" + key for key in keys]
    fleet = open_readers(gateway.port, 1, lambda i: subjects)
    produce(broker.bootstrap, "result", [(key, value(0, 200)) for key in keys])
    fleet.wait(lambda: all(fleet.readers[0].count(s) == 1 for s in subjects), 60, "a record on each subject")
    since = {s: fleet.readers[0].live(s)[0][1] for s in subjects}
    fleet.stop()
    produce(broker.bootstrap, "result", [(key, value(n, 200)) for n in range(1, 201) for key in keys])
    back = open_readers(gateway.port, 1, lambda i: subjects, since=since)
    back.wait(lambda: all(back.readers[0].count(s) >= 200 for s in subjects), DEADLINE, "200 on each subject")
    for subject in subjects:
        expect_all(back.readers[0], subject, range(1, 201), "case 4: the five-subject resume on " + subject)
    back.stop()
    print("case 4: resumed 1,000 missed on one subject and 200 on each of five, exactly once, in order")


def burst_to_readers(broker, gateway, readers, count, silent=False):
    """Seconds from the first produce until every reader had all `count` records."""
    fleet = open_readers(gateway.port, readers, lambda i: ["/feed"])
    silent_client = Reader(gateway.port, ["/feed"], receive_buffer=4096) if silent else None
    if silent_client:
        silent_client.sock.setblocking(True)
        while not silent_client.subscribed:
            silent_client.feed(silent_client.sock.recv(4096))
    started = time.monotonic()
    produce(broker.bootstrap, "feed", [(None, value(n, 1024)) for n in range(count)])
    fleet.wait(lambda: all(r.count("/feed") >= count or r.closed for r in fleet.readers), DEADLINE,
               "the burst at every reader")
    took = time.monotonic() - started
    for index, reader in enumerate(fleet.readers):
        expect_all(reader, "/feed", range(count), "reader %d" % index)
    fleet.stop()
    return took, silent_client


def case_silent_client(broker, binary):
    readers, count = 20, 3000
    gateway = Gateway(binary, broker.bootstrap, ["--max-lag-seconds", "5", "--socket-send-buffer", "16384"])
    try:
        alone, _ = burst_to_readers(broker, gateway, readers, count)
        gateway.stop()
        # A fresh gateway for the second burst, so both start from an empty history.
        gateway = Gateway(binary, broker.bootstrap, ["--max-lag-seconds", "5", "--socket-send-buffer", "16384"])
        with_silent, silent = burst_to_readers(broker, gateway, readers, count, silent=True)
        # The silent client's oldest unread record ages past 5 s; the gateway drops it at its next sweep.
        wait_until("the silent client to be closed as a slow consumer", 30,
                   lambda: gateway.metric('stadium_errors_total{kind="slow_consumer"}') >= 1)
        silent.sock.setblocking(True)
        silent.sock.settimeout(30)
        while not silent.closed and silent.close_code is None:
            try:
                silent.feed(silent.sock.recv(1 << 20))
            except ConnectionResetError:
                break
        silent.sock.close()
        if silent.close_code not in (1008, None):
            raise Failure("case 5: the silent client was closed with %s, expected 1008" % silent.close_code)
        if with_silent > 2 * alone + 2:
            raise Failure("case 5: the readers took %.1f s with a silent client, %.1f s without" % (with_silent, alone))
        print("case 5: a silent client was closed (1008, counted); %d readers got all %d records in %.1f s "
              "(%.1f s without it)" % (readers, count, with_silent, alone))
    finally:
        gateway.stop()


def case_bursts(broker, gateway, burst_readers, burst_records):
    subscribers = 10_000
    fleet = open_readers(gateway.port, subscribers, lambda i: ["/result/p%d" % i])
    started = time.monotonic()
    produce(broker.bootstrap, "result", [("p%d" % i, value(i, 1024)) for i in range(subscribers)])
    fleet.wait(lambda: all(r.count("/result/p%d" % i) >= 1 or r.closed for i, r in enumerate(fleet.readers)),
               DEADLINE, "one record at each of 10,000 subscribers")
    took = time.monotonic() - started
    for index, reader in enumerate(fleet.readers):
        expect_all(reader, "/result/p%d" % index, [index], "subscriber %d" % index)
    fleet.stop()
    print("case 6: 10,000 records of 1 KB, one to each of 10,000 subscribers: none lost, none closed (%.1f s)" % took)
    took, _ = burst_to_readers(broker, gateway, burst_readers, burst_records)
    print("case 6: a burst of %d records of 1 KB reached all %d subscribers: none lost, none closed (%.1f s)"
          % (burst_records, burst_readers, took))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=".build/debug", help="directory of the built executables")
    parser.add_argument("--readers", type=int, default=100, help="raw readers beside the Python client in case 3")
    parser.add_argument("--burst-readers", type=int, default=100)
    # The development broker keeps about 5 MB per partition: a burst of more than that into one
    # partition is deleted before a consumer that is behind reads it (Kafka's retention).
    parser.add_argument("--burst-records", type=int, default=4_000)
    options = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < 11_000:
        print("catchup test: needs 11,000 descriptors, the limit is %d" % hard)
        return 2
    with tempfile.TemporaryDirectory() as directory:
        # Keyed records spread over 8 partitions, so 10,000 of 1 KB stay within each one's retention.
        broker = Broker(os.path.join(options.bin, "stadium-kafka"), directory, partitions=8)
        gateway_binary = os.path.join(options.bin, "stadium-gateway")
        try:
            gateway = Gateway(gateway_binary, broker.bootstrap)
            try:
                case_burst_and_replay(broker, gateway)
                case_paced_stream(broker, gateway, options.readers)
                case_resume(broker, gateway)
                case_bursts(broker, gateway, options.burst_readers, options.burst_records)
                if gateway.metric('stadium_errors_total{kind="slow_consumer"}') != 0:
                    raise Failure("a reading client was counted as a slow consumer")
            finally:
                gateway.stop()
            case_silent_client(broker, gateway_binary)
        except Failure as failure:
            print("catchup test FAILED: %s" % failure)
            return 1
        finally:
            broker.stop()
    print("catchup test: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
