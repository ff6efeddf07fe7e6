#!/usr/bin/env python3
"""Shared nothing, measured: N quiz players on one gateway against N/2 on each of two gateways,
the gateway CPU seconds spent per player per round.

Per run and layout: the development broker, stadium-processors and the load generators on core
0; the gateway(s) on core 1 (two gateways share that core, so both layouts have the same CPU to
spend). Players play `--rounds` full rounds (`stadium-load --duration`); the gateways' CPU
seconds are read from /proc from the first question after every player subscribed to the end
of the last round. Every gateway reads every record of the question, result and top topics
(the result and top records of the other gateway's players too), so the per-player cost of two
gateways is the one of one gateway plus what each spends on records for players it does not
hold (see Benchmarks/foreign_records.py for that cost per record).

    python3 Benchmarks/scale_out.py --players 20000 [--rounds 4] [--runs 3]

Each run also records how fast each core of the VM was meanwhile (bench_processes.MachineWatch:
each core runs at one of two speeds about 1.5x apart, switching every second or so), and the
gateway CPU per player per round divided by the gateways' core's mean loopback delivery.

Writes Benchmarks/reports/scale-out-<commit>.json (or --report).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile

from bench_processes import (GATEWAY_CORE, LOAD_CORE, ROOT, SUBSCRIBED, in_loopback_deliveries, listening_port, MachineWatch, metric, prepare,
                             start, start_broker, stop_all, wait_until)
from compare import cpu_seconds  # the server's CPU from /proc


def questions_published(directory):
    return open(os.path.join(directory, "processors.log")).read().count("question published")


def one_run(options, gateway_count, run, directory):
    binary = lambda name: os.path.join(options.bin, name)  # noqa: E731
    bootstrap_path = os.path.join(directory, "bootstrap-%d-%d" % (gateway_count, run))
    processes = []
    try:
        broker, bootstrap = start_broker(binary("stadium-kafka"), bootstrap_path, os.path.join(directory, "kafka.log"), 16)
        processes.append(broker)
        processes.append(start([binary("stadium-processors"), "--brokers", bootstrap, "--round", str(options.round),
                                "--answer-window", str(options.round // 2), "--start-delay", "5"],
                               os.path.join(directory, "processors.log"), LOAD_CORE))
        share = options.players // gateway_count
        gateways = []
        for index in range(gateway_count):
            log_path = os.path.join(directory, "gateway-%d.log" % index)
            process = start([binary("stadium-gateway"), "--listen", "127.0.0.1:0", "--auth", "none", "--brokers", bootstrap,
                             "--max-connections", str(share + 1000), "--handshake-timeout", "60"], log_path, GATEWAY_CORE)
            processes.append(process)
            gateways.append((process, listening_port(process, log_path)))
        for _, port in gateways:
            wait_until(lambda: metric(port, "stadium_kafka_up") == 1, 60, "the gateways' Kafka connection")
        duration = (options.rounds + 2) * options.round
        loads = []
        for index, (_, port) in enumerate(gateways):
            log_path = os.path.join(directory, "load-%d.log" % index)
            loads.append((start([binary("stadium-load"), "--url", "ws://127.0.0.1:%d/" % port, "--players", str(share),
                                 "--names", "g%d-bot-{i}" % index, "--first-source", "127.%d.0.2" % (index + 1),
                                 "--duration", str(duration), "--think-seconds", str(options.round // 4),
                                 "--progress-every", "1", "--report", os.path.join(directory, "load-%d-%d.json" % (index, run))],
                                log_path, LOAD_CORE), log_path))
        for _, log_path in loads:
            wait_until(lambda: any(int(m) >= share for m in SUBSCRIBED.findall(open(log_path).read())), 600,
                       "every player to subscribe", interval=0.5)
        # From one question to the one `rounds` later: whole rounds, however the ramp fell.
        first = questions_published(directory) + 1
        wait_until(lambda: questions_published(directory) >= first, 2 * options.round, "the next question")
        cpu_before = sum(cpu_seconds(process.pid) for process, _ in gateways)
        wait_until(lambda: questions_published(directory) >= first + options.rounds, (options.rounds + 2) * options.round,
                   "%d rounds" % options.rounds, interval=0.05)
        cpu = sum(cpu_seconds(process.pid) for process, _ in gateways) - cpu_before
        statuses = [load.wait(timeout=duration + 300) for load, _ in loads]
        verdicts = []
        for index in range(gateway_count):
            with open(os.path.join(directory, "load-%d-%d.json" % (index, run))) as file:
                verdicts.append(json.load(file).get("verdict") or {})
        return {
            "gateways": gateway_count, "players": share * gateway_count, "rounds": options.rounds,
            "gateway_cpu_seconds": round(cpu, 2),
            "cpu_ms_per_player_per_round": round(1000 * cpu / (share * gateway_count * options.rounds), 4),
            "load_statuses": statuses, "lost": sum(v.get("lost", 0) for v in verdicts),
            "duplicates": sum(v.get("duplicates", 0) for v in verdicts),
            "passed": all(v.get("passed") for v in verdicts),
        }
    finally:
        stop_all(processes)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build/release"))
    parser.add_argument("--players", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--round", type=int, default=20, help="seconds between questions (answers close after half)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--report")
    options = parser.parse_args()
    commit, report_path = prepare("scale-out", options.report)
    results = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as directory:
        for run in range(options.runs):
            # Interleaved, so a slow stretch of the machine does not land on one layout only.
            for gateway_count in (1, 2):
                with MachineWatch((LOAD_CORE, GATEWAY_CORE)) as watch:
                    result = one_run(options, gateway_count, run, directory)
                result["machine"] = machine = watch.summary()
                result["cpu_per_player_per_round_in_loopback_deliveries"] = in_loopback_deliveries(
                    result["cpu_ms_per_player_per_round"] * 1000, machine[GATEWAY_CORE])
                results[gateway_count].append(result)
                print("run %d, %d gateway(s): %s players, %d rounds, gateway CPU %.2f s = %.4f ms per player per round, "
                      "lost %d, duplicates %d; core 1: a loopback delivery %.2f µs (slow %.0f%% of the time), "
                      "so %.1f loopback deliveries per player per round" % (
                          run + 1, gateway_count, f"{result['players']:,}", options.rounds, result["gateway_cpu_seconds"],
                          result["cpu_ms_per_player_per_round"], result["lost"], result["duplicates"],
                          machine[GATEWAY_CORE]["mean_us"], 100 * machine[GATEWAY_CORE]["slow_share"],
                          result["cpu_per_player_per_round_in_loopback_deliveries"]), flush=True)
    command = " ".join(["python3", os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    with open(report_path, "w") as file:
        json.dump({"commit": commit, "command": command, "runs": results}, file, indent=1)
    print("\n| gateways | players each | gateway CPU ms per player per round, median (min-max) "
          "| in loopback deliveries of core 1 | core 1 slow, share of the time | lost | dup |")
    print("|---|---|---|---|---|---|---|")
    for gateway_count, runs in results.items():
        values = [r["cpu_ms_per_player_per_round"] for r in runs]
        relative = [r["cpu_per_player_per_round_in_loopback_deliveries"] for r in runs]
        slow = [r["machine"][GATEWAY_CORE]["slow_share"] for r in runs]
        print("| %d | %s | %.4f (%.4f-%.4f) | %.1f (%.1f-%.1f) | %.0f-%.0f%% | %d | %d |" % (
            gateway_count, f"{options.players // gateway_count:,}", statistics.median(values), min(values), max(values),
            statistics.median(relative), min(relative), max(relative), 100 * min(slow), 100 * max(slow),
            sum(r["lost"] for r in runs), sum(r["duplicates"] for r in runs)))
    print("report: " + os.path.relpath(report_path, ROOT))
    return 0 if all(r["passed"] for runs in results.values() for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
