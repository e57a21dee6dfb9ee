from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

BEAT_SCHEDULE = {
    "cyber-continuity-capacity-reminders": {
        "task": "cyber_continuity.capacity_attestation_remind",
        "schedule": 24 * 3600.0,
    },
    "cyber-continuity-crisis-kits-monthly": {
        "task": "cyber_continuity.crisis_kits_monthly",
        # Daily check; the service makes one edition per centre and month.
        "schedule": 24 * 3600.0,
    },
    "cyber-continuity-convention-expiry": {
        "task": "cyber_continuity.convention_expiry_check",
        "schedule": 24 * 3600.0,
    },
}


class CyberContinuityConfig(AppConfig):
    name = "cyber_continuity"
    verbose_name = _("Cyber-crisis continuity")

    def ready(self) -> None:
        from django.conf import settings

        from cyber_continuity import permissions, reports
        from onco_hdf import reports as registry
        from onco_hdf.celery import app
        from onco_hdf.signing import register_holder

        register_holder("cyber_continuity.convention", reports.issued_convention_holder)

        settings.CELERY_BEAT_SCHEDULE.update(BEAT_SCHEDULE)
        app.conf.beat_schedule.update(BEAT_SCHEDULE)
        registry.register(
            "cyber_continuity.crisis_kit",
            reports.build_crisis_kit_report,
            label=_("Crisis kit"),
            may_start=permissions.can_view_registry,
        )
