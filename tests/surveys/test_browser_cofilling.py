"""Playwright: a physicist and an oncologist co-fill one answer of their centre's response."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from surveys import services
from surveys.models import Answer
from surveys.services import Actor
from tests.browser_helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shared_response(campaign, centre_a, physicist_a, oncologist_a):
    actor = Actor.for_user(physicist_a, centre_a)
    return services.response_open(campaign=campaign, centre=centre_a, actor=actor)


def open_page(browser, live_server, username, url):
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    log_in(page, live_server, username)
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("S1. Première page")
    return context, page


@pytest.mark.parametrize("choice", ["theirs", "mine"])
def test_stale_page_shows_the_conflict_and_the_second_person_chooses(
    browser, live_server, shared_response, choice
):
    url = f"{live_server.url}/enquetes/reponses/{shared_response.pk}/page/S1/"
    physicist_context, physicist = open_page(browser, live_server, "physicist_a", url)
    oncologist_context, oncologist = open_page(browser, live_server, "oncologist_a", url)

    physicist.get_by_label("Oui", exact=True).check()
    physicist.get_by_label("Part des patients").fill("12")
    physicist.get_by_role("button", name="Enregistrer").click()
    expect(physicist.get_by_text("Vos réponses sont enregistrées.")).to_be_visible()

    # The oncologist's page was opened before: it still shows no answer.
    oncologist.get_by_label("Oui", exact=True).check()
    oncologist.get_by_label("Part des patients").fill("11")
    oncologist.get_by_role("button", name="Enregistrer", exact=True).click()
    conflict = oncologist.locator("#conflict-Q2")
    expect(conflict).to_contain_text("Physicist Test a enregistré « 12 % »")
    expect(conflict).to_contain_text("Votre valeur « 11 % » n’est pas enregistrée")
    expect(oncologist.get_by_label("Part des patients")).to_have_value("11")

    if choice == "theirs":
        conflict.get_by_role("button", name="Prendre sa valeur (12 %)").click()
        expected = "12"
    else:
        conflict.get_by_role("button", name="Garder ma valeur (11 %)").click()
        expected = "11"
    expect(oncologist.get_by_text("Vos réponses sont enregistrées.")).to_be_visible()
    expect(oncologist.get_by_label("Part des patients")).to_have_value(expected)
    physicist.reload()
    expect(physicist.get_by_label("Part des patients")).to_have_value(expected)
    # Let every request of both pages finish before the database is flushed.
    for page in (physicist, oncologist):
        page.wait_for_load_state("networkidle")
    physicist_context.close()
    oncologist_context.close()
    assert Answer.objects.get(question__code="Q2").value_number == float(expected)
