#!/usr/bin/env python3
"""wss:// end to end: the gateway with --tls-cert/--tls-key in front of the development broker.

Certificates come from a test CA the `openssl` command makes here. Checks:
  1. a Python `ssl` + `websockets` client over wss (TLS 1.3, and one held to TLS 1.2): sub, pub,
     the ok, and the msg back through Kafka (a large one with permessage-deflate both ways);
  2. `openssl s_client`: -tls1_3 and -tls1_2 connect and verify; -tls1_1 and -tls1 are refused
     by the gateway (counted as tls_version, so the client really offered them); after a
     KeyUpdate that requests the gateway's, a request is still answered; Debian's sslscan finds
     no protocol below TLS 1.2 and no cipher but ECDHE with AEAD;
  3. garbage, plain HTTP, a ClientHello cut short and closed, and one cut short and left open
     (the handshake timeout) each close that connection only and are counted, while an
     established wss client keeps working;
  4. SIGHUP with a new certificate in the files: the established wss client stays connected
     and working, and a new client is shown the new certificate.

    python3 Tests/tls/wss_test.py --bin .build/debug

Exit status 0 when all hold, 1 on a failed check, 2 when the test could not run.
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import xml.etree.ElementTree as ElementTree

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from stadium_test import Broker, Failure, Gateway, Process, wait_until  # noqa: E402  the tests' shared helpers

try:
    import websockets
except ImportError:
    print("wss-test: the Python package websockets is missing (scripts/install-deps.sh test)", file=sys.stderr)
    sys.exit(2)

TIMEOUT = 10


def run(command, **kwargs):
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


def make_certificates(directory):
    """A test CA and two server certificates for localhost/127.0.0.1 that it signed."""
    path = lambda name: os.path.join(directory, name)
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2", "-subj", "/CN=Stadium wss-test CA"])
    with open(path("ext.cnf"), "w") as handle:
        handle.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name in ("first", "second"):
        run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", path(name + ".key"), "-out", path(name + ".csr"), "-subj", f"/CN=localhost/O={name}"])
        run(["openssl", "x509", "-req", "-in", path(name + ".csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
             "-CAcreateserial", "-out", path(name + ".pem"), "-days", "2", "-extfile", path("ext.cnf")])
    return path


def client_context(ca, maximum=None):
    context = ssl.create_default_context(cafile=ca)
    if maximum:
        context.maximum_version = maximum
    return context


def error_counts(gateway):
    """stadium_errors_total by kind, read over https."""
    prefix = 'stadium_errors_total{kind="'
    return {series[len(prefix):-2]: value for series, value in gateway.metrics().items() if series.startswith(prefix)}


def wait_for_counts(gateway, wanted, timeout=TIMEOUT):
    """Polls /metrics until every kind reached its count: the gateway counts as it closes."""
    def reached():
        counts = error_counts(gateway)
        return counts if all(counts.get(kind, 0) >= value for kind, value in wanted.items()) else None
    return wait_until("stadium_errors_total to reach %s" % wanted, timeout, reached, interval=0.1)


async def round_trip(ws, request_id, subject, payload):
    """pub on `subject` (held by this client): the ok and the msg back through Kafka."""
    await ws.send(json.dumps({"op": "pub", "id": request_id, "subject": subject, "data": payload}))
    got_ok = got_msg = False
    while not (got_ok and got_msg):
        message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        if message.get("op") == "ok" and message.get("id") == request_id:
            got_ok = True
        elif message.get("op") == "msg" and message.get("subject") == subject and message.get("data") == payload:
            got_msg = True
        elif message.get("op") == "err":
            raise Failure(f"pub answered {message}")


async def subscribe(port, ca, subject, maximum=None):
    ws = await websockets.connect(f"wss://localhost:{port}/", ssl=client_context(ca, maximum),
                                  subprotocols=["stadium.v1"], open_timeout=TIMEOUT)
    await ws.send(json.dumps({"op": "sub", "id": 1, "subjects": [subject]}))
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        if message.get("op") == "ok" and message.get("id") == 1:
            return ws
        if message.get("op") == "err":
            raise Failure(f"sub answered {message}")


def s_client(port, ca, version_flag, extra=()):
    result = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost", "-CAfile", ca, "-brief",
         version_flag, *extra], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT)
    return result.returncode, result.stdout + result.stderr


def check_openssl_versions(gateway, ca):
    port = gateway.port
    for flag, name in (("-tls1_3", "TLSv1.3"), ("-tls1_2", "TLSv1.2")):
        status, output = s_client(port, ca, flag)
        if f"Protocol version: {name}" not in output or "Verification: OK" not in output:
            raise Failure(f"openssl s_client {flag} did not connect with a verified {name}:\n{output}")
    before = error_counts(gateway).get("tls_version", 0)
    for flag in ("-tls1_1", "-tls1"):
        # SECLEVEL=0 lets this OpenSSL offer the old version, so the gateway is the one refusing it.
        status, output = s_client(port, ca, flag, ["-cipher", "DEFAULT@SECLEVEL=0"])
        if status == 0 or "CONNECTION ESTABLISHED" in output:
            raise Failure(f"openssl s_client {flag} connected:\n{output}")
    wait_for_counts(gateway, {"tls_version": before + 2})


def check_key_update(port, ca):
    """s_client's K: a KeyUpdate that asks for the gateway's; the request after it is answered
    (under the gateway's next keys), then the connection ends with close_notify."""
    client = subprocess.Popen(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost", "-CAfile", ca, "-tls1_3",
         "-crlf"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    timer = threading.Timer(TIMEOUT, client.kill)
    timer.start()
    try:
        output = []
        client.stdin.write("K\n")
        client.stdin.flush()
        # Each stdin read of s_client is one command or one piece of data: the request waits for the KeyUpdate.
        for line in client.stdout:
            output.append(line)
            if line.startswith("KEYUPDATE"):
                break
        client.stdin.write("GET /healthz HTTP/1.1\nHost: localhost\n\n")
        client.stdin.flush()
        for line in client.stdout:
            output.append(line)
        text = "".join(output)
        if "KEYUPDATE" not in text or "HTTP/1.1 200 OK" not in text:
            raise Failure(f"no answer after a KeyUpdate:\n{text[-1500:]}")
    finally:
        timer.cancel()
        client.kill()
        client.wait()


def check_scan(port):
    """Debian's sslscan finds TLS 1.2 and 1.3 only, and only ECDHE with AEAD ciphers."""
    try:
        result = subprocess.run(["sslscan", "--no-colour", "--xml=-", f"127.0.0.1:{port}"],
                                capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise Failure("sslscan is not installed (scripts/install-deps.sh test)") from None
    root = ElementTree.fromstring(result.stdout[result.stdout.index("<?xml"):])
    enabled = {f"{p.get('type')}{p.get('version')}" for p in root.iter("protocol") if p.get("enabled") == "1"}
    if enabled != {"tls1.2", "tls1.3"}:
        raise Failure(f"sslscan found protocols {sorted(enabled)}, expected TLS 1.2 and 1.3 only")
    ciphers = [(c.get("sslversion"), c.get("cipher")) for c in root.iter("cipher")]
    weak = [c for c in ciphers if not (c[0] == "TLSv1.3" or (c[1].startswith("ECDHE-") and re.search(r"GCM|CHACHA20", c[1])))]
    if not ciphers or weak:
        raise Failure(f"sslscan found ciphers outside ECDHE with AEAD: {weak or 'none at all'}")


def client_hello():
    """The first flight of a real TLS client, taken from memory BIOs."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def expect_closed(port, payload, keep_open=False):
    """Sends `payload` raw to the TLS port; the gateway must end the connection by itself."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(payload)
        if not keep_open:
            sock.shutdown(socket.SHUT_WR)
        sock.settimeout(TIMEOUT + 5)
        try:
            while sock.recv(4096):
                pass  # an alert may come first
        except ConnectionResetError:
            pass
        except socket.timeout:
            raise Failure(f"the gateway kept a connection open after {payload[:20]!r}") from None


def certificate_der(path):
    return subprocess.run(["openssl", "x509", "-in", path, "-outform", "DER"], check=True, capture_output=True).stdout


def presented_certificate(port, ca):
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
        with client_context(ca).wrap_socket(raw, server_hostname="localhost") as tls:
            return tls.getpeercert(binary_form=True)


async def scenario(gateway, path):
    ca, port = path("ca.pem"), gateway.port
    held = await subscribe(port, ca, "/feed/held")
    await round_trip(held, 2, "/feed/held", {"n": 1})
    # websockets offers permessage-deflate: over TLS a message is compressed, then sealed, both ways.
    agreed = held.response.headers.get("Sec-WebSocket-Extensions", "")
    if not agreed.startswith("permessage-deflate; server_no_context_takeover"):
        raise Failure(f"permessage-deflate was not agreed over wss: {agreed!r}")
    await round_trip(held, 10, "/feed/held", {"n": "deflated", "text": "compressed, then sealed; " * 200})
    tls12 = await subscribe(port, ca, "/feed/old", maximum=ssl.TLSVersion.TLSv1_2)
    await round_trip(tls12, 2, "/feed/old", {"n": "tls1.2"})
    await tls12.close()
    print("wss-test: sub/pub/msg through Kafka over TLS 1.3 (with permessage-deflate) and TLS 1.2")

    await asyncio.to_thread(check_openssl_versions, gateway, ca)
    print("wss-test: s_client -tls1_3 and -tls1_2 verified; -tls1_1 and -tls1 refused and counted")
    await asyncio.to_thread(check_key_update, port, ca)
    print("wss-test: a KeyUpdate asking for ours, then a request answered")

    before = error_counts(gateway)
    hello = client_hello()
    await asyncio.to_thread(expect_closed, port, b"\x00\x01garbage that is not TLS at all\r\n\r\n")
    await asyncio.to_thread(expect_closed, port, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    await asyncio.to_thread(expect_closed, port, hello[: len(hello) // 2])
    await asyncio.to_thread(expect_closed, port, hello[: len(hello) // 2], True)
    wait_for_counts(gateway, {
        "tls_not_tls": before.get("tls_not_tls", 0) + 2,
        "tls_truncated": before.get("tls_truncated", 0) + 1,
        "handshake_timeout": before.get("handshake_timeout", 0) + 1,
    })
    await round_trip(held, 3, "/feed/held", {"n": 2})
    print("wss-test: garbage, plain HTTP and truncated ClientHellos closed and counted; the wss client kept working")
    # After the counts above: the scanner's own cut-short handshakes must not stand in for theirs.
    await asyncio.to_thread(check_scan, port)
    print("wss-test: sslscan finds TLS 1.2 and 1.3 only, ECDHE with AEAD ciphers only")

    if presented_certificate(port, ca) != certificate_der(path("first.pem")):
        raise Failure("the gateway does not present the first certificate")
    os.replace(path("second.pem"), path("server.pem"))
    os.replace(path("second.key"), path("server.key"))
    mark = len(gateway.lines)
    gateway.process.send_signal(signal.SIGHUP)
    gateway.wait_for(r"TLS certificates reloaded", TIMEOUT, start=mark)
    await round_trip(held, 4, "/feed/held", {"n": 3})
    if presented_certificate(port, ca) != certificate_der(path("server.pem")):
        raise Failure("after SIGHUP a new client is not shown the new certificate")
    fresh = await subscribe(port, ca, "/feed/fresh")
    await round_trip(fresh, 2, "/feed/fresh", {"n": "after reload"})
    await fresh.close()
    await round_trip(held, 5, "/feed/held", {"n": 4})
    await held.close()
    if gateway.process.poll() is not None:
        raise Failure("the gateway ended")
    print("wss-test: SIGHUP reloaded the certificate; the held client stayed, a new one saw the new certificate")


def run_with_certificates(name, body):
    """Makes the test CA and certificates in a scratch directory and runs `body(path, processes)`;
    the processes it appends are stopped after. Returns the exit status."""
    processes = []
    with tempfile.TemporaryDirectory(prefix=f"stadium-{name}-") as directory:
        try:
            path = make_certificates(directory)
        except (OSError, subprocess.CalledProcessError) as error:
            print(f"{name}: cannot make certificates with openssl: {error}", file=sys.stderr)
            return 2
        try:
            body(path, processes)
        except Failure as failure:
            print(f"{name}: FAILED: {failure}", file=sys.stderr)
            for process in processes:
                print("".join(process.lines[-30:]), file=sys.stderr)
            return 1
        finally:
            for process in reversed(processes):
                Process.stop(process)  # how they end is not what these tests check
    print(f"{name}: passed")
    return 0


def wss_round_trips(binaries, path, processes):
    # The gateway reads server.*; first.pem stays to compare with what it presents.
    shutil.copyfile(path("first.pem"), path("server.pem"))
    shutil.copyfile(path("first.key"), path("server.key"))
    broker = Broker(os.path.join(binaries, "stadium-kafka"), os.path.dirname(path("ca.pem")), topics="feed")
    processes.append(broker.process)
    gateway = Gateway(
        os.path.join(binaries, "stadium-gateway"), "--auth", "none", "--bootstrap-file", broker.bootstrap_file,
        "--topics", "feed", "--pub-rate", "0", "--max-connections", "2000", "--handshake-timeout", "2",
        "--tls-cert", path("server.pem"), "--tls-key", path("server.key"), ca=path("ca.pem"))
    processes.append(gateway)
    wait_until("the gateway's /healthz over https to say ok (Kafka)", 30, gateway.healthy, interval=0.1)
    asyncio.run(scenario(gateway, path))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=".build/debug")
    arguments = parser.parse_args()
    return run_with_certificates("wss-test", lambda path, processes: wss_round_trips(arguments.bin, path, processes))


if __name__ == "__main__":
    sys.exit(main())
