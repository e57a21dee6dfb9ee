"""Playwright: a calculated field follows its inputs as they are typed and ticked, shown
read-only and announced; the server stores the same value."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from surveys.models import Response
from tests.surveys.factories import CampaignFactory, invite, published_version
from tests.surveys.test_calculated import with_calculations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_score_updates_live_and_is_stored(browser, live_server, centre_a):
    campaign = CampaignFactory(version=published_version(with_calculations()))
    campaign.centres.set([centre_a])
    _invitation, token = invite(campaign, centre_a)
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(f"{live_server.url}/enquetes/r/{token}/")
    score = page.locator("#question-C1 output")
    expect(score).to_have_attribute("aria-live", "polite")
    expect(score).to_have_text("")  # no input yet: empty
    page.get_by_label("Oui", exact=True).check()
    page.get_by_label("Xa").check()
    expect(score).to_have_text("")  # the share is still missing: empty, not 1
    share = page.get_by_label("Part des patients")
    share.fill("42")
    expect(score).to_have_text("85")
    share.fill("12,5")
    expect(score).to_have_text("26")
    page.get_by_label("Ya").check()
    expect(score).to_have_text("27")
    share.fill("")
    expect(score).to_have_text("")
    share.fill("40")
    expect(score).to_have_text("82")
    page.get_by_role("button", name="Page suivante").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("S2. Deuxième page")
    expect(page.locator("#question-C2 output")).to_have_text("-50")  # 100 / (40 − 42)
    context.close()
    stored = {a.question.code: a.value_number for a in Response.objects.get().answers.all()}
    assert stored["C1"] == 82 and stored["C2"] == -50
