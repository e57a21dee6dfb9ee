from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContouringConfig(AppConfig):
    name = "contouring"
    verbose_name = _("Auto-contouring comparison")

    def ready(self) -> None:
        from contouring import permissions
        from contouring.reports import build_comparison_report_context
        from onco_hdf import reports

        reports.register(
            "contouring.comparison_report",
            build_comparison_report_context,
            label=_("Auto-contouring comparison report"),
            may_start=permissions.can_download_report,
        )
