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


@register(Tags.security, deploy=True)
def public_address_and_signing_certificate(app_configs, **kwargs):
    """Production prints SITE_URL in QR codes and signs official PDFs with its own certificate."""
    if settings.DEBUG:
        return []
    from urllib.parse import urlsplit

    from onco_hdf.signing import certificate_problem

    errors = []
    host = urlsplit(settings.SITE_URL).hostname or ""
    if settings.SITE_URL == settings.SITE_URL_DEFAULT or host in ("", "127.0.0.1", "localhost"):
        errors.append(
            Error(
                f"SITE_URL is {settings.SITE_URL!r}: the QR codes and links of the documents "
                "would point to this machine. / SITE_URL vaut "
                f"{settings.SITE_URL!r} : les QR codes et liens des documents pointeraient "
                "vers cette machine.",
                hint="Set SITE_URL to the public address, e.g. https://onco-hdf.example.org "
                "/ Donnez à SITE_URL l'adresse publique de la plateforme.",
                id="onco_hdf.E002",
            )
        )
    problem = certificate_problem()
    if problem:
        errors.append(
            Error(
                f"No signing certificate for the official PDFs: {problem}. / Pas de certificat "
                "de signature pour les PDF officiels.",
                hint="Set ONCO_SIGNING_P12 to a PKCS#12 file and ONCO_SIGNING_P12_PASSWORD to "
                "its password (README, Configuration) / Indiquez le fichier PKCS#12 et son mot "
                "de passe.",
                id="onco_hdf.E003",
            )
        )
    return errors
