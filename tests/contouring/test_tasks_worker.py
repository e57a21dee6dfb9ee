"""The comparison task on a real Celery worker (Redis broker, PostgreSQL database)."""

from __future__ import annotations

import time

import pytest

from contouring import services
from contouring.models import ResultKind
from onco_hdf.models import Job, JobStatus
from tests.contouring.conftest import create_case, submit

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def _wait_done(job: Job, timeout: float = 120) -> Job:
    deadline = time.monotonic() + timeout
    progress_seen = set()
    while time.monotonic() < deadline:
        job.refresh_from_db()
        progress_seen.add(job.progress)
        if job.is_finished:
            return job, progress_seen
        time.sleep(0.2)
    raise AssertionError(f"job {job.pk} still {job.status} after {timeout} s")


def test_comparison_runs_on_a_real_worker(celery_worker, head_neck_files, pm, centre_a):
    case = create_case(head_neck_files, pm)
    submit(case, head_neck_files, 0, centre_a, pm)
    submit(case, head_neck_files, 1, centre_a, pm)
    submit(case, head_neck_files, 2, centre_a, pm)  # a consensus needs three solutions
    run = services.comparison_run_start(case=case, user=pm, include_consensus=True)
    job, progress_seen = _wait_done(run.job)
    assert job.status == JobStatus.DONE, job.message + celery_worker.log()[-2000:]
    assert job.delivery_id  # claimed by the worker's message, not run in-process
    assert job.progress == 100 and len(progress_seen) >= 2
    n = case.structures.filter(is_compared=True).count()
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
