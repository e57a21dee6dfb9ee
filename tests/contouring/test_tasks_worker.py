"""The comparison on real Celery workers (Redis broker, PostgreSQL database).

A run is one task per structure plus a final step: two workers on the queue share a case.
"""

from __future__ import annotations

import time

import pytest

from contouring import services
from contouring.models import ResultKind
from onco_hdf.models import Job, JobStatus
from tests.contouring.conftest import create_case, submit
from tests.fixtures_celery import WorkerProcess

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

STRUCTURE_TASK = "contouring.comparison_structure_compute"


def _wait_done(job: Job, timeout: float = 240) -> Job:
    deadline = time.monotonic() + timeout
    progress_seen = set()
    while time.monotonic() < deadline:
        job.refresh_from_db()
        progress_seen.add(job.progress)
        if job.is_finished:
            return job, progress_seen
        time.sleep(0.2)
    raise AssertionError(f"job {job.pk} still {job.status} after {timeout} s")


def _succeeded(log: str) -> int:
    return sum(STRUCTURE_TASK in line and "succeeded" in line for line in log.splitlines())


def test_two_workers_share_the_structures_of_one_case(
    celery_worker, head_neck_files, pm, centre_a, tmp_path
):
    second = WorkerProcess(
        celery_worker.env, celery_worker.queue, tmp_path / "worker2.log", name="second"
    )
    second.start()
    try:
        case = create_case(head_neck_files, pm)
        submit(case, head_neck_files, 0, centre_a, pm)
        submit(case, head_neck_files, 1, centre_a, pm)
        submit(case, head_neck_files, 2, centre_a, pm)  # a consensus needs three solutions
        run = services.comparison_run_start(case=case, user=pm, include_consensus=True)
        job, progress_seen = _wait_done(run.job)
    finally:
        second.stop()
    logs = celery_worker.log()[-3000:] + second.log()[-3000:]
    assert job.status == JobStatus.DONE, job.message + logs
    assert job.progress == 100 and len(progress_seen) >= 2
    n = case.structures.filter(is_compared=True).count()
    parts = Job.objects.filter(parent=job, kind="contouring.comparison.structure")
    assert parts.count() == n and all(p.status == JobStatus.DONE and p.delivery_id for p in parts)
    # Each worker computed some of the structures, and every structure was computed once.
    first_count, second_count = _succeeded(celery_worker.log()), _succeeded(second.log())
    assert first_count >= 1 and second_count >= 1, logs
    assert first_count + second_count == n
    assert case.results.filter(kind=ResultKind.VS_REFERENCE).count() == 3 * n
    assert case.results.filter(kind=ResultKind.PAIR).count() == 3 * n
    assert case.results.filter(kind=ResultKind.CONSENSUS).count() == n
    assert case.results.filter(kind=ResultKind.STAPLE).count() == n
    grown = case.results.get(
        kind=ResultKind.VS_REFERENCE,
        structure__name="Parotid_L",
        test__solution__product__startswith="AutoContour A",
    )
    assert grown.volume_ratio > 1.2
