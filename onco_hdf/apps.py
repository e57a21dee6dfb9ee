from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OncoHdfConfig(AppConfig):
    name = "onco_hdf"
    verbose_name = _("ONCO-HDF platform")

    def ready(self) -> None:
        from onco_hdf import checks, permissions, reports  # noqa: F401  (registers checks)
        from onco_hdf.dashboard import build_dashboard_report

        reports.register(
            "onco_hdf.dashboard",
            build_dashboard_report,
            label=_("Regional dashboard"),
            may_start=permissions.is_regional_reader,
        )
