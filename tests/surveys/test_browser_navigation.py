"""Playwright: nothing typed is lost when the respondent changes page or closes the tab."""

from __future__ import annotations

import contextlib
import time

import pytest
from playwright.sync_api import expect

from surveys.models import Answer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def wait_for_answer(code: str, timeout: float = 10.0) -> None:
    """The server received the last save (a beacon is sent after the page is gone)."""
    deadline = time.monotonic() + timeout
    while not Answer.objects.filter(question__code=code).exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"no answer to {code} reached the server")
        time.sleep(0.1)


def test_typed_answer_survives_a_click_on_another_section_tab(browser, live_server, token):
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(f"{live_server.url}/enquetes/r/{token}/")
    page.get_by_label("Nom court").fill("Mon centre")
    page.get_by_role("link", name="S2. Deuxième page").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("S2. Deuxième page")
    page.get_by_role("link", name="S1. Première page").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("S1. Première page")
    expect(page.get_by_label("Nom court")).to_have_value("Mon centre")
    context.close()


def test_typed_answer_survives_closing_the_tab(browser, live_server, token):
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    link = f"{live_server.url}/enquetes/r/{token}/"
    page.goto(link)
    expect(page.get_by_label("Nom court")).to_be_visible()
    page.get_by_label("Nom court").fill("Avant fermeture")
    page.close()  # within the 2 s before the next autosave: only the beacon can save it
    wait_for_answer("Q4")
    again = context.new_page()
    again.goto(link)
    expect(again.get_by_label("Nom court")).to_have_value("Avant fermeture")
    context.close()


def test_leaving_with_unsaved_changes_asks_first(browser, live_server, token):
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(f"{live_server.url}/enquetes/r/{token}/")
    expect(page.get_by_label("Nom court")).to_be_visible()
    page.get_by_label("Nom court").fill("Pas encore enregistré")
    dialogs = []

    def stay(dialog):
        dialogs.append(dialog.type)
        # The context may already be closing at the end of the test.
        with contextlib.suppress(Exception):
            dialog.dismiss()

    page.on("dialog", stay)
    page.close(run_before_unload=True)
    expect(page.locator("#autosave-status")).to_contain_text(
        "Des réponses ne sont pas encore enregistrées."
    )
    assert dialogs == ["beforeunload"]
    context.close()
