"""Section tabs save the page before opening another section; the beacon endpoint."""

import pytest
from django.test import Client
from django.urls import reverse

from surveys.models import Answer

pytestmark = pytest.mark.django_db


def section_url(token, code):
    return reverse("surveys:token-section", args=[token, code])


def test_tab_click_saves_then_opens_the_chosen_section(token):
    client = Client()
    response = client.post(section_url(token, "S2"), {"q-L1": "3", "goto": "S1"})
    assert response.status_code == 302
    assert response["Location"] == section_url(token, "S1")
    assert Answer.objects.get(question__code="L1").value_text == "3"


def test_tab_to_review_saves_first(token):
    response = Client().post(section_url(token, "S1"), {"q-Q4": "Court", "goto": "review"})
    assert response["Location"] == reverse("surveys:token-review", args=[token])
    assert Answer.objects.get(question__code="Q4").value_text == "Court"


def test_tab_click_with_an_invalid_answer_stays_on_the_page_with_everything_typed(token):
    page = Client().post(
        section_url(token, "S1"), {"q-Q1": "a", "q-Q2": "150", "q-Q4": "Court", "goto": "S2"}
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "Saisissez un nombre entre 0 et 100." in html and 'value="150"' in html


def test_unknown_goto_falls_back_to_the_current_page(token):
    response = Client().post(section_url(token, "S1"), {"q-Q4": "Court", "goto": "ZZ"})
    assert response["Location"] == section_url(token, "S1")


def test_beacon_save_needs_the_csrf_token(token):
    client = Client(enforce_csrf_checks=True)
    page = client.get(section_url(token, "S1"))
    url = reverse("surveys:token-autosave", args=[token, "S1"])
    assert client.post(url, {"q-Q4": "Sans jeton"}).status_code == 403
    csrf = page.context["csrf_token"]
    assert client.post(url, {"q-Q4": "Avec jeton", "csrfmiddlewaretoken": str(csrf)}).json()["ok"]
    assert Answer.objects.get(question__code="Q4").value_text == "Avec jeton"


def test_section_page_wires_tabs_and_the_beacon(token):
    html = Client().get(section_url(token, "S1")).content.decode()
    assert 'data-goto="S2"' in html and 'data-goto="review"' in html
    assert 'name="goto"' in html
    assert "surveys/filling.js" in html
