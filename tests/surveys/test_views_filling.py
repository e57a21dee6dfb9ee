"""Filling in the browser: token link without account, autosave, errors keep typed answers."""

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from surveys import services
from surveys.models import Response, ResponseStatus
from tests.conftest import login
from tests.surveys.factories import FULL_S1, FULL_S2, CampaignFactory, invite

pytestmark = pytest.mark.django_db


def section_url(token, code):
    return reverse("surveys:token-section", args=[token, code])


def test_invitation_link_works_without_an_account(token, campaign):
    client = Client()
    response = client.get(reverse("surveys:token-start", args=[token]))
    assert response.status_code == 302
    assert response["Location"] == section_url(token, "S1")
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Première page" in html and "Relire et envoyer" in html
    assert 'name="q-Q1"' in html
    assert campaign.invitations.get().opened_at is not None


def test_save_then_resume_on_another_device(token):
    first = Client()
    response = first.post(section_url(token, "S1"), {**FULL_S1, "action": "next"})
    assert response.status_code == 302
    assert response["Location"] == section_url(token, "S2")
    other_device = Client()
    start = other_device.get(reverse("surveys:token-start", args=[token]))
    assert start["Location"] == section_url(token, "S1")  # last page saved
    page = other_device.get(section_url(token, "S1")).content.decode()
    assert 'value="Court"' in page and 'value="Maison"' in page
    assert 'value="42"' in page


def test_validation_error_keeps_every_typed_answer(token):
    client = Client()
    data = {**FULL_S1, "q-Q2": "150", "q-Q4": "Nom trop long pour vingt"}
    page = client.post(section_url(token, "S1"), {**data, "action": "next"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Saisissez un nombre entre 0 et 100." in html
    assert "Ce texte est trop long" in html
    assert 'value="150"' in html and 'value="Nom trop long pour vingt"' in html
    assert 'value="Maison"' in html
    assert "Certaines réponses sont à corriger" in html


def test_piping_inserts_the_earlier_answer_escaped(campaign, centre_a):
    invitation, token = invite(campaign, centre_a)
    client = Client()
    client.post(section_url(token, "S1"), {**FULL_S1, "q-Q1": "a", "action": "save"})
    html = client.get(section_url(token, "S1")).content.decode()
    assert "Solutions de Oui" in html
    # An "other" text with markup is shown escaped, never as markup.
    client.post(section_url(token, "S1"), {**FULL_S1, "q-Q3-other": "<b>x</b>", "action": "save"})
    html = client.get(section_url(token, "S1")).content.decode()
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_wrong_and_expired_tokens_get_a_french_page(token, invitation):
    client = Client()
    page = client.get(reverse("surveys:token-start", args=["nimportequoi"]))
    assert page.status_code == 404
    assert "Ce lien d&#x27;invitation n&#x27;est pas valide" in page.content.decode()
    invitation[0].expires_at = timezone.now() - datetime.timedelta(days=1)
    invitation[0].save()
    page = client.get(section_url(token, "S1"))
    assert page.status_code == 404
    assert "a expiré" in page.content.decode()
    posted = client.post(reverse("surveys:token-autosave", args=[token, "S1"]), FULL_S1)
    assert posted.status_code == 404 and "a expiré" in posted.json()["message"]


def test_closed_campaign_keeps_the_typed_answers_and_says_so(token, campaign):
    services.campaign_close(campaign=campaign, user=None)
    page = Client().post(section_url(token, "S1"), {**FULL_S1, "action": "save"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Cette campagne est clôturée" in html
    assert 'value="Court"' in html
    assert not Response.objects.get().answers.exists()


def test_unknown_section_is_404(token):
    assert Client().get(section_url(token, "ZZ")).status_code == 404


def test_autosave_returns_json(token):
    client = Client()
    response = client.post(
        reverse("surveys:token-autosave", args=[token, "S1"]), {**FULL_S1, "q-Q2": "900"}
    )
    data = response.json()
    assert data["ok"] is True
    assert "entre 0 et 100" in data["errors"]["Q2"]
    assert Response.objects.get().answers.filter(question__code="Q4").exists()


def test_submit_locks_and_second_submit_is_friendly(token):
    client = Client()
    client.post(section_url(token, "S1"), {**FULL_S1, "action": "next"})
    client.post(section_url(token, "S2"), {**FULL_S2, "action": "review"})
    review = reverse("surveys:token-review", args=[token])
    page = client.post(review, follow=True)
    assert "Merci : votre réponse a été envoyée." in page.content.decode()
    again = client.post(review, follow=True)
    assert "avait déjà été envoyée" in again.content.decode()
    response = Response.objects.get()
    assert response.status == ResponseStatus.SUBMITTED
    assert response.transitions.filter(to_status=ResponseStatus.SUBMITTED).count() == 1
    page = client.get(section_url(token, "S1")).content.decode()
    assert "affichée en lecture seule" in page and "<fieldset" in page and "disabled" in page
    # A tampered post after submission changes nothing.
    client.post(section_url(token, "S1"), {**FULL_S1, "q-Q2": "1", "action": "save"})
    assert response.answers.get(question__code="Q2").value_number == 42.0


def test_review_lists_missing_required_questions(token):
    client = Client()
    client.post(section_url(token, "S1"), {"q-Q1": "a", "action": "save"})
    page = client.get(reverse("surveys:token-review", args=[token])).content.decode()
    assert "question obligatoire" in page and "Q2" in page
    failed = client.post(reverse("surveys:token-review", args=[token]), follow=True)
    assert "sans réponse" in failed.content.decode()
    assert Response.objects.get().status == ResponseStatus.IN_PROGRESS


def test_member_fills_for_their_centre_and_other_centre_gets_404(
    campaign, oncologist_a, oncologist_b
):
    client = login(oncologist_a)
    start = client.get(reverse("surveys:response-start", args=[campaign.pk]))
    response = Response.objects.get()
    assert start["Location"] == reverse("surveys:response-section", args=[response.pk, "S1"])
    saved = client.post(start["Location"], {**FULL_S1, "action": "save"})
    assert saved.status_code == 302
    assert response.answers.count() == 4
    other = login(oncologist_b)
    assert other.get(start["Location"]).status_code == 404
    assert (
        other.post(
            reverse("surveys:response-autosave", args=[response.pk, "S1"]), FULL_S1
        ).status_code
        == 404
    )


def test_pm_reads_but_does_not_fill(campaign, centre_a, oncologist_a, pm):
    services.response_open(
        campaign=campaign, centre=centre_a, actor=services.Actor.for_user(oncologist_a, centre_a)
    )
    response = Response.objects.get()
    page = login(pm).post(
        reverse("surveys:response-section", args=[response.pk, "S1"]), {**FULL_S1, "action": "save"}
    )
    assert "seuls les membres du centre la remplissent" in page.content.decode()
    assert not response.answers.exists()


def big_questionnaire(count: int) -> dict:
    questions = []
    kinds = ["single", "multiple", "number", "text", "matrix", "ranking", "likert", "date"]
    for i in range(count):
        kind = kinds[i % len(kinds)]
        q = {
            "code": f"Q{i}",
            "type": kind,
            "label": f"Question {i} {{{{Q0}}}}" if i else "Question 0",
            "show_if": {"q": "Q0", "op": "answered"} if i else None,
        }
        if kind in ("single", "multiple", "matrix", "ranking", "likert"):
            q["options"] = [["a", "A"], ["b", "B"], ["c", "C"]]
        if kind == "matrix":
            q["rows"] = [["r1", "R1"], ["r2", "R2"]]
        questions.append({k: v for k, v in q.items() if v is not None})
    return {
        "format": "onco-hdf-questionnaire",
        "code": f"big{count}",
        "title": "Gros",
        "sections": [{"code": "P", "title": "Page", "questions": questions}],
    }


def page_queries(centre, count: int) -> int:
    version = services.questionnaire_import(data=big_questionnaire(count))
    services.version_publish(version=version, user=None)
    campaign = CampaignFactory(version=version)
    _invitation, token = invite(campaign, centre, f"x{count}@example.org")
    client = Client()
    client.post(section_url(token, "P"), {"q-Q0": "a", "q-Q3": "texte", "action": "save"})
    client.get(section_url(token, "P"))  # warm-up (sessions, caches)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(section_url(token, "P")).status_code == 200
    return len(queries)


def test_page_query_count_does_not_grow_with_questions(centre_a):
    assert page_queries(centre_a, 8) == page_queries(centre_a, 40)


def test_page_with_every_question_hidden_says_so(campaign, centre_a):
    version = services.questionnaire_import(
        data={
            "format": "onco-hdf-questionnaire",
            "code": "cache",
            "title": "Caché",
            "sections": [
                {
                    "code": "A",
                    "title": "A",
                    "questions": [{"code": "U", "type": "yes_no", "label": "Équipé ?"}],
                },
                {
                    "code": "B",
                    "title": "B",
                    "questions": [
                        {
                            "code": "V",
                            "type": "text",
                            "label": "Lequel ?",
                            "show_if": {"q": "U", "op": "equals", "value": "yes"},
                        }
                    ],
                },
            ],
        }
    )
    services.version_publish(version=version, user=None)
    other = CampaignFactory(version=version)
    _invitation, token = invite(other, centre_a)
    client = Client()
    client.post(section_url(token, "A"), {"q-U": "no", "action": "next"})
    html = client.get(section_url(token, "B")).content.decode()
    survey_none = html[html.index('id="survey-none"') :][:40]
    assert "hidden" not in survey_none
    assert "aucune question de cette page ne vous concerne" in html
    client.post(section_url(token, "A"), {"q-U": "yes", "action": "next"})
    html = client.get(section_url(token, "B")).content.decode()
    assert "hidden" in html[html.index('id="survey-none"') :][:40]


def test_english_label_when_the_page_is_in_english(campaign, token):
    question = campaign.version.questions.get(code="Q4")
    question.label_en = "Short name"
    question.save()
    client = Client()
    french = client.get(section_url(token, "S1")).content.decode()
    english = client.get(section_url(token, "S1"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Nom court" in french and "Short name" not in french
    assert "Short name" in english
