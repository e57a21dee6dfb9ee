"""“Your centre vs the region”: one centre's answers beside the regional distribution.

The same rows feed the page and its one-page PDF; the regional figures follow the
small-count rule of every survey view (:mod:`surveys.suppression`), and no other centre
is named.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from onco_hdf.reports import ReportSpec
from surveys import suppression
from surveys.exports import file_slug
from surveys.models import Campaign
from surveys.results import centre_comparison


def build_centre_summary_context(*, campaign: Campaign, centre) -> dict:
    comparison = centre_comparison(campaign, centre)
    return {
        "campaign": campaign,
        "centre": centre,
        "comparison": comparison,
        "rows": comparison.rows,
        "min_cell": suppression.threshold(),
        "suppression_note": suppression.note(),
        "generated_at": timezone.localtime(),
        "report_title": _("Your centre vs the region"),
    }


def centre_summary_spec(*, campaign: Campaign, centre) -> ReportSpec:
    centre_slug = slugify(centre.short_name or centre.name)[:30] or str(centre.pk)
    return ReportSpec(
        template_name="reports/surveys/centre_summary.html",
        context=build_centre_summary_context(campaign=campaign, centre=centre),
        filename=f"{file_slug(campaign)}-{centre_slug}-face-a-la-region.pdf",
    )
