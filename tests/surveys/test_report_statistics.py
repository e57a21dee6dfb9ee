"""The report's statistics: Wilson intervals, medians [IQR], cross-tab tests, wave changes."""

import pytest

from onco_hdf import charts
from surveys import statistics


def test_wilson_interval_matches_the_published_values():
    # Newcombe (1998), table I: 81/263 → 0.2553–0.3662; 0/10 → 0–0.2775.
    low, high = statistics.wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    low, high = statistics.wilson_interval(0, 10)
    assert (round(low, 4), round(high, 4)) == (0.0, 0.2775)


def test_proportion_text_has_n_over_n_and_the_interval_in_french():
    share = statistics.proportion(5, 8)
    assert share.percent == 63  # 62.5 rounds half away from zero, as everywhere
    assert share.text == "63\u00a0% (5/8 ; IC 95 % 31–86\u00a0%)"
    assert statistics.proportion(0, 0).text == "—"


def test_median_and_interquartile_range_as_the_box_plots():
    s = statistics.summary([10, 20, 30, 40, 90], "min")
    stats = charts.box_stats([10, 20, 30, 40, 90])
    assert (s.median, s.q1, s.q3) == (stats.median, stats.q1, stats.q3) == (30, 20, 40)
    assert s.text == "30\u00a0min [EIQ 20–40]"


def test_fisher_for_a_2x2_table_and_chi2_when_the_expected_counts_allow_it():
    fisher = statistics.independence_test([[3, 0], [0, 3], [0, 0]], one_answer_each=True)
    assert fisher.method == statistics.FISHER and fisher.p_value == pytest.approx(0.1)
    assert fisher.text == "Test exact de Fisher : p = 0,100."
    chi2 = statistics.independence_test([[20, 10, 10], [10, 20, 10]], one_answer_each=True)
    assert chi2.method == statistics.CHI2 and chi2.dof == 2
    assert chi2.statistic == pytest.approx(6.6667, abs=1e-4)
    assert "χ² = 6,67, 2 degrés de liberté, p = 0,036" in chi2.text
    small = statistics.independence_test([[1, 2, 0], [2, 1, 1]], one_answer_each=True)
    assert small.method == "" and "trop peu de répondants" in small.text
    several = statistics.independence_test([[3, 0], [0, 3]], one_answer_each=False)
    assert several.method == "" and "plusieurs cases" in several.text
    single = statistics.independence_test([[3, 2], [0, 0]], one_answer_each=True)
    assert single.method == "" and "une seule ligne" in single.text


def test_wave_change_has_newcombe_interval():
    # Newcombe (1998), method 10, example (a): 56/70 − 48/80 = 0.2000 (0.0524 to 0.3339).
    change = statistics.WaveChange(
        "x", statistics.proportion(56, 70), statistics.proportion(48, 80)
    )
    low, high = change.interval
    assert change.difference == 20  # 80 % − 60 %
    assert (round(low / 100, 4), round(high / 100, 4)) == (0.0524, 0.3339)
    assert change.text == "+20 points (IC 95 % +5 à +33)"
