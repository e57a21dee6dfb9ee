"""System checks for settings that must never reach production."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security)
def second_factor_required_in_production(app_configs, **kwargs):
    # A plain check (not only --deploy): a production process refuses to start with it.
    if settings.DEBUG or settings.TWO_FACTOR_REQUIRED:
        return []
    return [
        Error(
            "TWO_FACTOR_REQUIRED is off while DEBUG is off.",
            hint="The second factor may only be switched off in the embedded demo (DEBUG=1).",
            id="onco_hdf.E001",
        )
    ]
