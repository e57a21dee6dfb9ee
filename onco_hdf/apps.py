from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OncoHdfConfig(AppConfig):
    name = "onco_hdf"
    verbose_name = _("ONCO-HDF platform")

    def ready(self) -> None:
        from datetime import timedelta

        from django.conf import settings
        from django.db.models.signals import post_migrate

        from onco_hdf import checks, permissions, reports  # noqa: F401  (registers checks)
        from onco_hdf.audit import secure_database
        from onco_hdf.celery import app
        from onco_hdf.dashboard import build_dashboard_report
        from onco_hdf.governance_reports import build_copil_minutes_report, build_copil_pack_report

        # History tables that later migrations create are protected too, and the app role
        # gets row access to every table.
        post_migrate.connect(secure_database, dispatch_uid="onco_hdf-append-only")
        from simple_history.signals import pre_create_historical_record

        from onco_hdf.history import stamp_history_by

        pre_create_historical_record.connect(stamp_history_by, dispatch_uid="onco_hdf-history-by")
        reports.register(
            "onco_hdf.dashboard",
            build_dashboard_report,
            label=_("Regional dashboard"),
            may_start=permissions.is_regional_reader,
        )
        reports.register(
            "onco_hdf.copil_pack",
            build_copil_pack_report,
            label=_("COPIL meeting pack"),
            may_start=permissions.can_view_copil,
        )
        reports.register(
            "onco_hdf.copil_minutes",
            build_copil_minutes_report,
            label=_("COPIL minutes"),
            may_start=permissions.can_view_copil,
        )

        sweep_every = settings.JOB_SWEEP_SECONDS
        schedule = {
            "onco_hdf-job-sweep": {
                "task": "onco_hdf.job_sweep",
                "schedule": timedelta(seconds=sweep_every),
                # A sweep nobody ran in time is replaced by the next one, not queued up.
                "options": {"expires": max(1.0, sweep_every - 5)},
            }
        }
        settings.CELERY_BEAT_SCHEDULE.update(schedule)
        app.conf.beat_schedule.update(schedule)
