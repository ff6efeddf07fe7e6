#!/usr/bin/env python3
"""Thousands of wss:// connections on one TLS gateway, from one stadium-load --tls.

The gateway (--tls-cert/--tls-key, no Kafka) takes --connections TLS connections (5,000 by
default) from stadium-load in fanout mode, which subscribes them all and publishes --messages
probes once all are subscribed: every probe must reach every connection once (stadium-load's
verdict and report), and no TLS error may be counted on either side.

    python3 Tests/tls/wss_scale_test.py --bin .build/debug [--connections 20000] [--rate 600]

Exit status 0 when all hold, 1 on a failed check, 2 when the test could not run.
"""

import argparse
import json
import os
import subprocess
import sys
import time

from wss_test import Failure, Gateway, error_counts, run_with_certificates


def fan_out(binaries, count, rate, messages, path, processes):
    ca = path("ca.pem")
    gateway = Gateway(
        os.path.join(binaries, "stadium-gateway"), "--auth", "none", "--pub-rate", "0",
        "--max-connections", str(count + 1000), "--handshake-timeout", "60",
        "--tls-cert", path("first.pem"), "--tls-key", path("first.key"), ca=ca)
    processes.append(gateway)
    port = gateway.port
    report = path("report.json")
    started = time.monotonic()
    load = subprocess.run(
        [os.path.join(binaries, "stadium-load"), "--url", f"wss://127.0.0.1:{port}/", "--ca", ca,
         "--mode", "fanout", "--connections", str(count), "--rate", str(rate), "--messages", str(messages),
         "--interval-ms", "500", "--handshake-timeout", "60", "--report", report],
        capture_output=True, text=True, timeout=600)
    if load.returncode != 0:
        raise Failure(f"stadium-load --tls failed ({load.returncode}):\n{load.stdout[-3000:]}{load.stderr[-2000:]}")
    with open(report) as handle:
        result = json.load(handle)
    counters = result["counters"]
    if counters.get("handshakes", 0) < count or counters.get("handshake_failures", 0) or counters.get("protocol_errors", 0):
        raise Failure(f"not every wss connection came up cleanly: {counters}")
    expected = count * messages
    if counters.get("probes_received") != expected or (result.get("loss") or {}).get("missing", 0):
        raise Failure(f"{counters.get('probes_received')} probes received of {expected}: {result.get('loss')}")
    errors = {kind: value for kind, value in error_counts(gateway).items() if kind.startswith("tls_") and value}
    if errors:
        raise Failure(f"the gateway counted TLS errors: {errors}")
    print(f"wss-scale-test: {count} wss connections, {messages} probes each reached all "
          f"({expected} deliveries) in {time.monotonic() - started:.1f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=".build/debug")
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--rate", type=int, default=600,
                        help="connects a second: under what a debug gateway handshakes on a busy core, so no SYN "
                             "overflows the listen queue and comes back a second later as a failed connect")
    parser.add_argument("--messages", type=int, default=3)
    arguments = parser.parse_args()
    return run_with_certificates(
        "wss-scale-test",
        lambda path, processes: fan_out(arguments.bin, arguments.connections, arguments.rate, arguments.messages, path, processes))


if __name__ == "__main__":
    sys.exit(main())
