"""Celery tasks of the contouring app: thin wrappers around services."""

from __future__ import annotations

from celery import shared_task

from onco_hdf.jobs import run_job


@shared_task(bind=True, acks_late=True, name="contouring.comparison_run_compute")
def comparison_run_compute_task(self, job_id: int, run_id: int) -> None:
    """Compute a comparison run; the results are written with update_or_create (idempotent)."""
    from contouring.services import comparison_run_compute

    run_job(
        job_id=job_id,
        delivery_id=self.request.id or "",
        work=lambda job, report: comparison_run_compute(run_id=run_id, report=report),
    )
