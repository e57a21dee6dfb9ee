"""Small defects of the Surveys v2 issue."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from surveys import exports, services
from surveys.models import Invitation
from tests.conftest import login

pytestmark = pytest.mark.django_db


def test_export_file_names_keep_letters_without_accents(campaign):
    campaign.title = "Enquête régionale contourage 2026"
    campaign.save()
    _content, _type, filename = exports.export(campaign, "codebook")
    assert filename.startswith("enquete-regionale-contourage-2026-")


def test_results_filters_say_tous_for_sector_and_departement(pm, dataset):
    html = login(pm).get(reverse("surveys:campaign-results", args=[dataset.pk])).content.decode()
    assert html.count('<option value="">Tous</option>') == 2
    assert "Toutes</option>" not in html


def test_one_answer_is_singular(pm, dataset, settings):
    settings.SURVEY_MIN_CELL = 1  # otherwise one answer is masked ("fewer than 3")
    html = login(pm).get(reverse("surveys:campaign-results", args=[dataset.pk])).content.decode()
    assert "n = 1 réponse /" in html  # Q2 is answered by one centre only... or another
    assert "n = 1 réponses" not in html


def test_revoked_link_says_it_was_revoked(invitation):
    inv, token = invitation
    Invitation.objects.filter(pk=inv.pk).update(revoked_at=timezone.now())
    page = Client().get(reverse("surveys:token-start", args=[token]))
    assert page.status_code == 404
    text = page.content.decode()
    assert "Ce lien d’invitation a été révoqué" in text and "chef de projet" in text


def test_min_max_and_pattern_are_kept_only_for_the_types_that_use_them(campaign):
    version = services.questionnaire_import(data=services.version_to_dict(campaign.version))
    section = version.sections.first()
    data = services.QuestionInput(
        code="NEW", type="single", label="Choix", options=[("a", "A")], min_value=1,
        max_value=5, pattern="[a-z]+",
    )  # fmt: skip
    question = services.question_save(section=section, data=data)
    assert (question.min_value, question.max_value, question.pattern) == (None, None, "")
    text = services.QuestionInput(
        code="TXT", type="text", label="Texte", pattern="[a-z]+", min_value=3
    )
    question = services.question_save(section=section, data=text)
    assert question.pattern == "[a-z]+" and question.min_value is None
