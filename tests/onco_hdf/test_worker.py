"""Jobs on a real Celery worker process (Redis broker, PostgreSQL database)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db.models import F

from onco_hdf import jobs
from onco_hdf.models import Job, JobStatus
from onco_hdf.tasks import job_sweep_task, worker_check_task
from tests.conftest import login

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def observe(job_id: int, timeout: float) -> list[tuple[str, int]]:
    """Poll the job like the page does; return the distinct (status, progress) seen."""
    seen: list[tuple[str, int]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        state = (job.status, job.progress)
        if not seen or seen[-1] != state:
            seen.append(state)
        if job.is_finished:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"job still {seen[-1]} after {timeout}s")


def test_job_goes_pending_running_done_with_progress(celery_worker, pm):
    job = jobs.job_create(kind="worker_check", label="check", user=pm)
    assert job.status == JobStatus.PENDING
    worker_check_task.delay(job_id=job.pk, steps=5, step_seconds=0.3)
    seen = observe(job.pk, timeout=60)
    statuses = [status for status, _progress in seen]
    assert statuses[0] == JobStatus.PENDING
    assert JobStatus.RUNNING in statuses
    assert statuses[-1] == JobStatus.DONE
    running_progress = [p for s, p in seen if s == JobStatus.RUNNING]
    assert any(0 < p < 100 for p in running_progress)
    assert running_progress == sorted(running_progress)
    job.refresh_from_db()
    assert job.attempts == 1 and job.progress == 100


def test_job_survives_its_worker_process_being_killed(celery_worker, pm):
    job = jobs.job_create(kind="worker_check", label="check", user=pm)
    worker_check_task.delay(job_id=job.pk, steps=10, step_seconds=0.4)
    celery_worker.wait_until(
        lambda: Job.objects.get(pk=job.pk).progress >= 20, 60, "the job to be half-way"
    )
    celery_worker.kill_child()  # SIGKILL of the pool process running the task
    seen = observe(job.pk, timeout=90)
    job.refresh_from_db()
    assert seen[-1] == (JobStatus.DONE, 100), celery_worker.log()[-3000:]
    assert job.attempts == 2  # ran again after the message came back to the queue
    assert "WorkerLostError" in celery_worker.log()


def test_job_survives_the_whole_worker_being_killed(celery_worker, pm, settings):
    """SIGKILL of the worker's process group: no redelivery; the sweeper gives the job back."""
    settings.JOB_STALE_SECONDS = 3
    job = jobs.job_create(kind="worker_check", label="check", user=pm)
    jobs.job_enqueue(job=job, task=worker_check_task, steps=10, step_seconds=0.5)
    celery_worker.wait_until(
        lambda: Job.objects.get(pk=job.pk).progress >= 20, 60, "the job to be half-way"
    )
    celery_worker.kill_all()
    started = time.monotonic()
    assert jobs.job_sweep() == {"requeued": 0, "resent": 0, "failed": 0}  # heartbeat fresh
    assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING
    celery_worker.start()
    swept = {"requeued": 0}
    while time.monotonic() - started < 120:
        job.refresh_from_db()
        if job.is_finished:
            break
        swept["requeued"] += jobs.job_sweep()["requeued"]
        time.sleep(1)
    assert (job.status, job.progress) == (JobStatus.DONE, 100), celery_worker.log()[-3000:]
    assert swept["requeued"] == 1
    assert job.attempts == 2
    assert time.monotonic() - started < 120


def test_sweeper_runs_on_the_worker_and_fails_a_job_after_its_attempts(celery_worker, pm):
    job = jobs.job_create(kind="worker_check", label="check", user=pm)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, attempts=3, delivery_id="dead", task_name="onco_hdf.worker_check"
    )
    Job.objects.filter(pk=job.pk).update(heartbeat_at=F("created_at") - timedelta(hours=1))
    job_sweep_task.delay()
    celery_worker.wait_until(lambda: Job.objects.get(pk=job.pk).is_finished, 60, "the sweep")
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.message.startswith("Le serveur de calcul s’est arrêté 3 fois")


def test_job_launched_while_the_broker_is_down_runs_when_it_is_back(celery_worker_own_redis, pm):
    """Stop the (test's own) Redis, launch a report, restart Redis: the job runs."""
    worker = celery_worker_own_redis
    worker.redis.stop()
    client = login(pm)
    started = time.monotonic()
    response = client.post("/rapports/onco_hdf.dashboard/generer/")
    assert time.monotonic() - started < 10  # the request does not hang on the dead broker
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/taches/{job.pk}/"
    assert (job.status, job.sent_at) == (JobStatus.PENDING, None)
    assert "en attente du serveur de calcul" in client.get(f"/taches/{job.pk}/").content.decode()
    # A second click while it waits: the same job.
    assert client.post("/rapports/onco_hdf.dashboard/generer/")["Location"] == f"/taches/{job.pk}/"
    worker.redis.start()
    deadline = time.monotonic() + 120
    while not job.is_finished and time.monotonic() < deadline:
        jobs.job_sweep()  # what beat does every minute
        time.sleep(1)
        job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.message + worker.log()[-3000:]
    assert job.delivery_id and job.result_file
    assert Job.objects.count() == 1


def test_soft_time_limit_on_a_real_worker_fails_the_job_in_french(celery_worker, pm):
    job = jobs.job_create(kind="worker_check", label="check", user=pm)
    worker_check_task.apply_async(
        kwargs={"job_id": job.pk, "steps": 20, "step_seconds": 0.5},
        soft_time_limit=1,
        time_limit=30,
    )
    observe(job.pk, timeout=60)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED, celery_worker.log()[-2000:]
    assert job.message.startswith("La tâche a dépassé la durée autorisée et a été arrêtée.")
    assert job.progress < 100
