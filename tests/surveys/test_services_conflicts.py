"""Co-filling one centre's response: a stale page never overwrites a newer answer silently."""

import re

import pytest
from django.urls import reverse

from surveys import selectors, services
from surveys.models import Answer
from surveys.services import Actor
from tests.conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(campaign, centre_a, physicist_a, oncologist_a):
    """One official response of centre A, filled by a physicist and an oncologist."""
    physicist = Actor.for_user(physicist_a, centre_a)
    response = services.response_open(campaign=campaign, centre=centre_a, actor=physicist)
    return response, physicist, Actor.for_user(oncologist_a, centre_a)


def page_tokens(client, url) -> dict:
    html = client.get(url).content.decode()
    return dict(re.findall(r'name="(v-[A-Za-z0-9_]+)" value="([^"]*)"', html))


def stored(code):
    return Answer.objects.get(question__code=code).value_number


def test_stale_page_saving_over_a_newer_value_is_a_conflict(shared, physicist_a, oncologist_a):
    response, _physicist, _oncologist = shared
    url = reverse("surveys:response-section", args=[response.pk, "S1"])
    physicist, oncologist = login(physicist_a), login(oncologist_a)
    base = {"q-Q1": "a"}
    physicist.post(url, {**base, **page_tokens(physicist, url), "q-Q2": "10"})
    stale = page_tokens(oncologist, url)  # both pages now show 10
    physicist.post(url, {**base, **page_tokens(physicist, url), "q-Q2": "12"})
    assert stored("Q2") == 12

    page = oncologist.post(url, {**base, **stale, "q-Q2": "11", "action": "next"})
    assert page.status_code == 200  # stays on the page to let the person choose
    html = page.content.decode()
    assert stored("Q2") == 12  # never overwritten silently
    assert "Physicist Test" in html and "12" in html
    assert 'value="11"' in html  # the oncologist's value is still in the field
    assert "Garder ma valeur" in html and "Prendre sa valeur" in html

    # Keeping mine: the conflict page carries the new base, so saving it wins.
    tokens = dict(re.findall(r'name="(v-[A-Za-z0-9_]+)" value="([^"]*)"', html))
    oncologist.post(url, {**base, **tokens, "q-Q2": "11"})
    assert stored("Q2") == 11


def test_taking_the_other_value_keeps_it_and_saves_the_rest(shared, physicist_a, oncologist_a):
    response, _physicist, _oncologist = shared
    url = reverse("surveys:response-section", args=[response.pk, "S1"])
    physicist, oncologist = login(physicist_a), login(oncologist_a)
    base = {"q-Q1": "a"}
    stale = page_tokens(oncologist, url)
    physicist.post(url, {**base, **page_tokens(physicist, url), "q-Q2": "12"})
    oncologist.post(url, {**base, **stale, "q-Q2": "11", "q-Q4": "Court"})
    tokens = page_tokens(oncologist, url)
    done = oncologist.post(
        url, {**base, **tokens, "q-Q2": "11", "q-Q4": "Court", "keep_theirs": "Q2"}
    )
    assert done.status_code == 302
    assert stored("Q2") == 12
    assert Answer.objects.get(question__code="Q4").value_text == "Court"


def test_untouched_answers_of_a_stale_page_do_not_undo_a_colleague(shared):
    response, physicist, oncologist = shared
    structure = selectors.version_structure(response.campaign.version)
    tokens = selectors.answer_tokens(response, structure)
    services.response_save_section(
        response=response,
        section_code="S1",
        data=_post({"q-Q1": "a", "q-Q2": "12", **_v(tokens)}),
        actor=physicist,
    )
    # The oncologist's page was shown before: Q2 empty; they only type Q4.
    result = services.response_save_section(
        response=response,
        section_code="S1",
        data=_post({"q-Q1": "a", "q-Q4": "Court", **_v(tokens)}),
        actor=oncologist,
    )
    assert result.conflicts == {}
    assert stored("Q2") == 12
    assert Answer.objects.get(question__code="Q4").value_text == "Court"


def test_own_earlier_autosave_is_not_a_conflict(shared):
    response, physicist, _oncologist = shared
    structure = selectors.version_structure(response.campaign.version)
    tokens = selectors.answer_tokens(response, structure)
    for value in ("10", "11"):  # the page still carries the first base (autosave in flight)
        result = services.response_save_section(
            response=response,
            section_code="S1",
            data=_post({"q-Q1": "a", "q-Q2": value, **_v(tokens)}),
            actor=physicist,
        )
        assert result.conflicts == {}
    assert stored("Q2") == 11
    assert Answer.objects.get(question__code="Q2").version == 2


def test_autosave_reports_the_conflict_with_both_values(shared, physicist_a, oncologist_a):
    response, _physicist, _oncologist = shared
    url = reverse("surveys:response-section", args=[response.pk, "S1"])
    autosave = reverse("surveys:response-autosave", args=[response.pk, "S1"])
    physicist, oncologist = login(physicist_a), login(oncologist_a)
    stale = page_tokens(oncologist, url)
    first = physicist.post(autosave, {"q-Q1": "a", **page_tokens(physicist, url), "q-Q2": "12"})
    assert first.json()["tokens"]["v-Q2"].startswith("1.")
    data = oncologist.post(autosave, {"q-Q1": "a", **stale, "q-Q2": "11"}).json()
    conflict = data["conflicts"]["Q2"]
    assert conflict["mine"] == "11 %" and conflict["theirs"] == "12 %"
    assert "Physicist Test" in conflict["message"] and "« 12 % »" in conflict["message"]
    assert "v-Q2" not in data["tokens"]
    assert stored("Q2") == 12


def _v(tokens):
    return {f"v-{code}": token for code, token in tokens.items()}


def _post(data):
    from tests.surveys.factories import post

    return post(data)
