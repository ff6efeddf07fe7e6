#!/usr/bin/env python3
"""bench_processes' machine watch: the watcher's lines read back, and a run's window summarised.

    python3 Benchmarks/test_machine_watch.py
"""

import os
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_processes  # noqa: E402  (the module beside this file)
import machine_watch  # noqa: E402  (the shell benchmarks' watch, beside this file)


class MachineWatchTests(unittest.TestCase):
    def test_whole_lines_are_samples_and_a_line_cut_off_by_the_stop_is_not(self):
        output = "100.000 2.812\n100.250 4.466\nnot a sample\n100.5"
        self.assertEqual(bench_processes.parse_watch_samples(output), [(100.0, 2.812), (100.25, 4.466)])

    def test_only_the_runs_window_counts_and_the_slow_share_is_of_those_samples(self):
        samples = [(10.0, 9.0), (11.0, 2.8), (12.0, 4.4), (13.0, 2.8), (14.0, 2.8), (15.0, 9.0)]
        summary = bench_processes.summarise_watch(samples, since=11.0, until=14.0)
        self.assertEqual(summary["samples"], 4)
        self.assertAlmostEqual(summary["mean_us"], (2.8 + 4.4 + 2.8 + 2.8) / 4, places=3)
        self.assertEqual(summary["slow_share"], 0.25)

    def test_a_window_without_samples_says_so_instead_of_dividing_by_zero(self):
        summary = bench_processes.summarise_watch([(10.0, 2.8)], since=20.0, until=21.0)
        self.assertEqual(summary, {"samples": 0, "mean_us": None, "slow_share": None})

    def test_work_is_counted_in_loopback_deliveries_of_the_core_and_not_at_all_without_a_sample(self):
        self.assertEqual(bench_processes.in_loopback_deliveries(5.6, {"samples": 4, "mean_us": 2.8, "slow_share": 0.0}), 2.0)
        self.assertIsNone(bench_processes.in_loopback_deliveries(5.6, {"samples": 0, "mean_us": None, "slow_share": None}))


class ShellWatchTests(unittest.TestCase):
    """Benchmarks/machine_watch.py, what lib.sh's watch_machine and note_machine run."""

    def test_a_core_line_gives_the_mean_and_the_slow_share_and_a_core_without_samples_says_so(self):
        self.assertEqual(machine_watch.describe("1", {"samples": 8, "mean_us": 3.1234, "slow_share": 0.25}),
                         "machine: core 1, a loopback send and receive of 1 KB took 3.12 us of CPU on average "
                         "(8 samples), the core slow 25% of the time")
        self.assertIn("no sample", machine_watch.describe("0", {"samples": 0, "mean_us": None, "slow_share": None}))

    def test_stopped_with_sigterm_it_prints_one_line_per_core_and_leaves_no_watcher_behind(self):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "machine_watch.py")
        watch = subprocess.Popen([sys.executable, script, "0"], stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(watch.stdout.readline(), "# watching cores 0\n")
            watchers = subprocess.run(["pgrep", "-P", str(watch.pid)], capture_output=True, text=True).stdout.split()
            self.assertEqual(len(watchers), 1)
            watch.send_signal(signal.SIGTERM)
            rest, _ = watch.communicate(timeout=30)
        finally:
            watch.kill()
        self.assertEqual(watch.returncode, 0)
        (line,) = rest.splitlines()
        self.assertTrue(line.startswith("machine: core 0, "), line)
        self.assertFalse(os.path.exists(f"/proc/{watchers[0]}"), "the loopback-cost watcher outlived the watch")


if __name__ == "__main__":
    unittest.main()
