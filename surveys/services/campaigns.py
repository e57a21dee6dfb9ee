"""Campaigns: saving (centres, section roles), closing, and the report's texts and
cross-tabulations."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onco_hdf.models import Role
from surveys.models import Campaign, QuestionType, Response, VersionStatus
from surveys.services.common import _fail

# Pseudo question code of cross-tabulations: the sector of the centre.
SECTOR = "SECTOR"


@transaction.atomic
def campaign_save(*, campaign: Campaign, centres, user=None) -> Campaign:
    if campaign.version.status != VersionStatus.PUBLISHED:
        _fail(_("A campaign uses a published version of the questionnaire."))
    if campaign.closes_on < campaign.opens_on:
        _fail(_("The closing date is before the opening date."))
    structure_codes = set(campaign.version.sections.values_list("code", flat=True))
    campaign.section_roles = {
        k: v
        for k, v in (campaign.section_roles or {}).items()
        if k in structure_codes and v in Role.values
    }
    if campaign.pk is not None:
        stored = Campaign.objects.filter(pk=campaign.pk).values_list("unit", flat=True).first()
        if stored != campaign.unit and Response.objects.filter(campaign=campaign).exists():
            _fail(
                _(
                    "The unit of response cannot change: responses exist already (they would "
                    "no longer match a centre or a person)."
                )
            )
    if campaign.pk is None:
        campaign.created_by = user
    campaign.save()
    campaign.centres.set(centres)
    return campaign


@transaction.atomic
def campaign_close(*, campaign: Campaign, user) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.closed_at is None:
        campaign.closed_at = timezone.now()
        campaign.save(update_fields=["closed_at"])
    return campaign


@transaction.atomic
def campaign_report_update(
    *,
    campaign: Campaign,
    introduction: str,
    conclusions: str,
    cross_tabs: list,
    text_themes: list | None = None,
) -> Campaign:
    types = dict(campaign.version.questions.values_list("code", "type"))
    # One answer (or a set of options) per respondent: a matrix or a ranking cannot be
    # crossed with the centre's sector in any meaningful way.
    allowed = {QuestionType.SINGLE, QuestionType.MULTIPLE, QuestionType.LIKERT}
    allowed |= {QuestionType.YES_NO}
    for pair in cross_tabs:
        unknown = [c for c in pair if c != SECTOR and c not in types]
        if len(pair) != 2 or unknown:
            _fail(_("A cross-tabulation names a question code that does not exist."))
        for code in pair:
            if code != SECTOR and types[code] not in allowed:
                _fail(
                    _("The cross-tabulation uses %(code)s, which is not a choice question.")
                    % {"code": code}
                )
    # Markdown source, as typed: it is sanitised each time it is rendered (surveys.richtext).
    campaign.introduction = introduction.strip()
    campaign.conclusions = conclusions.strip()
    campaign.cross_tabs = [list(p) for p in cross_tabs]
    fields = ["introduction", "conclusions", "cross_tabs"]
    if text_themes is not None:
        campaign.text_themes = text_themes
        fields.append("text_themes")
    campaign.save(update_fields=fields)
    return campaign
