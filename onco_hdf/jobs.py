"""Background jobs: create, enqueue after commit, claim, report progress, finish.

A task receives a job id, claims it with a conditional UPDATE (so two workers never run
the same job at once, and a finished job is never run again), reports progress, and ends
it as done or failed with a readable message. Work done by a job must be idempotent: a
worker killed mid-run gives the message back to the broker and the job runs again.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext

from onco_hdf.models import Job, JobStatus


def job_create(*, kind: str, label: str, user=None, centre=None, params=None) -> Job:
    return Job.objects.create(
        kind=kind, label=label, created_by=user, centre=centre, params=params or {}
    )


def job_enqueue(*, job: Job, task, **kwargs) -> Job:
    """Send ``task(job_id=..., **kwargs)`` once the current transaction commits."""
    transaction.on_commit(lambda: task.delay(job_id=job.pk, **kwargs))
    return job


def job_claim(*, job_id: int, delivery_id: str) -> Job | None:
    """Mark the job running for this delivery; None when someone else has it or it is over.

    ``delivery_id`` is the broker message's id: a message redelivered after its worker died
    keeps its id and takes the job back, while a duplicate message (a second enqueue of the
    same job) has another id and leaves it alone.
    """
    claimable = Q(status=JobStatus.PENDING) | Q(status=JobStatus.RUNNING, delivery_id=delivery_id)
    updated = Job.objects.filter(claimable, pk=job_id).update(
        status=JobStatus.RUNNING,
        delivery_id=delivery_id,
        started_at=timezone.now(),
        attempts=F("attempts") + 1,
        message="",
    )
    if not updated:
        return None
    return Job.objects.get(pk=job_id)


def job_progress(*, job_id: int, progress: int, message: str = "") -> None:
    progress = max(0, min(100, int(progress)))
    Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        progress=progress, message=message
    )


def job_succeed(
    *,
    job_id: int,
    message: str = "",
    result_url: str = "",
    result_name: str = "",
    result_content: bytes | None = None,
) -> Job:
    job = Job.objects.get(pk=job_id)
    if result_content is not None:
        job.result_file.save(
            result_name or f"job-{job.pk}", ContentFile(result_content), save=False
        )
    job.status = JobStatus.DONE
    job.progress = 100
    job.message = message
    job.result_url = result_url
    job.finished_at = timezone.now()
    job.save()
    return job


def job_fail(*, job_id: int, message: str) -> None:
    Job.objects.filter(pk=job_id).update(
        status=JobStatus.FAILED, message=message, finished_at=timezone.now()
    )


class JobInputError(Exception):
    """Bad input: the job fails with this (French, user-facing) message and is not retried."""


def run_job(
    *,
    job_id: int,
    delivery_id: str,
    work: Callable[[Job, Callable[[int, str], None]], dict | None],
) -> None:
    """Claim ``job_id`` and run ``work(job, report)``; the shape every job task shares.

    ``work`` returns the keyword arguments of :func:`job_succeed` (or None). A
    :class:`JobInputError` fails the job with its message; any other exception fails it
    with a generic message and propagates so the worker logs it.
    """
    job = job_claim(job_id=job_id, delivery_id=delivery_id)
    if job is None:
        return

    def report(progress: int, message: str = "") -> None:
        job_progress(job_id=job_id, progress=progress, message=message)

    try:
        outcome = work(job, report) or {}
    except JobInputError as error:
        job_fail(job_id=job_id, message=str(error))
        return
    except Exception:
        job_fail(
            job_id=job_id,
            message=gettext("An unexpected error stopped the job; the team has been notified."),
        )
        raise
    job_succeed(job_id=job_id, **outcome)
