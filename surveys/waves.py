"""Waves: this campaign against the latest earlier campaign of the same questionnaire."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from surveys import statistics, suppression
from surveys.models import Campaign, ResponseStatus
from surveys.results import CampaignResults, campaign_results


def previous_wave(campaign: Campaign) -> Campaign | None:
    """The latest campaign of the same questionnaire that opened before this one and has
    submitted responses."""
    return (
        Campaign.objects.filter(
            version__questionnaire_id=campaign.version.questionnaire_id,
            opens_on__lt=campaign.opens_on,
            responses__status=ResponseStatus.SUBMITTED,
        )
        .exclude(pk=campaign.pk)
        .select_related("version")
        .order_by("-opens_on", "-pk")
        .distinct()
        .first()
    )


def wave_changes(data: CampaignResults, before: CampaignResults) -> list:
    """``[(question, [WaveChange])]`` for the choice questions both waves share by code,
    on the answer codes both offer (cells masked by the small-count rule left out)."""
    found = []
    for result in data.questions:
        old = before.by_code(result.question.code)
        if (
            old is None
            or result.kind != "choice"
            or old.kind != "choice"
            or not (result.answered and old.answered)
        ):
            continue
        old_counts = {code: count for code, _l, count in old.counts}
        changes = [
            statistics.WaveChange(
                label,
                statistics.proportion(count, result.answered),
                statistics.proportion(old_counts[code], old.answered),
            )
            for code, label, count in result.counts
            if code in old_counts
            and not suppression.is_hidden(count)
            and not suppression.is_hidden(old_counts[code])
            and (count or old_counts[code])  # an answer nobody gave in either wave: no row
        ]
        if changes:
            found.append((result.question, changes))
    return found


def wave_comparison(campaign: Campaign, data: CampaignResults, numbering) -> list:
    from surveys.reports import Paragraph, titled

    earlier = previous_wave(campaign)
    if earlier is None:
        return []
    before = campaign_results(earlier, with_charts=False)
    blocks: list = [
        Paragraph(
            _(
                "This campaign is compared with “%(title)s” (%(start)s – %(end)s, %(n)d "
                "responses) on the questions both share by their code. A change is the "
                "difference of the two percentages, in points, with its 95%% confidence "
                "interval (Newcombe); an interval that contains 0 shows no clear change."
            )
            % {
                "title": earlier.title,
                "start": f"{earlier.opens_on:%d/%m/%Y}",
                "end": f"{earlier.closes_on:%d/%m/%Y}",
                "n": len(before.responses),
            }
        )
    ]
    then, now = str(earlier.opens_on.year), str(campaign.opens_on.year)
    if then == now:
        then, now = _("previous wave"), _("this wave")
    for question, changes in wave_changes(data, before):
        rows = [[c.label, c.before.text, c.now.text, c.text] for c in changes]
        blocks.append(
            numbering.table(
                titled(question.plain_label, campaign, changes[0].now.n),
                [pgettext("table header", "Answer"), then, now, _("Change (95% CI)")],
                rows,
            )
        )
    return blocks
