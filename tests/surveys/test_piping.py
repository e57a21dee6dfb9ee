"""Piping ({{CODE}} in a label): shown as the answer where there is one, in words elsewhere,
and only from an earlier question."""

import pytest
from django.test import Client
from django.urls import reverse

from surveys import exports, services
from surveys.services import Actor, SurveyError
from tests.conftest import login
from tests.surveys.factories import (
    CampaignFactory,
    invite,
    post,
    published_version,
    questionnaire_data,
)

pytestmark = pytest.mark.django_db


def test_preview_names_the_piped_question_instead_of_an_ellipsis(pm):
    version = services.questionnaire_import(data=questionnaire_data())
    html = login(pm).get(reverse("surveys:version-preview", args=[version.pk])).content.decode()
    assert "Solutions de (réponse à Q1)" in html
    assert "Solutions de …" not in html


def test_review_page_pipes_the_labels_of_missing_questions(centre_a):
    data = questionnaire_data()
    data["sections"][0]["questions"][2]["required"] = True  # Q3 "Solutions de {{Q1}}"
    campaign = CampaignFactory(version=published_version(data))
    invitation, token = invite(campaign, centre_a)
    actor = Actor.for_invitation(invitation)
    response = services.response_open(campaign=campaign, centre=centre_a, actor=actor)
    services.response_save_section(
        response=response, section_code="S1", data=post({"q-Q1": "a", "q-Q2": "5"}), actor=actor
    )
    html = Client().get(reverse("surveys:token-review", args=[token])).content.decode()
    assert "Solutions de Oui" in html
    assert "{{Q1}}" not in html and "{{ Q1 }}" not in html


def test_codebook_and_report_labels_say_what_is_piped(campaign):
    question = campaign.version.questions.get(code="Q3")
    assert question.plain_label == "Solutions de (réponse à Q1)"
    content, _type, _name = exports.export(campaign, "codebook")
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    assert "Solutions de (réponse à Q1)" in text and "[Q1]" not in text


@pytest.mark.parametrize(
    ("label", "code"), [("Avec {{ZZ}}", "ZZ"), ("Avant {{Q4}}", "Q4"), ("Soi {{Q3}}", "Q3")]
)
def test_builder_refuses_piping_an_unknown_or_later_question(label, code):
    version = services.questionnaire_import(data=questionnaire_data())
    question = version.questions.get(code="Q3")
    data = services.QuestionInput(code="Q3", type="multiple", label=label, options=[("x", "X")])
    with pytest.raises(SurveyError, match=f"« {code} »"):
        services.question_save(section=question.section, question=question, data=data)


def test_import_refuses_piping_a_later_question():
    data = questionnaire_data()
    data["sections"][0]["questions"][0]["label"] = "Équipé comme {{Q4}} ?"
    with pytest.raises(SurveyError, match="« Q4 »"):
        services.questionnaire_import(data=data)


def test_moving_a_question_above_the_question_it_pipes_is_refused():
    version = services.questionnaire_import(data=questionnaire_data())
    services.question_move(question=version.questions.get(code="Q3"), direction="up")
    with pytest.raises(SurveyError, match="« Q1 »"):
        services.question_move(question=version.questions.get(code="Q3"), direction="up")
