#!/usr/bin/env python3
"""Thousands of wss:// connections on one TLS gateway, from one stadium-load --tls.

The gateway (--tls-cert/--tls-key, no Kafka) takes --connections TLS connections (5,000 by
default) from stadium-load in fanout mode, which subscribes them all and publishes --messages
probes once all are subscribed: every probe must reach every connection once (stadium-load's
verdict and report), and no TLS error may be counted on either side.

    python3 Tests/tls/wss_scale_test.py --bin .build/debug [--connections 20000]

Exit status 0 when all hold, 1 on a failed check, 2 when the test could not run.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from wss_test import Failure, Process, error_counts, make_certificates


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=".build/debug")
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--messages", type=int, default=3)
    arguments = parser.parse_args()
    count = arguments.connections
    with tempfile.TemporaryDirectory(prefix="stadium-wss-scale-") as directory:
        try:
            path = make_certificates(directory)
        except (OSError, subprocess.CalledProcessError) as error:
            print(f"wss-scale-test: cannot make certificates with openssl: {error}", file=sys.stderr)
            return 2
        ca = path("ca.pem")
        gateway = None
        try:
            gateway = Process(
                [os.path.join(arguments.bin, "stadium-gateway"), "--listen", "127.0.0.1:0", "--auth", "none",
                 "--pub-rate", "0", "--max-connections", str(count + 1000), "--handshake-timeout", "60",
                 "--tls-cert", path("first.pem"), "--tls-key", path("first.key")],
                r"listening on wss://127\.0\.0\.1:(\d+)/")
            port = int(gateway.match.group(1))
            report = path("report.json")
            started = time.monotonic()
            load = subprocess.run(
                [os.path.join(arguments.bin, "stadium-load"), "--url", f"wss://127.0.0.1:{port}/", "--ca", ca,
                 "--mode", "fanout", "--connections", str(count), "--messages", str(arguments.messages),
                 "--interval-ms", "500", "--handshake-timeout", "60", "--report", report],
                capture_output=True, text=True, timeout=600)
            if load.returncode != 0:
                raise Failure(f"stadium-load --tls failed ({load.returncode}):\n{load.stdout[-3000:]}{load.stderr[-2000:]}")
            with open(report) as handle:
                result = json.load(handle)
            counters = result["counters"]
            if counters.get("handshakes", 0) < count or counters.get("handshake_failures", 0) or counters.get("protocol_errors", 0):
                raise Failure(f"not every wss connection came up cleanly: {counters}")
            expected = count * arguments.messages
            if counters.get("probes_received") != expected or (result.get("loss") or {}).get("missing", 0):
                raise Failure(f"{counters.get('probes_received')} probes received of {expected}: {result.get('loss')}")
            errors = {kind: value for kind, value in error_counts(port, ca).items() if kind.startswith("tls_") and value}
            if errors:
                raise Failure(f"the gateway counted TLS errors: {errors}")
            print(f"wss-scale-test: {count} wss connections, {arguments.messages} probes each reached all "
                  f"({expected} deliveries) in {time.monotonic() - started:.1f} s")
        except Failure as failure:
            print(f"wss-scale-test: FAILED: {failure}", file=sys.stderr)
            if gateway:
                print("".join(gateway.lines[-20:]), file=sys.stderr)
            return 1
        finally:
            if gateway:
                gateway.stop()
    print("wss-scale-test: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
