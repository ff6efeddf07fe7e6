#!/usr/bin/env python3
"""Benchmarks/compare.py's summary: medians and spreads over runs, whole RSS as the headline.

    python3 Benchmarks/test_compare.py
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (the script beside this file)


def row(server, run, max_ms, rss, growth, cpu=10.0, missing=0, passed=True):
    return {"server": server, "connections": 10000, "run": run, "max_ms": max_ms, "p50_ms": max_ms / 2,
            "p99_ms": max_ms * 0.9, "rss_bytes_per_connection": rss, "growth_bytes_per_connection": growth,
            "cpu_s_per_million": cpu, "missing": missing, "duplicates": 0, "passed": passed}


class SummaryTests(unittest.TestCase):
    def test_each_figure_is_the_median_of_the_runs_with_their_spread(self):
        rows = [row("stadium", 1, 90, 4400, 600), row("stadium", 2, 130, 4300, 610), row("stadium", 3, 100, 4500, 590)]
        (entry,) = compare.summarise(rows)
        self.assertEqual(entry["runs"], 3)
        self.assertEqual(entry["max_ms"], {"median": 100, "min": 90, "max": 130})
        self.assertEqual(entry["rss_bytes_per_connection"]["median"], 4400)

    def test_a_run_that_lost_anything_shows_in_the_summary(self):
        rows = [row("c-baseline", 1, 100, 5000, 1000), row("c-baseline", 2, 100, 5000, 1000, missing=7, passed=False)]
        (entry,) = compare.summarise(rows)
        self.assertEqual(entry["missing"], 7)
        self.assertFalse(entry["all_passed"])

    def test_the_table_puts_whole_rss_before_growth_and_the_ratio_to_c_by_medians(self):
        rows = [row("stadium", 1, 90, 4400, 600), row("stadium", 2, 110, 4400, 600),
                row("c-baseline", 1, 100, 5100, 1065), row("c-baseline", 2, 100, 5100, 1065)]
        text = compare.table(compare.summarise(rows))
        header = text.splitlines()[0]
        self.assertLess(header.index("whole RSS"), header.index("growth"))
        stadium = next(line for line in text.splitlines() if "| stadium |" in line)
        self.assertIn("| 100 (90-110) | 1.00x |", stadium)
        self.assertIn("| 4,400 | 600 |", stadium)

    def test_cpu_in_loopback_deliveries_is_summarised_where_the_core_was_watched_and_a_dash_where_not(self):
        watched = [dict(row("stadium", 1, 90, 4400, 600), cpu_per_delivery_in_loopback_deliveries=3.0),
                   dict(row("stadium", 2, 90, 4400, 600), cpu_per_delivery_in_loopback_deliveries=3.4)]
        unwatched = [row("c-baseline", 1, 100, 5100, 1065)]  # --no-pin, or a report from before the watch
        summary = compare.summarise(watched + unwatched)
        stadium = next(entry for entry in summary if entry["server"] == "stadium")
        self.assertEqual(stadium["cpu_per_delivery_in_loopback_deliveries"], {"median": 3.2, "min": 3.0, "max": 3.4})
        lines = compare.table(summary).splitlines()
        self.assertIn("| 10.0 | 3.20 (3.00-3.40) | 0 |", next(line for line in lines if "| stadium |" in line))
        self.assertIn("| 10.0 | - | 0 |", next(line for line in lines if "| c-baseline |" in line))


if __name__ == "__main__":
    unittest.main()
