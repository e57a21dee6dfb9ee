"""Foundation tasks: render a registered PDF report, check the workers, sweep the jobs."""

from __future__ import annotations

import time

from celery import shared_task
from django.conf import settings
from django.utils.translation import gettext as _

from onco_hdf import reports
from onco_hdf.jobs import job_sweep, run_job


@shared_task(
    bind=True,
    name="onco_hdf.report_render",
    soft_time_limit=settings.REPORT_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.REPORT_TASK_TIME_LIMIT,
)
def report_render_task(self, job_id: int) -> None:
    run_job(job_id=job_id, delivery_id=self.request.id or "", work=reports.report_render)


@shared_task(bind=True, name="onco_hdf.worker_check")
def worker_check_task(self, job_id: int, steps: int = 5, step_seconds: float = 0.2) -> None:
    """Walk a job through its progress states: proves a worker takes, runs and ends jobs."""

    def work(job, report):
        for step in range(1, steps + 1):
            time.sleep(step_seconds)
            report(
                round(100 * step / steps),
                _("Step %(step)d of %(steps)d")
                % {
                    "step": step,
                    "steps": steps,
                },
            )
        return {
            "message": _("The worker answered: %(attempts)d attempt(s).")
            % {"attempts": job.attempts}
        }

    run_job(job_id=job_id, delivery_id=self.request.id or "", work=work)


@shared_task(name="onco_hdf.job_sweep", acks_late=False)
def job_sweep_task() -> dict[str, int]:
    """Beat, every minute: requeue jobs of dead workers, send jobs the broker never got."""
    return job_sweep()
