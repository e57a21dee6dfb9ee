"""Background jobs: create, enqueue after commit, claim, report progress, finish, sweep.

A task receives a job id, claims it with a conditional UPDATE (so two workers never run
the same job at once, and a finished job is never run again), reports progress, and ends
it as done or failed with a readable message. Work done by a job must be idempotent: a
worker killed mid-run gives the message back to the broker and the job runs again.

A whole worker killed (or its machine lost) gives nothing back until the broker's
visibility timeout, hours later. So a running job writes a heartbeat, and the sweeper
(:func:`job_sweep`, on Celery beat every minute) hands a job whose heartbeat stopped back
to the queue, sends again a pending job nobody took (the broker was down, or the message
was lost), and fails a job after ``JOB_MAX_ATTEMPTS`` runs. The claim keeps all of this
exactly-once: a job is running under one delivery at a time, and a finished job never
runs again.

A long job can be split into parts (:func:`job_part_create`), each a job of its own with
all of the above, so several workers share it. The parent job only shows the progress and
the outcome: it runs while its parts do, the sweeper hands back its parts rather than it,
and it fails as soon as one part fails for good.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, connections, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from onco_hdf.models import Job, JobStatus

logger = logging.getLogger(__name__)


def job_create(*, kind: str, label: str, user=None, centre=None, params=None) -> Job:
    return Job.objects.create(
        kind=kind, label=label, created_by=user, centre=centre, params=params or {}
    )


def job_part_create(*, parent: Job, kind: str, label: str, task, **kwargs) -> Job:
    """A part of ``parent`` running ``task(job_id=..., **kwargs)``, sent after commit.

    The parent is marked running (its progress is the parts' to report) and is finished
    by whoever completes the whole (:func:`job_succeed` on the parent).
    """
    now = timezone.now()
    Job.objects.filter(pk=parent.pk, status=JobStatus.PENDING).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, attempts=1
    )
    part = Job.objects.create(
        kind=kind,
        label=label,
        parent=parent,
        created_by=parent.created_by,
        centre=parent.centre,
    )
    return job_enqueue(job=part, task=task, **kwargs)


def idempotency_key(*, user, action: str, obj: str = "") -> str:
    raw = f"{getattr(user, 'pk', None)}|{action}|{obj}"
    return hashlib.sha256(raw.encode()).hexdigest()


def job_get_or_create(
    *,
    kind: str,
    label: str,
    user,
    obj: str = "",
    centre=None,
    params=None,
) -> tuple[Job, bool]:
    """The pending or running job of ``user`` × ``kind`` × ``obj``, else a new one.

    A double click (or two tabs) gets the first click's job: one job per key while it is
    pending or running, held by a database constraint, so simultaneous clicks too. Once
    it has ended, the same launch is a rerun and makes a new job. ``created`` says
    whether the caller should enqueue it.
    """
    key = idempotency_key(user=user, action=kind, obj=obj)
    active = [JobStatus.PENDING, JobStatus.RUNNING]
    for _attempt in range(3):
        existing = Job.objects.filter(idempotency_key=key, status__in=active).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                job = Job.objects.create(
                    kind=kind,
                    label=label,
                    created_by=user,
                    centre=centre,
                    params=params or {},
                    idempotency_key=key,
                )
            return job, True
        except IntegrityError:
            continue  # the other click won: take its job
    raise RuntimeError(f"no job for idempotency key {key}")


def job_enqueue(*, job: Job, task, **kwargs) -> Job:
    """Send ``task(job_id=..., **kwargs)`` once the current transaction commits.

    The task and its arguments are kept on the job, so that the sweeper can send it again
    when the broker was down or the worker running it died. ``kwargs`` are ids (JSON).
    """
    job.task_name = task.name
    job.task_kwargs = kwargs
    Job.objects.filter(pk=job.pk).update(task_name=job.task_name, task_kwargs=kwargs)
    transaction.on_commit(lambda: job_send(job_id=job.pk))
    return job


def waiting_message() -> str:
    return gettext(
        "The compute server cannot be reached: the job is saved, waiting for the compute "
        "server; it will start as soon as the server is back."
    )


def job_send(*, job_id: int) -> bool:
    """Publish the job's task; False (job left pending, with a message) if the broker is down."""
    from onco_hdf.celery import app

    job = Job.objects.get(pk=job_id)
    task = app.tasks[job.task_name]
    try:
        task.apply_async(kwargs={"job_id": job.pk, **job.task_kwargs})
    except Exception:  # the broker is unreachable: never lose the job, never a 500
        logger.warning("job %s: broker unreachable, left pending", job_id, exc_info=True)
        Job.objects.filter(pk=job_id, status=JobStatus.PENDING).update(message=waiting_message())
        return False
    Job.objects.filter(pk=job_id).update(sent_at=timezone.now())
    Job.objects.filter(pk=job_id, status=JobStatus.PENDING, message=waiting_message()).update(
        message=""
    )
    return True


def job_claim(*, job_id: int, delivery_id: str) -> Job | None:
    """Mark the job running for this delivery; None when someone else has it or it is over.

    ``delivery_id`` is the broker message's id: a message redelivered after its worker died
    keeps its id and takes the job back, while a duplicate message (a second enqueue of the
    same job) has another id and leaves it alone.
    """
    claimable = Q(status=JobStatus.PENDING) | Q(status=JobStatus.RUNNING, delivery_id=delivery_id)
    now = timezone.now()
    updated = Job.objects.filter(claimable, pk=job_id).update(
        status=JobStatus.RUNNING,
        delivery_id=delivery_id,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        message="",
    )
    if not updated:
        return None
    return Job.objects.get(pk=job_id)


def job_progress(*, job_id: int, progress: int, message: str = "") -> None:
    progress = max(0, min(100, int(progress)))
    Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
        progress=progress, message=message, heartbeat_at=timezone.now()
    )


def job_heartbeat(*, job_id: int, delivery_id: str) -> bool:
    """Say the job is still alive; False when it is no longer this delivery's."""
    return bool(
        Job.objects.filter(pk=job_id, status=JobStatus.RUNNING, delivery_id=delivery_id).update(
            heartbeat_at=timezone.now()
        )
    )


def _still_ours(job: Job, delivery_id: str | None) -> bool:
    return delivery_id is None or (
        job.status == JobStatus.RUNNING and job.delivery_id == delivery_id
    )


def job_succeed(
    *,
    job_id: int,
    message: str = "",
    result_url: str = "",
    result_name: str = "",
    result_content: bytes | None = None,
    delivery_id: str | None = None,
) -> Job:
    """End the job as done. With ``delivery_id``, only if that delivery still holds it."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if not _still_ours(job, delivery_id):
            logger.warning("job %s: result of a delivery that lost the job dropped", job_id)
            return job
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


def job_fail(*, job_id: int, message: str, delivery_id: str | None = None) -> None:
    jobs = Job.objects.filter(pk=job_id)
    if delivery_id is not None:
        jobs = jobs.filter(status=JobStatus.RUNNING, delivery_id=delivery_id)
    if jobs.update(status=JobStatus.FAILED, message=message, finished_at=timezone.now()):
        _fail_parents(Job.objects.filter(pk=job_id))


ACTIVE = (JobStatus.PENDING, JobStatus.RUNNING)


def _fail_parents(failed_parts) -> int:
    """Fail the still active parents of these failed parts, with a part's message."""
    count = 0
    parents = failed_parts.filter(status=JobStatus.FAILED, parent__status__in=ACTIVE)
    for parent_id, message in parents.values_list("parent_id", "message"):
        count += Job.objects.filter(pk=parent_id, status__in=ACTIVE).update(
            status=JobStatus.FAILED, message=message, finished_at=timezone.now()
        )
    return count


class JobInputError(Exception):
    """Bad input: the job fails with this (French, user-facing) message and is not retried."""


class _Heartbeat(threading.Thread):
    """Writes the job's heartbeat every ``interval`` seconds until stopped."""

    def __init__(self, job_id: int, delivery_id: str, interval: float) -> None:
        super().__init__(name=f"job-{job_id}-heartbeat", daemon=True)
        self.job_id, self.delivery_id, self.interval = job_id, delivery_id, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.interval):
                try:
                    job_heartbeat(job_id=self.job_id, delivery_id=self.delivery_id)
                except Exception:  # a missed beat is not fatal; the next one may pass
                    logger.warning("job %s: heartbeat failed", self.job_id, exc_info=True)
        finally:
            connections.close_all()  # this thread's own connections

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)


def _heartbeat_for(job_id: int, delivery_id: str) -> _Heartbeat | None:
    """A heartbeat thread on a real worker; none in-process (nothing sweeps there)."""
    from onco_hdf.celery import app

    if app.conf.task_always_eager or settings.JOB_HEARTBEAT_SECONDS <= 0:
        return None
    beat = _Heartbeat(job_id, delivery_id, settings.JOB_HEARTBEAT_SECONDS)
    beat.start()
    return beat


def run_job(
    *,
    job_id: int,
    delivery_id: str,
    work: Callable[[Job, Callable[[int, str], None]], dict | None],
) -> None:
    """Claim ``job_id`` and run ``work(job, report)``; the shape every job task shares.

    ``work`` returns the keyword arguments of :func:`job_succeed` (or None). A
    :class:`JobInputError` fails the job with its message; running out of time (the task's
    soft time limit) fails it saying so; any other exception fails it with a generic
    message and propagates so the worker logs it. While ``work`` runs, a heartbeat says
    the job is alive.
    """
    job = job_claim(job_id=job_id, delivery_id=delivery_id)
    if job is None:
        return

    def report(progress: int, message: str = "") -> None:
        job_progress(job_id=job_id, progress=progress, message=message)

    beat = _heartbeat_for(job_id, delivery_id)
    try:
        outcome = work(job, report) or {}
    except JobInputError as error:
        job_fail(job_id=job_id, message=str(error), delivery_id=delivery_id)
        return
    except SoftTimeLimitExceeded:
        job_fail(
            job_id=job_id,
            message=gettext(
                "The job took longer than the time allowed and was stopped. "
                "Try with less data, or contact the team."
            ),
            delivery_id=delivery_id,
        )
        return
    except Exception:
        job_fail(
            job_id=job_id,
            message=gettext("An unexpected error stopped the job; the team has been notified."),
            delivery_id=delivery_id,
        )
        raise
    finally:
        if beat is not None:
            beat.stop()
    job_succeed(job_id=job_id, delivery_id=delivery_id, **outcome)


def job_sweep(*, now=None) -> dict[str, int]:
    """Give back jobs whose worker died, send again jobs nobody took, fail hopeless ones.

    Every change is a conditional UPDATE on the state that was read, so two sweepers (or
    a sweeper and a worker) never both act on one job. Returns counts by outcome.
    """
    now = now or timezone.now()
    counts = {"requeued": 0, "resent": 0, "failed": 0}
    stale_before = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    alive = Coalesce("heartbeat_at", "started_at", "created_at")

    # A parent runs as long as its parts: they are the ones handed back.
    has_parts = Exists(Job.objects.filter(parent=OuterRef("pk")))
    stale = (
        Job.objects.filter(status=JobStatus.RUNNING)
        .exclude(has_parts)
        .alias(last_alive=alive)
        .filter(last_alive__lt=stale_before)
    )
    for job in stale.only("pk", "attempts", "delivery_id", "task_name"):
        same = Job.objects.filter(
            pk=job.pk, status=JobStatus.RUNNING, delivery_id=job.delivery_id
        ).alias(last_alive=alive)
        same = same.filter(last_alive__lt=stale_before)
        if job.attempts >= settings.JOB_MAX_ATTEMPTS or not job.task_name:
            counts["failed"] += same.update(
                status=JobStatus.FAILED,
                finished_at=now,
                message=gettext(
                    "The compute server stopped %(attempts)d time(s) while running this job; "
                    "it was abandoned. Start it again, or contact the team if this repeats."
                )
                % {"attempts": job.attempts},
            )
        elif same.update(status=JobStatus.PENDING, delivery_id="", sent_at=None, message=""):
            counts["requeued"] += 1
            job_send(job_id=job.pk)

    too_old = now - timedelta(hours=settings.JOB_PENDING_MAX_HOURS)
    pending = Job.objects.filter(status=JobStatus.PENDING).exclude(task_name="")
    counts["failed"] += pending.filter(created_at__lt=too_old).update(
        status=JobStatus.FAILED,
        finished_at=now,
        message=gettext("No compute server took this job in time; start it again."),
    )
    # A part abandoned above fails its whole job (before its other parts are sent again).
    counts["failed"] += _fail_parents(Job.objects.filter(parent__isnull=False))
    resend_before = now - timedelta(seconds=settings.JOB_PENDING_RESEND_SECONDS)
    # A few seconds of grace: the request that created the job may still be sending it.
    unsent = Q(sent_at__isnull=True, created_at__lt=now - timedelta(seconds=5))
    for job_id in pending.filter(unsent | Q(sent_at__lt=resend_before)).values_list(
        "pk", flat=True
    ):
        counts["resent"] += job_send(job_id=job_id)
    return counts
