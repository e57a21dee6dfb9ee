"""A contour comparison survives its whole worker being SIGKILLed mid-run (real worker):
the structure being computed is handed back by the sweeper and redone, nothing twice."""

from __future__ import annotations

import time

import pytest

from contouring import services
from contouring.models import ResultKind
from onco_hdf import jobs
from onco_hdf.models import Job, JobStatus
from tests.contouring.conftest import create_case, submit

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def test_comparison_finishes_after_the_whole_worker_is_killed_mid_structure(
    celery_worker, head_neck_files, pm, centre_a, settings
):
    settings.JOB_STALE_SECONDS = 3
    case = create_case(head_neck_files, pm)
    submit(case, head_neck_files, 0, centre_a, pm)
    submit(case, head_neck_files, 1, centre_a, pm)
    submit(case, head_neck_files, 2, centre_a, pm)  # a consensus needs three solutions
    run = services.comparison_run_start(case=case, user=pm, include_consensus=True)
    parts = Job.objects.filter(parent_id=run.job_id, kind="contouring.comparison.structure")

    def computing() -> bool:
        assert not Job.objects.get(pk=run.job_id).is_finished, "ended before the kill"
        return parts.filter(status=JobStatus.RUNNING).exists()

    celery_worker.wait_until(computing, 60, "a structure to be computing")
    celery_worker.kill_all()
    killed_at = time.monotonic()
    (killed,) = parts.filter(status=JobStatus.RUNNING)
    job = Job.objects.get(pk=run.job_id)
    assert job.status == JobStatus.RUNNING and job.progress < 100
    celery_worker.start()
    requeued = 0
    while not job.is_finished and time.monotonic() - killed_at < 180:
        requeued += jobs.job_sweep()["requeued"]
        time.sleep(1)
        job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.message + celery_worker.log()[-3000:]
    killed.refresh_from_db()
    # The killed structure was handed back once and run a second time; the run itself
    # was never swept.
    assert (requeued, killed.status, killed.attempts) == (1, JobStatus.DONE, 2)
    assert job.attempts == 1
    assert all(p.status == JobStatus.DONE for p in parts)
    n = case.structures.filter(is_compared=True).count()
    assert run.parts.filter(finished_at__isnull=False).count() == n
    # Run twice, stored once: each result row exactly once.
    assert case.results.filter(kind=ResultKind.VS_REFERENCE).count() == 3 * n
    assert case.results.filter(kind=ResultKind.PAIR).count() == 3 * n
    assert case.results.filter(kind=ResultKind.CONSENSUS).count() == n
    assert case.results.filter(kind=ResultKind.STAPLE).count() == n
