#!/usr/bin/env python3
"""Turns stadium-load JSON reports into PNG plots with gnuplot.

For every report: <name>-latency.png (percentiles of each measured latency, log scale) and,
when the report has progress samples, <name>-connections.png (open connections and
messages received over time).

    python3 Benchmarks/plots.py --out Benchmarks/plots report.json [report.json ...]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

PERCENTILES = [("p50", "p50_ms"), ("p90", "p90_ms"), ("p99", "p99_ms"), ("p99.9", "p999_ms"), ("max", "max_ms")]


def gnuplot(script):
    result = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if result.returncode != 0:
        sys.exit(f"plots: gnuplot failed: {result.stderr.strip()}")


def title_of(report):
    return f"{report['mode']}, {report['connections']:,} connections"


def plot_latency(report, name, out_dir, work_dir):
    latencies = report.get("latencies", {})
    if not latencies:
        return None
    data = os.path.join(work_dir, f"{name}-latency.dat")
    with open(data, "w") as file:
        file.write("percentile " + " ".join(latencies) + "\n")
        for label, key in PERCENTILES:
            file.write(f'"{label}" ' + " ".join(str(max(latencies[m][key], 0.001)) for m in latencies) + "\n")
    png = os.path.join(out_dir, f"{name}-latency.png")
    series = ", ".join(
        f"'{data}' using {column + 2}:xtic(1) title '{metric.replace('_', ' ')}'"
        for column, metric in enumerate(latencies))
    gnuplot(f"""
set terminal pngcairo size 900,500
set output '{png}'
set title '{title_of(report)}: latency percentiles'
set ylabel 'milliseconds'
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key outside right
set grid ytics
plot {series}
""")
    return png


def plot_connections(report, name, out_dir, work_dir):
    timeline = report.get("timeline", [])
    if not timeline:
        return None
    data = os.path.join(work_dir, f"{name}-timeline.dat")
    with open(data, "w") as file:
        for sample in timeline:
            file.write(f"{sample['seconds']} {sample['open']} {sample['received']}\n")
    png = os.path.join(out_dir, f"{name}-connections.png")
    gnuplot(f"""
set terminal pngcairo size 900,500
set output '{png}'
set title '{title_of(report)}: over time'
set xlabel 'seconds'
set ylabel 'open connections'
set y2label 'messages received'
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set format y '%.1s%c'
set format y2 '%.1s%c'
set grid
set key left top
plot '{data}' using 1:2 with lines linewidth 2 title 'open connections', \\
     '{data}' using 1:3 axes x1y2 with lines linewidth 2 title 'messages received'
""")
    return png


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="Benchmarks/plots", help="directory for the PNG files")
    parser.add_argument("reports", nargs="+", help="stadium-load --report files")
    arguments = parser.parse_args()
    if shutil.which("gnuplot") is None:
        sys.exit("plots: gnuplot is missing: apt-get install gnuplot-nox")
    os.makedirs(arguments.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as work_dir:
        for path in arguments.reports:
            try:
                with open(path) as file:
                    report = json.load(file)
            except (OSError, json.JSONDecodeError) as error:
                sys.exit(f"plots: cannot read {path}: {error}")
            name = os.path.splitext(os.path.basename(path))[0]
            for png in (plot_latency(report, name, arguments.out, work_dir),
                        plot_connections(report, name, arguments.out, work_dir)):
                if png:
                    print(f"plots: wrote {png}")


if __name__ == "__main__":
    main()
