"""Celery tasks of the contouring app: thin wrappers around services.

A comparison run is one job split into one task per structure plus a final step
(:func:`contouring.services.comparison_run_start`); each task is a part of the run's job
with its own claim and heartbeat, so a killed worker's structure is handed back and redone.
"""

from __future__ import annotations

from celery import shared_task

from onco_hdf.jobs import run_job


@shared_task(bind=True, acks_late=True, name="contouring.comparison_structure_compute")
def comparison_structure_compute_task(self, job_id: int, run_id: int, structure_id: int) -> None:
    """One structure of a run; its rows are written with update_or_create (idempotent)."""
    from contouring.services import comparison_structure_compute

    run_job(
        job_id=job_id,
        delivery_id=self.request.id or "",
        work=lambda job, report: comparison_structure_compute(
            run_id=run_id, structure_id=structure_id, report=report
        ),
    )


@shared_task(bind=True, acks_late=True, name="contouring.comparison_run_finish")
def comparison_run_finish_task(self, job_id: int, run_id: int) -> None:
    """The run's final step once every structure is stored (DVHs, warnings, status)."""
    from contouring.services import comparison_run_finish

    run_job(
        job_id=job_id,
        delivery_id=self.request.id or "",
        work=lambda job, report: comparison_run_finish(run_id=run_id, report=report),
    )
