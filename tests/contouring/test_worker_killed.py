"""A contour comparison survives its whole worker being SIGKILLed mid-run (real worker)."""

from __future__ import annotations

import time

import pytest

from contouring import services
from contouring.models import ResultKind
from onco_hdf import jobs
from onco_hdf.models import Job, JobStatus
from tests.contouring.conftest import create_case, submit

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def test_comparison_finishes_after_the_whole_worker_is_killed_mid_run(
    celery_worker, head_neck_files, pm, centre_a, settings
):
    settings.JOB_STALE_SECONDS = 3
    case = create_case(head_neck_files, pm)
    submit(case, head_neck_files, 0, centre_a, pm)
    submit(case, head_neck_files, 1, centre_a, pm)
    submit(case, head_neck_files, 2, centre_a, pm)  # a consensus needs three solutions
    run = services.comparison_run_start(case=case, user=pm, include_consensus=True)

    def computing() -> bool:
        job = Job.objects.get(pk=run.job_id)
        assert not job.is_finished, "the comparison ended before the worker could be killed"
        return job.status == JobStatus.RUNNING and job.progress > 2  # past reading the files

    celery_worker.wait_until(computing, 60, "the comparison to be computing")
    celery_worker.kill_all()
    killed_at = time.monotonic()
    job = Job.objects.get(pk=run.job_id)
    assert job.status == JobStatus.RUNNING and job.progress < 100
    celery_worker.start()
    requeued = 0
    while not job.is_finished and time.monotonic() - killed_at < 120:
        requeued += jobs.job_sweep()["requeued"]
        time.sleep(1)
        job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.message + celery_worker.log()[-3000:]
    assert (requeued, job.attempts) == (1, 2)
    assert time.monotonic() - killed_at < 120
    n = case.structures.filter(is_compared=True).count()
    # Run twice, stored once: each result row exactly once.
    assert case.results.filter(kind=ResultKind.VS_REFERENCE).count() == 3 * n
    assert case.results.filter(kind=ResultKind.PAIR).count() == 3 * n
    assert case.results.filter(kind=ResultKind.CONSENSUS).count() == n
    assert case.results.filter(kind=ResultKind.STAPLE).count() == n
