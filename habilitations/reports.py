"""PDF of a habilitation sheet and the charts of the regional overview."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from habilitations import services
from habilitations.models import HabilitationSheet, Level
from onco_hdf import charts, pdf, signing
from onco_hdf.qr import qr_data_uri


def evidence_summary(line) -> str:
    parts = []
    if line.supervised_cases:
        parts.append(_("%(n)d supervised cases") % {"n": line.supervised_cases})
    if line.peer_reviewed_contours:
        parts.append(_("%(n)d peer-reviewed contours") % {"n": line.peer_reviewed_contours})
    if line.courses:
        parts.append(_("courses: %(text)s") % {"text": line.courses})
    if line.vendor_training:
        parts.append(_("vendor training: %(text)s") % {"text": line.vendor_training})
    files = len(line.evidence.all())
    if files:
        parts.append(_("%(n)d file(s) attached") % {"n": files})
    return "; ".join(parts) or "—"


def build_sheet_context(sheet: HabilitationSheet) -> dict:
    lines = list(
        sheet.lines.select_related("activity__domain", "tutor").prefetch_related("evidence")
    )
    code = services.verification_code(sheet)
    verification_url = settings.SITE_URL.rstrip("/") + reverse(
        "habilitations:verify-code", args=[code]
    )
    return {
        "report_title": _("Physician habilitation sheet"),
        "report_subtitle": f"{sheet.physician_name} — {sheet.centre.name}",
        "data_version": _("catalogue v%(n)s, sheet revision %(r)s")
        % {"n": sheet.catalogue_version.number, "r": sheet.revision},
        "sheet": sheet,
        "rows": [(line, evidence_summary(line)) for line in lines],
        "transitions": list(sheet.transitions.select_related("actor")),
        "verification_code": code,
        "verification_url": verification_url,
        "verification_qr": qr_data_uri(verification_url, box_size=6),
    }


def sheet_official(sheet: HabilitationSheet) -> signing.Official:
    # The reference is the verification code: it names the sheet and the revision shown.
    return signing.Official.of(
        sheet,
        title=_("Physician habilitation sheet"),
        reference=services.verification_code(sheet),
        own_verification=True,
    )


def verification_holder(result: services.Verification) -> dict:
    """What the public verification page shows for a sheet (no more than its PDF prints)."""
    return {
        "template": "habilitations/includes/verify_sheet.html",
        "result": result,
        "lines": list(result.sheet.lines.select_related("activity__domain")),
    }


def issued_sheet_holder(issued) -> dict | None:
    result = services.verification_lookup(issued.reference)
    return verification_holder(result) if result.sheet else None


def sheet_pdf(sheet: HabilitationSheet) -> bytes:
    return pdf.render_pdf(
        "reports/habilitations/sheet.html",
        build_sheet_context(sheet),
        official=sheet_official(sheet),
    )


def level_chart(matrix):
    series = [
        (str(label), [values[index] for _activity, values in matrix.counts])
        for index, label in enumerate(Level.labels)
    ]
    return charts.stacked_bar_chart(
        [a.code for a in matrix.activities],
        series,
        title=_("Physicians by level and activity"),
        percent=False,
    )
