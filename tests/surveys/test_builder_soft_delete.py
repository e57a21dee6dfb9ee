"""Deleting a section or a question of a draft is undone with one click; publishing and
closing say what they do before doing it."""

import pytest
from django.urls import reverse

from surveys import selectors, services
from surveys.models import Question, Section
from surveys.selectors import version_structure
from surveys.services import SurveyError
from tests.conftest import login
from tests.surveys.factories import CampaignFactory, questionnaire_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft():
    return services.questionnaire_import(data=questionnaire_data())


def codes(version):
    return [q.code for q in version_structure(version).questions]


def test_deleted_section_goes_to_the_bin_with_its_questions_and_comes_back(draft):
    section = draft.sections.get(code="S2")
    services.section_delete(section=section)
    assert codes(draft) == ["Q1", "Q2", "Q3", "Q4"]
    assert Question.objects.filter(section=section).count() == 10  # nothing destroyed
    bin_ = selectors.version_bin(draft)
    assert [s.code for s in bin_.sections] == ["S2"]
    services.section_restore(section=section)
    assert codes(draft)[-1] == "T1" and len(codes(draft)) == 14
    assert selectors.version_bin(draft).sections == []


def test_deleted_question_comes_back_in_its_place(draft):
    question = draft.questions.get(code="Q3")
    services.question_delete(question=question)
    assert codes(draft)[:3] == ["Q1", "Q2", "Q4"]
    assert [q.code for q in selectors.version_bin(draft).questions] == ["Q3"]
    services.question_restore(question=question)
    assert codes(draft)[:4] == ["Q1", "Q2", "Q3", "Q4"]


def test_a_question_others_depend_on_cannot_be_deleted(draft):
    with pytest.raises(SurveyError, match="Q2"):
        services.question_delete(question=draft.questions.get(code="Q1"))
    assert "Q1" in codes(draft)


def test_a_section_whose_questions_others_depend_on_cannot_be_deleted(draft):
    with pytest.raises(SurveyError, match="Q1"):
        services.section_delete(section=draft.sections.get(code="S1"))
    assert "Q1" in codes(draft)


def test_new_question_reusing_a_deleted_code_gets_a_clear_message(draft):
    services.question_delete(question=draft.questions.get(code="Q4"))
    data = services.QuestionInput(code="Q4", type="text", label="Nouveau")
    with pytest.raises(SurveyError, match="corbeille"):
        services.question_save(section=draft.sections.get(code="S1"), data=data)


def test_publishing_empties_the_bin_for_good(draft):
    services.question_delete(question=draft.questions.get(code="Q4"))
    services.section_delete(section=draft.sections.get(code="S2"))
    services.version_publish(version=draft, user=None)
    assert not Section.objects.filter(version=draft, code="S2").exists()
    assert not Question.objects.filter(version=draft, code__in=["Q4", "T1"]).exists()
    assert services.version_to_dict(draft)["sections"][0]["questions"][-1]["code"] == "Q3"


def test_builder_page_confirms_with_what_will_be_lost(pm, draft):
    client = login(pm)
    html = client.get(reverse("surveys:version-detail", args=[draft.pk])).content.decode()
    assert "Supprimer la section S2 et ses 10 questions ?" in html
    assert "Supprimer la question Q3 ?" in html
    assert "Publier la version 1 ? Ses 2 sections et 14 questions seront figées" in html
    assert "surveys/confirm.js" in html


def test_bin_is_listed_with_restore_buttons(pm, draft):
    client = login(pm)
    section = draft.sections.get(code="S2")
    response = client.post(reverse("surveys:section-delete", args=[section.pk]), follow=True)
    html = response.content.decode()
    assert "La section S2 et ses 10 questions sont dans la corbeille" in html
    assert "Corbeille" in html and reverse("surveys:section-restore", args=[section.pk]) in html
    client.post(reverse("surveys:section-restore", args=[section.pk]))
    assert "S2" in [s.code for s in version_structure(draft).sections]


def test_close_confirmation_counts_the_open_campaigns(pm):
    campaign = CampaignFactory()
    html = login(pm).get(reverse("surveys:version-detail", args=[campaign.version.pk]))
    text = html.content.decode()
    assert "Clore la version 1 ?" in text and "1 campagne" in text
