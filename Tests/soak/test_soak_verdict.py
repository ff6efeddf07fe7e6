#!/usr/bin/env python3
"""The soak's verdict (Tests/soak/soak.py judge) fails the runs it should: run without a stack.

    python3 Tests/soak/test_soak_verdict.py
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import soak  # noqa: E402  (the module beside this file)

CHURN = 100


def flat_samples(rss=50_000, subjects=6_000, end_rss=None, end_subjects=None):
    samples = [{"seconds": seconds, "rss_kib": rss, "subjects": subjects} for seconds in range(0, 200, 10)]
    samples[-1] = {"seconds": 190, "rss_kib": end_rss or rss, "subjects": end_subjects or subjects}
    return samples


def passed_run():
    return (0, {"counters": {"handshakes": CHURN}, "verdict": {"passed": True, "failures": []}})


class JudgeTests(unittest.TestCase):
    def judge(self, samples=None, runs=None, players_status=0, opened=None, closed=None):
        runs = [passed_run()] * 3 if runs is None else runs
        return soak.judge(samples or flat_samples(), runs, CHURN, players_status,
                          CHURN * len(runs) if opened is None else opened,
                          CHURN * len(runs) if closed is None else closed)

    def test_a_steady_soak_passes(self):
        self.assertEqual(self.judge(), [])

    def test_a_churn_run_whose_connections_all_failed_fails_the_soak(self):
        failed = (1, {"counters": {"handshakes": 0},
                      "verdict": {"passed": False, "failures": ["100 connection(s) never opened, 0 tolerated"]}})
        failures = self.judge(runs=[passed_run(), failed], opened=CHURN)
        self.assertTrue(any("exited 1" in failure and "never opened" in failure for failure in failures), failures)
        self.assertTrue(any("opened 100 connections, 200 expected" in failure for failure in failures), failures)

    def test_no_churn_at_all_fails(self):
        self.assertTrue(any("nothing was churned" in failure for failure in self.judge(runs=[])))

    def test_fewer_closes_than_opens_fails(self):
        self.assertTrue(any("closed" in failure for failure in self.judge(closed=CHURN)))

    def test_subjects_that_grow_with_new_users_fail(self):
        failures = self.judge(samples=flat_samples(end_subjects=9_000))
        self.assertTrue(any("subjects known grew" in failure for failure in failures), failures)

    def test_a_churn_dip_in_the_first_sample_after_the_warm_up_is_not_growth(self):
        # The registry forgets idle subjects between cycles: one sample may catch the count low.
        samples = flat_samples()
        samples[6] = {"seconds": 60, "rss_kib": 50_000, "subjects": 5_000}
        self.assertEqual(self.judge(samples=samples), [])

    def test_memory_growth_over_the_tolerance_fails(self):
        failures = self.judge(samples=flat_samples(end_rss=60_000))
        self.assertTrue(any("memory grew" in failure for failure in failures), failures)

    def test_players_who_stay_failing_fails(self):
        self.assertTrue(any("players who stay" in failure for failure in self.judge(players_status=1)))


if __name__ == "__main__":
    unittest.main()
