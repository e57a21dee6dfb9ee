"""A comparison run that fails half-way leaves the previous run's results whole (issue 14).

Run A succeeds; run B stores some structures, then one structure's task (or its final
step) raises: the case, its results page, the CSV export and the report still show A's
rows only, until run C succeeds and leaves only its own rows in the database.
"""

from __future__ import annotations

import csv
import dataclasses
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from contouring import selectors, services
from contouring.models import CaseDose, ComparisonResult, StructureDose
from contouring.reports import build_comparison_report_context
from contouring.services import runs
from onco_hdf.jobs import job_create
from onco_hdf.models import Job, JobStatus
from tests.conftest import login
from tests.contouring.conftest import run_comparison
from tests.contouring.test_tasks_structures import deliver

pytestmark = pytest.mark.django_db

# Run B's DSC, so that its rows cannot be taken for run A's (same inputs, same figures).
MARK = 0.4242


def _marked_compare(failing: str | None):
    """``compare_case`` giving every pair the DSC ``MARK``, raising for structure ``failing``."""
    real = runs.compare_case

    def compare(geometry, reference, tests, **kwargs):
        if any(roi.name == failing for roi in reference.rois):
            raise RuntimeError("the worker's disk is full")
        result = real(geometry, reference, tests, **kwargs)
        pairs = tuple(
            dataclasses.replace(p, metrics=dataclasses.replace(p.metrics, dsc=MARK))
            for p in result.pairs
        )
        return dataclasses.replace(result, pairs=pairs)

    return compare


@pytest.fixture
def run_a(dosed_case, pm, django_capture_on_commit_callbacks):
    run = run_comparison(dosed_case, pm, django_capture_on_commit_callbacks)
    assert run.job.status == JobStatus.DONE, run.job.message
    # A's comparison with the planning system's DVHs, told apart from what B computes.
    CaseDose.objects.filter(case=dosed_case).update(plan_comparison=[{"run": "A"}])
    return run


def _start_b(case, pm, capture):
    with capture(execute=False):
        return services.comparison_run_start(case=case, user=pm)


def _rows_of(run) -> dict[int, float | None]:
    return dict(ComparisonResult.objects.filter(run=run).values_list("pk", "dsc"))


def _csv_dsc(client, case) -> list[str]:
    response = client.get(reverse("contouring:results-export", args=["csv"]), {"cas": case.pk})
    text = response.content.decode("utf-8-sig")
    return sorted(row["dsc"] for row in csv.DictReader(io.StringIO(text), delimiter=";"))


def _pks(results) -> set[int]:
    """Every row an arrangement of results holds: against the reference, pairs, consensus."""
    consensus = [*results.consensus.values(), *results.staple.values()]
    return {r.pk for r in [*results.flat, *results.pairs, *consensus]}


def _assert_shows_only(case, run, client):
    """Every read of the case's results gives ``run``'s rows, all of them, nothing else."""
    rows = _rows_of(run)
    assert rows and MARK not in rows.values()
    assert dict(selectors.current_results(case).values_list("pk", "dsc")) == rows
    page = client.get(reverse("contouring:case-results", args=[case.pk]))
    shown = {c.result.pk for _s, cells in page.context["results"].rows for c in cells if c.result}
    vs_reference = ComparisonResult.objects.filter(run=run, kind="reference")
    assert shown == set(vs_reference.values_list("pk", flat=True))
    assert _pks(page.context["results"]) == set(rows)
    assert _csv_dsc(client, case) == sorted("" if v is None else str(v) for v in rows.values())
    job = job_create(kind="report", label="r", params={"p_cases": str(case.pk)})
    spec = build_comparison_report_context(job=job, report=lambda *args: None)
    (section,) = spec.context["sections"]
    assert _pks(section["results"]) == set(rows)
    assert section["run"] == run
    doses = set(StructureDose.objects.filter(run=run).values_list("pk", flat=True))
    assert doses and set(selectors.current_doses(case).values_list("pk", flat=True)) == doses
    return page


def test_a_structure_failing_half_way_leaves_the_previous_results_whole(
    dosed_case, run_a, pm, monkeypatch, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    client = login(pm)
    before = _rows_of(run_a)
    run_b = _start_b(dosed_case, pm, capture)
    first, second, failing, *rest = list(run_b.parts.select_related("structure"))
    monkeypatch.setattr(runs, "compare_case", _marked_compare(failing.structure.name))
    deliver(first, "b1", capture)
    deliver(second, "b2", capture)
    # Under way: two structures of B are stored, the case still shows A.
    stored = ComparisonResult.objects.filter(run=run_b)
    assert set(stored.values_list("structure", flat=True)) == {
        first.structure_id,
        second.structure_id,
    }
    page = _assert_shows_only(dosed_case, run_a, client)
    assert "results-run-under-way" in page.content.decode()
    assert "results-last-run-failed" not in page.content.decode()

    for part in [failing, *rest]:
        deliver(part, f"b{part.pk}", capture)
    run_b.job.refresh_from_db()
    assert run_b.job.status == JobStatus.FAILED
    # B's stored structures stay in the database, unseen; A's rows are untouched.
    compared = ComparisonResult.objects.filter(run=run_b, kind__in=["reference", "pair"])
    assert set(compared.values_list("dsc", flat=True)) == {MARK}
    assert _rows_of(run_a) == before
    page = _assert_shows_only(dosed_case, run_a, client)
    html = page.content.decode()
    assert 'id="results-last-run-failed"' in html
    started = timezone.localtime(run_b.created_at).strftime("%d/%m/%Y %H:%M")
    shown = timezone.localtime(run_a.created_at).strftime("%d/%m/%Y %H:%M")
    assert "Le dernier calcul a échoué — relancer" in html
    assert f"lancé le {started}, il a échoué le" in html
    assert f"les résultats affichés sont ceux du calcul du {shown}" in html
    assert "Relancer la comparaison" in html
    detail = client.get(reverse("contouring:case-detail", args=[dosed_case.pk]))
    assert 'id="results-last-run-failed"' in detail.content.decode()

    monkeypatch.undo()
    run_c = run_comparison(dosed_case, pm, capture)
    assert run_c.job.status == JobStatus.DONE, run_c.job.message
    # Only C's rows remain: A's and B's went in C's final step.
    kept = ComparisonResult.objects.filter(case=dosed_case)
    assert set(kept.values_list("run", flat=True)) == {run_c.pk}
    assert kept.count() == len(before)
    assert set(StructureDose.objects.filter(case=dosed_case).values_list("run", flat=True)) == {
        run_c.pk
    }
    page = _assert_shows_only(dosed_case, run_c, client)
    assert "results-last-run-failed" not in page.content.decode()


def test_a_final_step_failing_publishes_nothing(
    dosed_case, run_a, pm, monkeypatch, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    before = _rows_of(run_a)
    doses = set(StructureDose.objects.filter(run=run_a).values_list("pk", "dmean_gy"))
    monkeypatch.setattr(runs, "compare_case", _marked_compare(None))

    def broken(run):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(runs, "_merged_warnings", broken)
    run_b = _start_b(dosed_case, pm, capture)
    for part in run_b.parts.all():
        deliver(part, f"b{part.pk}", capture)
    finish = Job.objects.get(parent=run_b.job, kind="contouring.comparison.finish")
    assert finish.status == JobStatus.FAILED
    run_b.job.refresh_from_db()
    assert run_b.job.status == JobStatus.FAILED and run_b.finished_at is None
    # Every structure of B was stored, yet the case shows A's rows and DVHs only.
    assert ComparisonResult.objects.filter(run=run_b).count() == len(before)
    assert _rows_of(run_a) == before
    assert set(StructureDose.objects.filter(run=run_a).values_list("pk", "dmean_gy")) == doses
    assert not StructureDose.objects.filter(run=run_b).exists()
    assert CaseDose.objects.get(case=dosed_case).plan_comparison == [{"run": "A"}]
    _assert_shows_only(dosed_case, run_a, login(pm))


def test_a_final_step_run_after_its_run_failed_publishes_nothing(
    dosed_case, run_a, pm, django_capture_on_commit_callbacks
):
    before = _rows_of(run_a)
    run_b = _start_b(dosed_case, pm, django_capture_on_commit_callbacks)
    # The run failed (a structure abandoned by the sweeper) before its final step ran.
    Job.objects.filter(pk=run_b.job_id).update(status=JobStatus.FAILED)
    runs.comparison_run_finish(run_id=run_b.pk, report=lambda *args: None)
    assert Job.objects.get(pk=run_b.job_id).status == JobStatus.FAILED
    run_b.refresh_from_db()
    assert run_b.finished_at is None
    assert _rows_of(run_a) == before
    assert selectors.latest_finished_run(dosed_case) == run_a
