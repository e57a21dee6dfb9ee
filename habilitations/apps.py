from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HabilitationsConfig(AppConfig):
    name = "habilitations"
    verbose_name = _("Physician habilitations")

    def ready(self) -> None:
        from celery.schedules import crontab
        from django.conf import settings

        from habilitations.reports import issued_sheet_holder
        from onco_hdf.celery import app
        from onco_hdf.signing import register_holder

        register_holder("habilitations.habilitationsheet", issued_sheet_holder)

        schedule = {
            "habilitations-daily": {
                "task": "habilitations.habilitations_daily",
                "schedule": crontab(hour=6, minute=30),
            }
        }
        settings.CELERY_BEAT_SCHEDULE.update(schedule)
        app.conf.beat_schedule.update(schedule)
