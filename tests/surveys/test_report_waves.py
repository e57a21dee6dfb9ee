"""Waves: the demo's 2026 campaign against its 2025 wave, on the same question codes."""

import pytest

from onco_hdf import demo as core_demo
from surveys import demo, statistics
from surveys.models import Campaign, ResponseStatus
from surveys.reports import Table, report_document
from surveys.waves import previous_wave

pytestmark = pytest.mark.django_db


def usage_share(campaign: Campaign, codes=("routine", "evaluation")) -> statistics.Proportion:
    answers = [
        r.snapshot["answers"]["B1_USAGE"]["value"]
        for r in campaign.responses.filter(status=ResponseStatus.SUBMITTED)
    ]
    return statistics.proportion(sum(1 for a in answers if a in codes), len(answers))


def test_demo_seeds_a_2025_wave_and_the_report_compares_with_it(settings):
    core_demo.seed()
    demo.seed()
    demo.seed()  # idempotent: still one earlier wave
    now = Campaign.objects.get(title=demo.CAMPAIGN_TITLE)
    before = Campaign.objects.get(title=demo.PREVIOUS_TITLE)
    assert before.opens_on.year == now.opens_on.year - 1 and not before.is_open()
    assert before.responses.filter(status=ResponseStatus.SUBMITTED).count() == 14
    assert previous_wave(now) == before and previous_wave(before) is None
    assert now.reminders.count() == 1 and now.text_themes

    settings.SURVEY_MIN_CELL = 1  # the raw proportions, to compare with a recount
    context = report_document(now)
    chapter = next(c for c in context["chapters"] if c.anchor == "waves")
    assert chapter.title == "Comparaison avec la vague précédente"
    tables = {t.title.split(" (n = ")[0]: t for t in chapter.blocks if isinstance(t, Table)}
    usage = tables[
        "Votre centre utilise-t-il une solution de contourage automatique par "
        "intelligence artificielle ?"
    ]
    assert usage.header[1:3] == [str(before.opens_on.year), str(now.opens_on.year)]
    routine = next(row for row in usage.rows if row[0] == "Oui, en routine clinique")
    then, today = usage_share(before, ("routine",)), usage_share(now, ("routine",))
    change = statistics.WaveChange("", today, then)
    assert routine == ["Oui, en routine clinique", then.text, today.text, change.text]
    assert "points (IC 95 %" in routine[3]


def test_no_wave_chapter_without_an_earlier_campaign(dataset):
    anchors = [c.anchor for c in report_document(dataset)["chapters"]]
    assert "waves" not in anchors and "crosstabs" in anchors
