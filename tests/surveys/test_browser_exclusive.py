"""Playwright: "Aucune" unticks the other choices and another choice unticks it, with the
keyboard, announced in the page's live region; the server keeps what the page shows."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from surveys.models import Response
from tests.surveys.factories import CampaignFactory, invite, published_version
from tests.surveys.test_exclusive_options import with_none

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_none_of_these_unticks_the_others_and_is_announced(browser, live_server, centre_a):
    campaign = CampaignFactory(version=published_version(with_none()))
    campaign.centres.set([centre_a])
    _invitation, token = invite(campaign, centre_a)
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(f"{live_server.url}/enquetes/r/{token}/")
    xa, ya, none = (page.get_by_label(name, exact=True) for name in ("Xa", "Ya", "Aucune"))
    status = page.locator("#question-Q3 [data-exclusive-status]")
    xa.check()
    ya.check()
    none.focus()
    page.keyboard.press("Space")  # the keyboard works as a click
    expect(none).to_be_checked()
    expect(xa).not_to_be_checked()
    expect(ya).not_to_be_checked()
    expect(status).to_have_text("« Aucune » cochée : les autres choix sont décochés.")
    expect(status).to_have_attribute("aria-live", "polite")
    xa.focus()
    page.keyboard.press("Space")
    expect(xa).to_be_checked()
    expect(none).not_to_be_checked()
    expect(status).to_have_text("« Aucune » décochée.")
    none.check()
    page.get_by_label("Oui", exact=True).check()
    page.get_by_label("Part des patients").fill("40")
    page.get_by_role("button", name="Page suivante").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("S2. Deuxième page")
    context.close()
    answer = Response.objects.get().answers.get(question__code="Q3")
    assert answer.value_json == ["none"]
