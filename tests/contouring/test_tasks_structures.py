"""A comparison run split into one task per structure plus a final step (in-process).

The parts are sent by hand here (their messages are captured, not run), so a test can
deliver a structure's task twice, or leave one behind, as a broker and a dying worker would.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from contouring import services
from contouring.engine.compare import compare_case
from contouring.engine.metrics import compare_prepared, prepare
from contouring.engine.raster import rasterise
from contouring.models import ResultKind, RunStructure
from contouring.tasks import comparison_structure_compute_task
from onco_hdf import jobs
from onco_hdf.models import Job, JobStatus
from tests.contouring.conftest import create_case, submit

ENGINE_FIELDS = {
    "dsc": "dsc",
    "jaccard": "jaccard",
    "hausdorff_mm": "hausdorff_mm",
    "hd95_mm": "hd95_mm",
    "msd_mm": "mean_surface_distance_mm",
}


@pytest.fixture
def started(head_neck_files, pm, centre_a, django_capture_on_commit_callbacks):
    """A run of the head-and-neck phantom with three solutions, its parts not yet sent."""
    case = create_case(head_neck_files, pm)
    for index in range(3):  # a consensus needs three solutions
        submit(case, head_neck_files, index, centre_a, pm)
    with django_capture_on_commit_callbacks(execute=False):
        run = services.comparison_run_start(case=case, user=pm, include_consensus=True)
    return case, run


def deliver(part: RunStructure, delivery: str, capture) -> None:
    """Deliver a structure's message (id ``delivery``) and what it sends after commit."""
    with capture(execute=True):
        comparison_structure_compute_task.apply(
            kwargs={
                "job_id": part.job_id,
                "run_id": part.run_id,
                "structure_id": part.structure_id,
            },
            task_id=delivery,
        )


def test_one_task_per_structure_and_progress_counts_structures(
    started, django_capture_on_commit_callbacks
):
    case, run = started
    parts = list(run.parts.select_related("job", "structure"))
    n = case.structures.filter(is_compared=True).count()
    assert n >= 2 and len(parts) == n
    assert {p.structure.name for p in parts} == set(
        case.structures.filter(is_compared=True).values_list("name", flat=True)
    )
    assert all(p.job.parent_id == run.job_id and p.job.status == "pending" for p in parts)
    run.job.refresh_from_db()
    assert run.job.status == JobStatus.RUNNING and run.job.message.endswith(f"(0 / {n} structures)")

    deliver(parts[0], "first", django_capture_on_commit_callbacks)
    run.job.refresh_from_db()
    assert run.job.status == JobStatus.RUNNING
    assert f"(1 / {n} structures)" in run.job.message
    assert 2 < run.job.progress < 90
    # Only that structure's rows: 3 vs reference, 3 pairs, majority vote and STAPLE.
    assert case.results.filter(structure=parts[0].structure, run=run).count() == 8
    assert case.results.filter(run=run).count() == 8

    for part in parts[1:]:
        deliver(part, f"d{part.pk}", django_capture_on_commit_callbacks)
    run.job.refresh_from_db()
    assert run.job.status == JobStatus.DONE, run.job.message
    assert run.job.progress == 100 and run.job.result_url
    assert case.results.count() == 8 * n
    finish = Job.objects.get(parent=run.job, kind="contouring.comparison.finish")
    assert finish.status == JobStatus.DONE
    run.refresh_from_db()
    assert run.finished_at is not None and run.engine_version


def test_split_run_gives_the_numbers_of_one_whole_case_comparison(
    started, django_capture_on_commit_callbacks
):
    case, run = started
    for part in run.parts.all():
        deliver(part, f"d{part.pk}", django_capture_on_commit_callbacks)
    run.refresh_from_db()
    inputs = services.run_inputs(run)
    whole = compare_case(
        inputs.geometry,
        inputs.reference,
        inputs.tests,
        taus=services.TAUS,
        hd95=services.HD95_METHOD,
    )
    compared = 0
    for pair in whole.against_reference():
        row = case.results.get(
            kind=ResultKind.VS_REFERENCE,
            structure__name=pair.structure,
            test=inputs.by_label[pair.second],
        )
        for field, attribute in ENGINE_FIELDS.items():
            assert getattr(row, field) == getattr(pair.metrics, attribute), (pair, field)
        assert row.surface_dsc_2mm == (pair.metrics.surface_dsc or {}).get(2.0)
        assert row.apl_2mm == (pair.metrics.added_path_length_mm or {}).get(2.0)
        compared += 1
    for pair in whole.between_tests():
        row = case.results.get(
            kind=ResultKind.PAIR,
            structure__name=pair.structure,
            other=inputs.by_label[pair.first],
            test=inputs.by_label[pair.second],
        )
        assert (row.dsc, row.hd95_mm) == (pair.metrics.dsc, pair.metrics.hd95_mm)
        compared += 1
    # The consensus, built on the pairs' masks, gives what rasterising them again gave.
    geometry = inputs.geometry
    for structure in inputs.structures:
        masks = [
            rasterise(roi, geometry)
            for structure_set in inputs.tests.values()
            if (roi := structure_set.get(structure.name)) is not None
        ]
        present = [m for m in masks if not m.is_empty]
        reference = prepare(rasterise(inputs.reference.get(structure.name), geometry))
        for kind, build in (
            (ResultKind.CONSENSUS, services.majority_vote),
            (ResultKind.STAPLE, services.staple),
        ):
            expected = compare_prepared(
                reference,
                prepare(build(present, len(inputs.tests), geometry)),
                taus=services.TAUS,
                hd95=services.HD95_METHOD,
            )
            row = case.results.get(kind=kind, structure=structure)
            assert (row.dsc, row.hd95_mm, row.msd_mm, row.apl_2mm) == (
                expected.dsc,
                expected.hd95_mm,
                expected.mean_surface_distance_mm,
                expected.added_path_length_mm[2.0],
            ), (structure.name, kind)
            compared += 1
    n = case.structures.filter(is_compared=True).count()
    assert compared == 8 * n


def test_a_structure_task_delivered_twice_stores_and_counts_it_once(
    started, django_capture_on_commit_callbacks
):
    case, run = started
    first, *others = list(run.parts.all())
    deliver(first, "same", django_capture_on_commit_callbacks)
    rows = {(r.pair_key, r.pk, r.dsc) for r in case.results.all()}
    done_at = RunStructure.objects.get(pk=first.pk).finished_at
    # The worker died after storing the rows, before ending its job: the broker gives the
    # same message again, and the job is claimed by it again.
    Job.objects.filter(pk=first.job_id).update(status=JobStatus.RUNNING, delivery_id="same")
    deliver(first, "same", django_capture_on_commit_callbacks)
    assert {(r.pair_key, r.pk, r.dsc) for r in case.results.all()} == rows
    assert RunStructure.objects.get(pk=first.pk).finished_at == done_at
    run.job.refresh_from_db()
    assert f"(1 / {len(others) + 1} structures)" in run.job.message
    # A duplicate message (another id) for a finished structure is refused by the claim.
    deliver(first, "duplicate", django_capture_on_commit_callbacks)
    assert Job.objects.get(pk=first.job_id).attempts == 2

    for part in others:
        deliver(part, f"d{part.pk}", django_capture_on_commit_callbacks)
    deliver(others[-1], f"d{others[-1].pk}", django_capture_on_commit_callbacks)
    run.job.refresh_from_db()
    assert run.job.status == JobStatus.DONE
    assert Job.objects.filter(parent=run.job, kind="contouring.comparison.finish").count() == 1
    assert case.results.count() == 8 * (len(others) + 1)


def test_the_sweeper_hands_back_a_dead_structure_not_the_run(
    started, django_capture_on_commit_callbacks, settings
):
    case, run = started
    first, second, *rest = list(run.parts.all())
    deliver(first, "alive", django_capture_on_commit_callbacks)
    long_ago = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 60)
    # The second structure's worker was killed mid-way: running, silent for too long.
    Job.objects.filter(pk=second.job_id).update(
        status=JobStatus.RUNNING,
        delivery_id="killed",
        attempts=1,
        started_at=long_ago,
        heartbeat_at=long_ago,
        sent_at=long_ago,
    )
    Job.objects.filter(pk=run.job_id).update(heartbeat_at=long_ago)
    # The other structures were sent a moment ago and wait in the queue.
    Job.objects.filter(pk__in=[p.job_id for p in rest]).update(sent_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=False):
        counts = jobs.job_sweep()
    assert counts["requeued"] == 1 and counts["failed"] == 0
    # Sent again (in-process here: computed at once), the structure is redone.
    second_job = Job.objects.get(pk=second.job_id)
    assert second_job.status == JobStatus.DONE and second_job.attempts == 2
    run.job.refresh_from_db()
    assert run.job.status == JobStatus.RUNNING
    assert f"(2 / {len(rest) + 2} structures)" in run.job.message
    assert case.results.filter(structure=second.structure).count() == 8


def test_a_structure_abandoned_by_the_sweeper_fails_the_run(started, settings):
    case, run = started
    part = run.parts.first()
    long_ago = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 60)
    Job.objects.filter(pk=part.job_id).update(
        status=JobStatus.RUNNING,
        delivery_id="killed",
        attempts=settings.JOB_MAX_ATTEMPTS,
        heartbeat_at=long_ago,
    )
    Job.objects.filter(parent=run.job).exclude(pk=part.job_id).update(sent_at=timezone.now())
    counts = jobs.job_sweep()
    assert counts["failed"] == 2  # the structure, then its run
    run.job.refresh_from_db()
    assert run.job.status == JobStatus.FAILED
    assert run.job.message == Job.objects.get(pk=part.job_id).message != ""
    # The case can be compared again.
    assert services.comparison_run_start(case=case, user=run.created_by).pk != run.pk


def test_bad_input_in_a_structure_fails_the_run_with_its_message(
    started, django_capture_on_commit_callbacks
):
    case, run = started
    part = run.parts.first()
    case.reference_file.storage.delete(case.reference_file.name)
    services.runs._inputs_cache.clear()
    deliver(part, "broken", django_capture_on_commit_callbacks)
    run.job.refresh_from_db()
    assert run.job.status == JobStatus.FAILED and run.job.message
    assert Job.objects.get(pk=part.job_id).status == JobStatus.FAILED
