"""Statistics of the comparison report: medians [IQR], paired tests, a ranking.

Units are (case, structure) pairs; solutions are paired on the units where both have
a figure. Wilcoxon signed-rank tests (scipy, two-sided) compare each pair of solutions
and their p-values are Holm-corrected over all the pairs of one metric; the ranking's
uncertainty comes from a bootstrap over the units (seeded: the report is reproducible).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

from onco_hdf.charts import box_stats

BOOTSTRAP = 2000
SEED = 20261201


@dataclass(frozen=True)
class MedianIqr:
    n: int
    median: float | None
    q1: float | None
    q3: float | None


def median_iqr(values) -> MedianIqr:
    box = box_stats([v for v in values if v is not None])
    if box is None:
        return MedianIqr(0, None, None, None)
    return MedianIqr(box.n, box.median, box.q1, box.q3)


@dataclass(frozen=True)
class PairedTest:
    first: str
    second: str
    n: int
    median_difference: float | None  # first − second
    statistic: float | None
    p_value: float | None
    p_holm: float | None = None

    @property
    def significant(self) -> bool:
        return self.p_holm is not None and self.p_holm < 0.05


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm–Bonferroni adjusted p-values (step-down, monotone), None kept as None."""
    known = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(known)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(known):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[index] = running
    return adjusted


def paired_tests(table: dict[str, dict[object, float]]) -> list[PairedTest]:
    """Wilcoxon signed-rank test for each pair of solutions of ``table[solution][unit]``."""
    tests = []
    for first, second in itertools.combinations(table, 2):
        units = sorted(set(table[first]) & set(table[second]), key=str)
        a = np.array([table[first][u] for u in units], dtype=float)
        b = np.array([table[second][u] for u in units], dtype=float)
        difference = a - b
        if len(units) < 2:
            tests.append(PairedTest(first, second, len(units), None, None, None))
            continue
        median = float(np.median(difference))
        if not np.any(difference):
            tests.append(PairedTest(first, second, len(units), median, 0.0, 1.0))
            continue
        result = scipy_stats.wilcoxon(a, b, zero_method="wilcox", alternative="two-sided")
        tests.append(
            PairedTest(
                first, second, len(units), median, float(result.statistic), float(result.pvalue)
            )
        )
    adjusted = holm([t.p_value for t in tests])
    return [
        PairedTest(t.first, t.second, t.n, t.median_difference, t.statistic, t.p_value, p)
        for t, p in zip(tests, adjusted, strict=True)
    ]


@dataclass(frozen=True)
class Rank:
    solution: str
    rank: int
    mean_rank: float
    low: float  # 95 % bootstrap interval of the mean rank
    high: float
    first_share: float  # share of bootstrap samples where it ranks first
    n: int


def ranking(table: dict[str, dict[object, float]], *, higher_is_better: bool = True) -> list:
    """Solutions ranked by their mean rank over the units they share with the others.

    On each unit the solutions with a figure are ranked (1 best, ties averaged; a
    solution without a figure takes the last rank); the mean over the units is the
    score, and the bootstrap over units gives its 95 % interval.
    """
    solutions = list(table)
    units = sorted({u for values in table.values() for u in values}, key=str)
    if not solutions or not units:
        return []
    worst = -np.inf if higher_is_better else np.inf
    matrix = np.array([[table[s].get(u, worst) for s in solutions] for u in units], dtype=float)
    scores = -matrix if higher_is_better else matrix
    ranks = np.apply_along_axis(scipy_stats.rankdata, 1, scores)
    mean = ranks.mean(axis=0)
    rng = np.random.default_rng(SEED)
    samples = rng.integers(0, len(units), size=(BOOTSTRAP, len(units)))
    boot = ranks[samples].mean(axis=1)  # (BOOTSTRAP, solutions)
    low, high = np.percentile(boot, [2.5, 97.5], axis=0)
    firsts = (boot == boot.min(axis=1, keepdims=True)).mean(axis=0)
    order = np.argsort(mean, kind="stable")
    return [
        Rank(
            solution=solutions[i],
            rank=position + 1,
            mean_rank=float(mean[i]),
            low=float(low[i]),
            high=float(high[i]),
            first_share=float(firsts[i]),
            n=len(table[solutions[i]]),
        )
        for position, i in enumerate(order)
    ]
