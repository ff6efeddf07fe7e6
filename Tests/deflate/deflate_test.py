#!/usr/bin/env python3
"""permessage-deflate (RFC 7692) end to end, against a real gateway, with clients that are not ours.

Starts stadium-gateway (no Kafka: pubs go straight to local subscribers) and checks:
  1. the Python `websockets` client (which offers `permessage-deflate; client_max_window_bits`,
     as browsers do) gets `server_no_context_takeover; client_no_context_takeover`; a client
     that offers nothing gets no extension;
  2. a pub sent compressed by `websockets` reaches a compressing subscriber, a plain one and a
     raw socket client byte for byte the same; the raw client sees RSV1 on the wire and inflates
     it with Python's zlib (raw deflate, 00 00 FF FF appended);
  3. the retained message and a resume with since (history) reach a deflate client compressed;
  4. a decompression bomb (1 MiB that deflates to about 1 KiB) is closed with 1009 and counted
     (inflated_too_big), corrupt deflate data with 1007 (inflate_failed), RSV1 without the
     extension with 1002 (protocol_error); another client keeps working;
  5. `stadium-load --compression` (200 bots offering deflate, 2 KiB probes): every probe reaches
     every bot, and the gateway writes a fraction of the plain bytes;
  6. with --compression off the same offer gets no extension.

    python3 Tests/deflate/deflate_test.py --bin .build/debug

Exit status 0 when all hold, 1 on a failed check, 2 when the test could not run.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from stadium_test import Failure, Gateway, RawWebSocket, check  # noqa: E402  the tests' shared helpers

try:
    import websockets
    from websockets.asyncio.client import connect
except ImportError:
    print("deflate-test: the Python package websockets is missing (scripts/install-deps.sh test)", file=sys.stderr)
    sys.exit(2)

TIMEOUT = 10
SUBJECT = "/chat/deflate"
AGREED = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"


def start_gateway(binary, *options):
    return Gateway(binary, "--io-threads", "2", "--max-connections", "1000", *options)


def deflate(payload):
    """A message as permessage-deflate sends it: raw deflate, sync flush, 00 00 FF FF removed."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    data = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
    check(data.endswith(b"\x00\x00\xff\xff"), "zlib's sync flush did not end with 00 00 FF FF")
    return data[:-4]


def inflate(payload):
    return zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff")


class RawClient(RawWebSocket):
    """A raw socket client that offers deflate, to see RSV1 on the wire and send what no library would."""

    def __init__(self, port, extensions="permessage-deflate; client_max_window_bits"):
        super().__init__(port, extensions=extensions, timeout=TIMEOUT)

    def next_message(self):
        """(was compressed, the JSON text) of the next text message."""
        while True:
            opcode, payload, rsv1 = self.next_frame()
            if opcode == 1:
                return rsv1, (inflate(payload) if rsv1 else payload).decode()
            check(opcode in (9, 10), "raw client expected a text frame, got opcode %d" % opcode)


def big_data(number):
    """A pub's data of about 2 KiB that compresses well, like a quiz question or a leaderboard."""
    return {"round": number, "top": [{"user": "player-%04d" % i, "score": 1000 - i, "rank": i + 1} for i in range(40)]}


async def receive_json(client):
    return json.loads(await asyncio.wait_for(client.recv(), TIMEOUT))


async def check_negotiation_and_round_trip(port):
    uri = "ws://127.0.0.1:%d/" % port
    async with connect(uri, subprotocols=["stadium.v1"]) as compressing, \
            connect(uri, subprotocols=["stadium.v1"], compression=None) as plain:
        agreed = compressing.response.headers.get("Sec-WebSocket-Extensions")
        check(agreed == AGREED, "websockets was answered %r, wanted %r" % (agreed, AGREED))
        check(plain.response.headers.get("Sec-WebSocket-Extensions") is None,
              "a client that offered nothing was answered an extension")
        raw = RawClient(port)
        check(raw.extensions == [AGREED], "the raw client was answered %r" % raw.extensions)

        for client in (compressing, plain):
            await client.send(json.dumps({"op": "sub", "id": 1, "subjects": [SUBJECT]}))
            check(await receive_json(client) == {"op": "ok", "id": 1}, "sub not acknowledged")
        raw.send(json.dumps({"op": "sub", "id": 1, "subjects": [SUBJECT]}).encode())
        check(raw.next_message() == (False, '{"op":"ok","id":1}'), "raw client's sub not acknowledged")

        # A short message is not worth compressing: it may come plain to a deflate client.
        await plain.send('{"op":"pub","id":2,"subject":"%s","data":1}' % SUBJECT)
        ops = {json.loads(await asyncio.wait_for(plain.recv(), TIMEOUT))["op"] for _ in range(2)}
        check(ops == {"ok", "msg"}, "the short pub did not come back to its publisher: %s" % ops)
        check(json.loads((await asyncio.wait_for(compressing.recv(), TIMEOUT)))["data"] == 1, "short message lost")
        rsv1, short = raw.next_message()
        check(json.loads(short)["data"] == 1, "the short message did not arrive: %s" % short)
        seq = json.loads(short)["seq"]

        # websockets compresses what it sends: the gateway inflates the pub.
        data = json.dumps(big_data(1), separators=(",", ":"))
        await compressing.send('{"op":"pub","id":3,"subject":"%s","data":%s}' % (SUBJECT, data))
        texts = {}
        while len(texts) < 2:
            message = await asyncio.wait_for(compressing.recv(), TIMEOUT)
            texts[json.loads(message)["op"]] = message
        check(json.loads(texts["ok"]) == {"op": "ok", "id": 3}, "pub not acknowledged: %s" % texts["ok"])
        plain_text = await asyncio.wait_for(plain.recv(), TIMEOUT)
        rsv1, raw_text = raw.next_message()
        check(rsv1, "the broadcast message reached the deflate client uncompressed")
        check(texts["msg"] == plain_text == raw_text,
              "the message differs between a compressed and a plain client:\n%s\n%s\n%s"
              % (texts["msg"], plain_text, raw_text))
        check('"data":%s' % data in plain_text, "the message does not carry the pub's data byte for byte")
        raw.close()

        # The retained message and a resume from history come compressed to a deflate client.
        late = RawClient(port)
        late.send(json.dumps({"op": "sub", "id": 4, "subjects": [SUBJECT], "since": {SUBJECT: seq}}).encode())
        check(late.next_message()[1] == '{"op":"ok","id":4}', "resume not acknowledged")
        rsv1, replayed = late.next_message()
        check(rsv1 and replayed == texts["msg"], "the resumed message was not the compressed broadcast: %r %s" % (rsv1, replayed))
        late.close()
        fresh = RawClient(port)
        fresh.send(json.dumps({"op": "sub", "id": 5, "subjects": ["/chat/retained"]}).encode())
        check(fresh.next_message()[1] == '{"op":"ok","id":5}', "sub not acknowledged")
        await plain.send('{"op":"pub","id":6,"subject":"/chat/retained","data":%s}' % data)
        check(fresh.next_message()[0], "a live message was not compressed")
        fresh.close()
        retained_client = RawClient(port)
        retained_client.send(json.dumps({"op": "sub", "id": 7, "subjects": ["/chat/retained"]}).encode())
        check(retained_client.next_message()[1] == '{"op":"ok","id":7}', "sub not acknowledged")
        rsv1, retained = retained_client.next_message()
        check(rsv1 and json.loads(retained).get("retained") is True and '"data":%s' % data in retained,
              "the retained message was not sent compressed: %r %s" % (rsv1, retained[:80]))
        retained_client.close()


def check_bad_input(gateway):
    port = gateway.port
    witness = RawClient(port)
    witness.send(json.dumps({"op": "sub", "id": 1, "subjects": ["/chat/witness"]}).encode())
    check(witness.next_message()[1] == '{"op":"ok","id":1}', "witness sub not acknowledged")

    bomb = deflate(b" " * (1 << 20))
    check(len(bomb) < 4096, "the bomb is %d bytes compressed" % len(bomb))
    before = gateway.metric('stadium_errors_total{kind="inflated_too_big"}')
    client = RawClient(port)
    client.send(bomb, rsv1=True)
    code = client.close_code()
    check(code == 1009, "a decompression bomb was closed with %d, not 1009" % code)
    check(gateway.metric('stadium_errors_total{kind="inflated_too_big"}') == before + 1, "the bomb was not counted")

    client = RawClient(port)
    client.send(b"\xff\xff\xff\xff\x00", rsv1=True)
    code = client.close_code()
    check(code == 1007, "corrupt deflate data was closed with %d, not 1007" % code)
    check(gateway.metric('stadium_errors_total{kind="inflate_failed"}') >= 1, "corrupt deflate data was not counted")

    client = RawClient(port, extensions=None)
    check(client.extensions == [], "an extension was answered to a client that offered none")
    client.send(deflate(b'{"op":"sub","subjects":["/chat/witness"]}'), rsv1=True)
    code = client.close_code()
    check(code == 1002, "RSV1 without the extension was closed with %d, not 1002" % code)

    witness.send(deflate(b'{"op":"pub","id":2,"subject":"/chat/witness","data":"still here, still here"}'), rsv1=True)
    seen = {json.loads(witness.next_message()[1])["op"] for _ in range(2)}
    check(seen == {"ok", "msg"}, "the witness stopped working after the others' bad input: %s" % seen)


def check_load(binaries, gateway):
    port = gateway.port
    connections, messages, padding = 200, 5, 2000
    before = gateway.metric("stadium_bytes_sent_total")
    with tempfile.TemporaryDirectory() as directory:
        report = os.path.join(directory, "report.json")
        load = subprocess.run(
            [os.path.join(binaries, "stadium-load"), "--url", "ws://127.0.0.1:%d/" % port, "--mode", "fanout",
             "--connections", str(connections), "--messages", str(messages), "--interval-ms", "200",
             "--padding-bytes", str(padding), "--compression", "--report", report],
            capture_output=True, text=True, timeout=120)
        check(load.returncode == 0, "stadium-load --compression failed (%d):\n%s%s"
              % (load.returncode, load.stdout[-2000:], load.stderr[-2000:]))
        with open(report) as handle:
            counters = json.load(handle)["counters"]
    check(counters.get("probes_received") == connections * messages and not counters.get("protocol_errors"),
          "stadium-load --compression: %s" % counters)
    sent = gateway.metric("stadium_bytes_sent_total") - before
    plain = connections * messages * padding
    check(sent < plain / 4, "the gateway wrote %d bytes for %d bytes of plain probes: not compressed" % (sent, plain))
    return sent, plain


async def check_compression_off(port):
    async with connect("ws://127.0.0.1:%d/" % port, subprotocols=["stadium.v1"]) as client:
        check(client.response.headers.get("Sec-WebSocket-Extensions") is None,
              "--compression off still agreed to an extension")
        await client.send(json.dumps({"op": "sub", "id": 1, "subjects": [SUBJECT]}))
        check(await receive_json(client) == {"op": "ok", "id": 1}, "sub not acknowledged")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=".build/debug", help="directory of stadium-gateway")
    args = parser.parse_args()
    binary = os.path.join(args.bin, "stadium-gateway")
    if not os.access(binary, os.X_OK):
        print("deflate-test: %s not found (build first)" % binary, file=sys.stderr)
        return 2
    gateways = []
    try:
        gateway = start_gateway(binary)
        gateways.append(gateway)
        asyncio.run(check_negotiation_and_round_trip(gateway.port))
        print("deflate-test: negotiation, compressed pub, broadcast, retained and resume: ok")
        check_bad_input(gateway)
        print("deflate-test: bomb 1009, corrupt 1007, RSV1 without extension 1002, all counted: ok")
        sent, plain = check_load(args.bin, gateway)
        print("deflate-test: stadium-load --compression: every probe reached every bot, %d bytes written for %d "
              "of probes: ok" % (sent, plain))
        off = start_gateway(binary, "--compression", "off")
        gateways.append(off)
        asyncio.run(check_compression_off(off.port))
        print("deflate-test: --compression off: ok")
    except (Failure, OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException) as error:
        print("deflate-test: FAILED: %s" % error, file=sys.stderr)
        return 1
    finally:
        for gateway in gateways:
            gateway.stop()
    print("deflate-test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
