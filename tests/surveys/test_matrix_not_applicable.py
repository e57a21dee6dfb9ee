"""Required matrices accept "not applicable" rows (the seeded C1_SITES blocker)."""

import random

import pytest
from django.urls import reverse

from surveys import autocontouring, demo, selectors, services
from surveys.models import ResponseStatus
from surveys.services import Actor, SurveyError
from tests.surveys.factories import CampaignFactory, invite, post

pytestmark = pytest.mark.django_db


def routine_answers() -> dict:
    """Simulated answers of a centre using AI in routine (so C1_SITES is asked)."""
    for seed in range(100):
        data = demo.simulated_answers(random.Random(seed))
        if data["q-B1_USAGE"] == "routine":
            return data
    raise AssertionError("no routine centre in the simulated answers")


@pytest.fixture
def seeded_response(centre_a):
    autocontouring.install()
    campaign = CampaignFactory(version=autocontouring.first_version())  # the demo's waves
    campaign.centres.set([centre_a])
    invitation, _token = invite(campaign, centre_a)
    actor = Actor.for_invitation(invitation)
    response = services.response_open(campaign=campaign, centre=centre_a, actor=actor)
    return response, actor


def fill(response, actor, data):
    structure = selectors.version_structure(response.campaign.version)
    errors = {}
    for section in structure.sections:
        result = services.response_save_section(
            response=response, section_code=section.code, data=post(data), actor=actor
        )
        errors.update(result.errors)
    return errors


def test_prostate_only_centre_can_submit_the_seeded_survey(seeded_response):
    response, actor = seeded_response
    data = {k: v for k, v in routine_answers().items() if not k.startswith("q-C1_SITES-")}
    data["q-C1_SITES-prostate"] = ["oar", "ctv"]
    for site in ("orl", "sein", "poumon", "cerveau", "pelvis_f", "digestif"):
        data[f"q-C1_SITES-{site}"] = ["na"]
    assert fill(response, actor, data) == {}
    services.response_submit(response=response, actor=actor)
    response.refresh_from_db()
    assert response.status == ResponseStatus.SUBMITTED
    c1 = response.snapshot["answers"]["C1_SITES"]
    assert c1["value"]["prostate"] == ["oar", "ctv"]
    assert c1["value"]["orl"] == ["na"]
    assert "ORL : Non utilisé" in c1["display"]


def test_rows_left_blank_still_block_a_required_matrix(seeded_response):
    response, actor = seeded_response
    data = {k: v for k, v in routine_answers().items() if not k.startswith("q-C1_SITES-")}
    data["q-C1_SITES-prostate"] = ["oar"]
    assert fill(response, actor, data) == {}
    problems = services.response_problems(
        response, selectors.version_structure(response.campaign.version)
    )
    assert [p.code for p in problems] == ["C1_SITES"]
    assert "ligne" in problems[0].message
    with pytest.raises(SurveyError):
        services.response_submit(response=response, actor=actor)


def test_not_applicable_cannot_be_combined_with_a_choice(seeded_response):
    response, actor = seeded_response
    data = routine_answers()
    data["q-C1_SITES-orl"] = ["na", "oar"]
    errors = fill(response, actor, data)
    assert "« Non utilisé » ne se combine pas" in errors["C1_SITES"]


def test_not_applicable_column_is_shown_on_the_filling_page(client, seeded_response):
    response, _actor = seeded_response
    token = services.invitation_token(response.invitation)
    services.response_save_section(
        response=response, section_code="B", data=post({"q-B1_USAGE": "routine"}), actor=_actor
    )
    page = client.get(reverse("surveys:token-section", args=[token, "C"]))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="q-C1_SITES-orl"' in html and 'value="na"' in html
    assert "Non utilisé" in html


def test_builder_option_round_trips_through_json():
    data = {
        "format": "onco-hdf-questionnaire",
        "code": "na-test",
        "title": "Test",
        "sections": [
            {
                "code": "S",
                "questions": [
                    {
                        "code": "M",
                        "type": "matrix",
                        "label": "Matrice",
                        "required": True,
                        "rows": [["r1", "R1"], ["r2", "R2"]],
                        "options": [["a", "A"]],
                        "not_applicable_label": "Sans objet",
                    }
                ],
            }
        ],
    }
    version = services.questionnaire_import(data=data)
    question = version.questions.get()
    assert question.not_applicable_label == "Sans objet"
    exported = services.version_to_dict(version)
    assert exported["sections"][0]["questions"][0]["not_applicable_label"] == "Sans objet"
