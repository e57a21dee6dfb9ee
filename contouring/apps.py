from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContouringConfig(AppConfig):
    name = "contouring"
    verbose_name = _("Auto-contouring comparison")
