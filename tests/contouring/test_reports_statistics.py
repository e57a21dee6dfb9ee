"""Report statistics: Holm, Wilcoxon as scipy computes it, a bootstrap ranking, and the
PDF's summary, statistics and cover for the cases and solutions the manager picked."""

from __future__ import annotations

import io

import numpy as np
import pytest
from pypdf import PdfReader
from scipy import stats as scipy_stats

from contouring import services
from contouring.reports import build_comparison_report_context
from contouring.stats import holm, median_iqr, paired_tests, ranking
from onco_hdf.jobs import job_create
from onco_hdf.numbers import format_number
from onco_hdf.pdf import render_pdf
from tests.contouring.conftest import create_case, submit


def test_holm_adjusts_step_down_and_stays_monotone():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, None, 0.9]) == [pytest.approx(1.0), None, pytest.approx(1.0)]


def test_paired_tests_equal_scipy_on_the_shared_units():
    rng = np.random.default_rng(1)
    a = {u: float(v) for u, v in enumerate(rng.uniform(0.7, 0.9, 12))}
    b = {u: v - 0.05 + float(rng.normal(0, 0.01)) for u, v in a.items() if u != 3}
    c = {u: v + 0.001 * u for u, v in a.items()}
    tests = paired_tests({"A": a, "B": b, "C": c})
    ab = next(t for t in tests if (t.first, t.second) == ("A", "B"))
    units = sorted(b)
    expected = scipy_stats.wilcoxon([a[u] for u in units], [b[u] for u in units])
    assert ab.n == 11 and ab.p_value == pytest.approx(expected.pvalue)
    assert ab.median_difference > 0.04
    assert [t.p_holm for t in tests] == pytest.approx(holm([t.p_value for t in tests]))
    assert ab.significant


def test_ranking_orders_and_bounds_its_uncertainty():
    units = range(10)
    table = {
        "good": {u: 0.9 for u in units},
        "fair": {u: 0.8 + 0.001 * u for u in units},
        "poor": {u: 0.5 for u in units if u != 0},
    }
    ranks = ranking(table)
    assert [r.solution for r in ranks] == ["good", "fair", "poor"]
    assert ranks[0].mean_rank == 1 and ranks[0].low == ranks[0].high == 1
    assert ranks[0].first_share == 1
    reverse = ranking(table, higher_is_better=False)
    assert reverse[0].solution == "poor" or reverse[0].mean_rank <= reverse[-1].mean_rank
    assert median_iqr([1, 2, 3, 4]).median == 2.5 and median_iqr([]).median is None


@pytest.fixture
def three_solutions(pelvis_files, pm, centre_a, centre_b, django_capture_on_commit_callbacks):
    case = create_case(pelvis_files, pm, title="Cas pelvien")
    subs = [submit(case, pelvis_files, i, centre_a, pm)[0] for i in (0, 1, 4)]
    with django_capture_on_commit_callbacks(execute=True):
        services.comparison_run_start(case=case, user=pm)
    other = create_case(pelvis_files, pm, title="Cas non retenu")
    return case, subs, other


def test_report_covers_the_picked_cases_and_solutions_with_statistics(three_solutions):
    case, (margin, shift, island), other = three_solutions
    params = {
        f"p_case_{case.pk}": "on",
        f"p_solution_{margin.solution_id}": "on",
        f"p_solution_{island.solution_id}": "on",
    }
    job = job_create(kind="report", label="r", params=params)
    spec = build_comparison_report_context(job=job, report=lambda *args: None)
    context = spec.context
    assert [c.pk for c in context["covered_cases"]] == [case.pk]
    assert context["covered_solutions"] == sorted([str(margin.solution), str(island.solution)])
    (section,) = context["sections"]
    assert {s.pk for s in section["submissions"]} == {margin.pk, island.pk}
    stats = context["statistics"]
    assert [len(block["tests"]) for block in stats["tests"]] == [1, 1, 1, 1]
    ranked = [row["dsc"].solution for row in stats["ranking"]]
    # The extra island barely moves the DSC; a 3 mm margin moves it a lot.
    assert ranked == [str(island.solution), str(margin.solution)]

    text = " ".join(
        " ".join(
            p.extract_text()
            for p in PdfReader(io.BytesIO(render_pdf(spec.template_name, context))).pages
        ).split()
    )
    for heading in (
        "Synthèse",
        "Cas couverts : Cas pelvien",
        "Solutions couvertes",
        "Statistiques entre les solutions",
        "Médiane [intervalle interquartile] entre les solutions, par structure",
        "Wilcoxon",
        "Holm",
        "Méthodes et limites",
        "bootstrap",
        "attestation",
        "dernière coupe",
    ):
        assert heading in text, heading
    assert "Cas non retenu" not in text and str(shift.solution.product) not in text
    bladder = next(r for r in section["structure_stats"] if r["structure"].name == "Bladder")
    assert bladder["values"][0] in text  # DSC median [IQR] of the bladder
    test = stats["tests"][0]["tests"][0]
    assert format_number(test.p_holm, 3) in text
