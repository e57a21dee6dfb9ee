"""Statistics of the survey report: proportions with intervals, medians, cross-tab tests.

One rounding rule for tables, charts and text: percentages and their intervals are written
with :data:`PERCENT_DECIMALS` decimals, through :mod:`onco_hdf.numbers` (half away from
zero), so "12,5 %" in a table is never "13 %" in a chart. Numbers (medians, quartiles) keep
one decimal unless whole.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _

from onco_hdf import charts
from onco_hdf.numbers import NBSP, format_number, round_half_up

PERCENT_DECIMALS = 0
Z_95 = 1.959963984540054  # two-sided 95 % normal quantile
ALPHA = 0.05


def percent_value(part: float, whole: float) -> float | None:
    """The rounded percentage charts draw and tables print (None when there is no whole)."""
    if not whole:
        return None
    return float(round_half_up(100.0 * part / whole, PERCENT_DECIMALS))


def percent_share(count, whole: float) -> float | None:
    """:func:`percent_value` of a cell that the small-count rule may have masked (None)."""
    from surveys import suppression

    return None if suppression.is_hidden(count) else percent_value(count, whole)


def percent_text(value: float | None) -> str:
    return format_number(value, PERCENT_DECIMALS, "%")


def number_text(value: float | None, unit: str = "") -> str:
    text = charts.fmt(value)
    return f"{text}{NBSP}{unit}" if unit and value is not None else text


def wilson_interval(k: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of the proportion k/n, as fractions in [0, 1]."""
    if n <= 0:
        return (0.0, 0.0)
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Proportion:
    """k of n, its percentage and its 95 % Wilson interval (in %)."""

    k: int
    n: int

    @property
    def percent(self) -> float | None:
        return percent_value(self.k, self.n)

    @property
    def interval(self) -> tuple[float, float]:
        low, high = wilson_interval(self.k, self.n)
        return (100.0 * low, 100.0 * high)

    @property
    def interval_range(self) -> str:
        """ "31–86 %" (the column header says it is the 95 % CI)."""
        if not self.n:
            return "—"
        low, high = self.interval
        return f"{format_number(low, PERCENT_DECIMALS)}–{percent_text(high)}"

    @property
    def interval_text(self) -> str:
        if not self.n:
            return "—"
        return _("95%% CI %(range)s") % {"range": self.interval_range}

    @property
    def text(self) -> str:
        """ "62 % (5/8 ; IC 95 % 31–86 %)"."""
        if not self.n:
            return "—"
        return f"{percent_text(self.percent)} ({self.k}/{self.n} ; {self.interval_text})"


def proportion(k: int, n: int) -> Proportion:
    return Proportion(int(k), int(n))


@dataclass(frozen=True)
class Summary:
    """Median [interquartile range] of a number question, quartiles as in the box plots."""

    n: int
    median: float | None
    q1: float | None
    q3: float | None
    minimum: float | None
    maximum: float | None
    unit: str = ""

    @property
    def text(self) -> str:
        """ "35 min [IQR 20–50]"."""
        if not self.n:
            return "—"
        return _("%(median)s [IQR %(q1)s–%(q3)s]") % {
            "median": number_text(self.median, self.unit),
            "q1": charts.fmt(self.q1),
            "q3": charts.fmt(self.q3),
        }


def summary(values: Sequence[float], unit: str = "") -> Summary:
    stats = charts.box_stats(values)
    if stats is None:
        return Summary(0, None, None, None, None, None, unit)
    return Summary(stats.n, stats.median, stats.q1, stats.q3, stats.minimum, stats.maximum, unit)


# --- Cross-tabulations ----------------------------------------------------------------
FISHER = "fisher"
CHI2 = "chi2"


@dataclass(frozen=True)
class TestResult:
    """The test a cross-tab allows, or why none is done (``method`` empty, ``reason`` set)."""

    method: str = ""
    statistic: float | None = None
    dof: int | None = None
    p_value: float | None = None
    reason: str = ""

    @property
    def name(self) -> str:
        return {FISHER: _("Fisher's exact test"), CHI2: _("Pearson's χ² test")}.get(self.method, "")

    @property
    def p_text(self) -> str:
        if self.p_value is None:
            return "—"
        if self.p_value < 0.001:
            return f"p < {format_number(0.001, 3)}"
        return f"p = {format_number(self.p_value, 3)}"

    @property
    def text(self) -> str:
        if not self.method:
            return self.reason
        if self.method == CHI2:
            return _("%(test)s: χ² = %(stat)s, %(dof)d degrees of freedom, %(p)s.") % {
                "test": self.name,
                "stat": format_number(self.statistic, 2),
                "dof": self.dof,
                "p": self.p_text,
            }
        return _("%(test)s: %(p)s.") % {"test": self.name, "p": self.p_text}


def _trimmed(counts: Sequence[Sequence[int]]) -> list[list[int]]:
    """The table without its empty rows and columns (they carry no information)."""
    rows = [list(r) for r in counts if any(r)]
    if not rows:
        return []
    keep = [j for j in range(len(rows[0])) if any(r[j] for r in rows)]
    return [[r[j] for j in keep] for r in rows]


def independence_test(counts: Sequence[Sequence[int]], *, one_answer_each: bool) -> TestResult:
    """Fisher's exact test for a 2×2 table, Pearson's χ² for a larger one whose expected
    counts allow it (Cochran: all ≥ 1 and at most 20 % below 5); otherwise no test, with
    the reason. A table where one respondent counts in several cells gets no test: the
    observations are not independent."""
    from scipy import stats as scipy_stats  # scipy loads only when a report needs it

    if not one_answer_each:
        return TestResult(
            reason=_("No test: a respondent may count in several cells (several answers possible).")
        )
    table = _trimmed(counts)
    if len(table) < 2 or len(table[0]) < 2:
        return TestResult(reason=_("No test: the answers fall in a single row or column."))
    if len(table) == 2 and len(table[0]) == 2:
        _odds, p_value = scipy_stats.fisher_exact(table)
        return TestResult(method=FISHER, p_value=float(p_value))
    chi2, p_value, dof, expected = scipy_stats.chi2_contingency(table, correction=False)
    cells = [e for row in expected for e in row]
    small = sum(1 for e in cells if e < 5)
    if min(cells) < 1 or small > 0.2 * len(cells):
        return TestResult(
            reason=_(
                "No test: too few respondents for the χ² test (expected counts below 5 in "
                "%(small)d of %(cells)d cells)."
            )
            % {"small": small, "cells": len(cells)}
        )
    return TestResult(method=CHI2, statistic=float(chi2), dof=int(dof), p_value=float(p_value))


@dataclass(frozen=True)
class WaveChange:
    """A proportion in this campaign against the same answer in an earlier one."""

    label: str
    now: Proportion
    before: Proportion

    @property
    def difference(self) -> float | None:
        """In points, between the two percentages as printed (63 % − 50 % is +13, never
        +12 from the unrounded shares); the interval is computed on the exact shares."""
        if not (self.now.n and self.before.n):
            return None
        return self.now.percent - self.before.percent

    @property
    def interval(self) -> tuple[float, float] | None:
        """Newcombe's hybrid score interval of the difference (method 10), in points."""
        if self.difference is None:
            return None
        l1, u1 = wilson_interval(self.now.k, self.now.n)
        l2, u2 = wilson_interval(self.before.k, self.before.n)
        p1, p2 = self.now.k / self.now.n, self.before.k / self.before.n
        low = (p1 - p2) - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        high = (p1 - p2) + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
        return (100.0 * low, 100.0 * high)

    @property
    def text(self) -> str:
        if self.difference is None:
            return "—"
        low, high = self.interval
        return _("%(diff)s points (95%% CI %(low)s to %(high)s)") % {
            "diff": signed(self.difference),
            "low": signed(low),
            "high": signed(high),
        }


def signed(value: float) -> str:
    text = format_number(value, PERCENT_DECIMALS)
    return (
        text if text.startswith("-") or text == format_number(0, PERCENT_DECIMALS) else f"+{text}"
    )
