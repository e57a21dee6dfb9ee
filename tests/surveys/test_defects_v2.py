"""Defects of the Surveys v2 issue: invitations, unit of response, what respondents see,
"Please specify" without "Other"."""

import pytest
from django.core import mail
from django.urls import reverse

from onco_hdf.models import Role
from surveys import services
from surveys.models import Answer, Invitation
from surveys.services import Actor, SurveyError
from tests.conftest import login, make_user
from tests.surveys.factories import invite, post

pytestmark = pytest.mark.django_db


def test_invitation_form_ticks_no_centre_so_other_addresses_work(pm, campaign):
    html = login(pm).get(reverse("surveys:campaign-invite", args=[campaign.pk])).content
    assert (
        b'name="centres"' in html
        and b"checked" not in html.split(b'name="roles"')[0].split(b'name="centres"', 1)[1]
    )


def test_invitation_count_says_what_was_created(
    pm, campaign, centre_a, django_capture_on_commit_callbacks
):
    make_user("ref_a", Role.REFERENT, centre_a)
    client = login(pm)
    url = reverse("surveys:campaign-invite", args=[campaign.pk])
    data = {"centres": [centre_a.pk], "roles": [Role.REFERENT], "days": "30"}
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url, data, follow=True).content.decode()
    assert "1 invitation envoyée." in first
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(url, data, follow=True).content.decode()
    assert "Aucune nouvelle invitation : 1 personne était déjà invitée." in again
    assert "invitation(s) envoyée(s)" not in again
    assert Invitation.objects.count() == 1 and len(mail.outbox) == 1


def test_unit_of_response_cannot_change_once_responses_exist(campaign, centre_a, actor, pm):
    services.response_open(campaign=campaign, centre=centre_a, actor=actor)
    campaign.unit = "person"
    with pytest.raises(SurveyError, match="réponses existent"):
        services.campaign_save(campaign=campaign, centres=[centre_a], user=pm)
    campaign.refresh_from_db()
    assert campaign.unit == "centre"
    html = login(pm).get(reverse("surveys:campaign-update", args=[campaign.pk])).content.decode()
    assert 'name="unit"' in html and "disabled" in html.split('name="unit"')[1].split(">")[0]


def test_token_respondent_sees_the_introduction_and_data_protection(token, campaign):
    version = campaign.version
    version.introduction = "Cette enquête fait le point. Durée : 15 minutes environ."
    version.save()
    page = login_free_get(reverse("surveys:token-section", args=[token, "S1"]))
    assert "Cette enquête fait le point. Durée : 15 minutes environ." in page
    assert "Protection des données" in page
    second = login_free_get(reverse("surveys:token-section", args=[token, "S2"]))
    assert "Protection des données" not in second


def test_respondents_do_not_see_variable_codes(token):
    page = login_free_get(reverse("surveys:token-section", args=[token, "S1"]))
    assert ">Q1<" not in page and "Q3</span>" not in page
    review = login_free_get(reverse("surveys:token-review", args=[token]))
    assert "Q1 —" not in review


def login_free_get(url):
    from django.test import Client

    return Client().get(url).content.decode()


@pytest.fixture
def response(campaign, centre_a, actor):
    return services.response_open(campaign=campaign, centre=centre_a, actor=actor)


def test_please_specify_typed_without_ticking_other_ticks_it(response, actor):
    result = services.response_save_section(
        response=response,
        section_code="S1",
        data=post({"q-Q3": ["x"], "q-Q3-other": "Solution maison"}),
        actor=actor,
    )
    assert not result.errors
    answer = Answer.objects.get(question__code="Q3")
    assert answer.value_json == ["x", "other"] and answer.other_text == "Solution maison"


def test_please_specify_with_another_single_choice_asks(campaign, centre_a):
    from tests.surveys.factories import CampaignFactory, published_version, questionnaire_data

    data = questionnaire_data()
    data["sections"][0]["questions"][0]["allow_other"] = True  # Q1, single choice
    other_campaign = CampaignFactory(version=published_version(data))
    invitation, _token = invite(other_campaign, centre_a)
    actor = Actor.for_invitation(invitation)
    response = services.response_open(campaign=other_campaign, centre=centre_a, actor=actor)
    result = services.response_save_section(
        response=response,
        section_code="S1",
        data=post({"q-Q1": "a", "q-Q1-other": "Précision"}),
        actor=actor,
    )
    assert "cochez « Autre » ou effacez" in result.errors["Q1"]
    alone = services.response_save_section(
        response=response, section_code="S1", data=post({"q-Q1-other": "Précision"}), actor=actor
    )
    assert not alone.errors
    assert Answer.objects.get(question__code="Q1").value_text == "other"


def test_submission_sends_a_receipt_to_the_respondent(
    campaign, centre_a, django_capture_on_commit_callbacks
):
    from tests.surveys.factories import FULL_S1, FULL_S2

    invitation, _token = invite(campaign, centre_a, "marie@example.org")
    actor = Actor.for_invitation(invitation)
    response = services.response_open(campaign=campaign, centre=centre_a, actor=actor)
    for section, data in (("S1", FULL_S1), ("S2", FULL_S2)):
        services.response_save_section(
            response=response, section_code=section, data=post(data), actor=actor
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.response_submit(response=response, actor=actor)
    assert len(mail.outbox) == 1
    receipt = mail.outbox[0]
    assert receipt.to == ["marie@example.org"]
    assert "est bien reçue" in receipt.subject
    assert "a été envoyée le" in receipt.body and "Réponses enregistrées : 14." in receipt.body
