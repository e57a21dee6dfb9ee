from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

BEAT_ENTRY = {
    "surveys-reminders": {
        "task": "surveys.scheduled_reminders_send",
        "schedule": 24 * 3600,
    }
}


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("Surveys")

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_delete, post_save

        from onco_hdf import reports
        from onco_hdf.celery import app
        from surveys import models, permissions
        from surveys.report_docx import build_survey_report_docx
        from surveys.reports import build_survey_report_context
        from surveys.selectors import structure_cache_clear

        # A structure kept for a frozen version is dropped when any part of a version changes.
        for model in (models.QuestionnaireVersion, models.Section, models.Question, models.Choice):
            for signal in (post_save, post_delete):
                signal.connect(
                    structure_cache_clear, sender=model, dispatch_uid=f"structure-{model.__name__}"
                )

        reports.register(
            "surveys.report",
            build_survey_report_context,
            label=_("Survey report"),
            may_start=permissions.can_view_results,
        )
        reports.register(
            "surveys.report_docx",
            build_survey_report_docx,
            label=_("Survey report (Word)"),
            may_start=permissions.can_view_results,
        )
        settings.CELERY_BEAT_SCHEDULE.update(BEAT_ENTRY)
        app.conf.beat_schedule.update(BEAT_ENTRY)
