from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CyberContinuityConfig(AppConfig):
    name = "cyber_continuity"
    verbose_name = _("Cyber-crisis continuity")
