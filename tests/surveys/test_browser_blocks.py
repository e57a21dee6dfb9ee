"""Playwright: a block repeated for each vendor ticked, filled for two vendors, kept on reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.surveys.factories import CampaignFactory, invite, published_version
from tests.surveys.test_repeated_blocks import blocks_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def blocks_token(centre_a):
    campaign = CampaignFactory(version=published_version(blocks_data()))
    campaign.centres.set([centre_a])
    return invite(campaign, centre_a)[1]


def test_two_vendors_ticked_two_blocks_filled_and_kept_on_reload(
    browser, live_server, blocks_token
):
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(f"{live_server.url}/enquetes/r/{blocks_token}/")
    page.get_by_label("Elekta").check()
    page.get_by_label("Varian").check()
    page.get_by_role("button", name="Page suivante").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("B. Solution")
    elekta, varian = page.locator("#block-v1"), page.locator("#block-v3")
    expect(elekta.locator("legend").first).to_have_text("Elekta")
    expect(varian.locator("legend").first).to_have_text("Varian")
    expect(page.locator(".survey-block")).to_have_count(2)
    elekta.get_by_label("Cloud").check()
    expect(elekta.get_by_text("Hébergeur certifié HDS ?")).to_be_visible()
    expect(varian.get_by_text("Hébergeur certifié HDS ?")).to_be_hidden()
    elekta.get_by_label("Coût annuel").fill("12000")
    varian.get_by_label("Sur site").check()
    varian.get_by_label("Coût annuel").fill("8000")
    varian.get_by_label("Version").fill("4.2")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.get_by_text("Vos réponses sont enregistrées")).to_be_visible()
    page.reload()
    expect(page.locator("#block-v1").get_by_label("Coût annuel")).to_have_value("12000")
    expect(page.locator("#block-v3").get_by_label("Coût annuel")).to_have_value("8000")
    expect(page.locator("#block-v3").get_by_label("Version")).to_have_value("4.2")
    expect(page.locator("#block-v1").get_by_label("Cloud")).to_be_checked()
    context.close()
