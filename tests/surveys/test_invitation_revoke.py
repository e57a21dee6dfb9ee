"""Revoking an invitation from the campaign page, and issuing a new link for the centre."""

import pytest
from django.test import Client
from django.urls import reverse

from surveys import services
from surveys.models import Invitation
from surveys.services import SurveyError
from tests.conftest import PERSONAS
from tests.surveys.factories import FULL_S1

pytestmark = pytest.mark.django_db

INVALID = "Vérifiez que vous avez copié le lien"
REVOKED = "Ce lien d’invitation a été révoqué"


def _start(token):
    return Client().get(reverse("surveys:token-start", args=[token]))


def test_revoke_sets_revoked_at_and_keeps_history(invitation, pm):
    inv, _token = invitation
    revoked = services.invitation_revoke(invitation=inv, user=pm)
    assert revoked.revoked_at is not None
    last = inv.history.order_by("-history_id").first()
    assert last.revoked_at is not None
    assert last.history_user == pm
    assert inv.history.count() == 2  # created, then revoked


def test_revoke_twice_is_refused_in_french(invitation, pm):
    inv, _token = invitation
    services.invitation_revoke(invitation=inv, user=pm)
    with pytest.raises(SurveyError, match="déjà été révoquée"):
        services.invitation_revoke(invitation=inv, user=pm)


def test_revoked_token_gets_the_invalid_link_page(invitation, pm):
    inv, token = invitation
    assert _start(token).status_code == 302
    services.invitation_revoke(invitation=inv, user=pm)
    for url in (
        reverse("surveys:token-start", args=[token]),
        reverse("surveys:token-section", args=[token, "S1"]),
        reverse("surveys:token-review", args=[token]),
    ):
        page = Client().get(url)
        assert page.status_code == 404
        assert REVOKED in page.content.decode()  # says why, not just "not valid"
    unknown = _start("inconnu").content.decode()
    assert INVALID in unknown
    save = Client().post(reverse("surveys:token-autosave", args=[token, "S1"]), {"q-Q2": "3"})
    assert save.status_code == 404
    assert REVOKED in save.json()["message"]


def test_reissue_gives_a_new_working_link_and_keeps_the_answers(invitation, pm, mailoutbox):
    inv, token = invitation
    client = Client()
    saved = client.post(
        reverse("surveys:token-section", args=[token, "S1"]), {**FULL_S1, "action": "next"}
    )
    assert saved.status_code == 302
    services.invitation_revoke(invitation=inv, user=pm)
    new = services.invitation_reissue(invitation=inv, user=pm, send=False)
    assert new.pk != inv.pk and new.revoked_at is None
    assert (new.centre, new.email) == (inv.centre, inv.email)
    new_token = services.invitation_token(new)
    assert new_token != token
    assert REVOKED in _start(token).content.decode()
    page = Client().get(reverse("surveys:token-section", args=[new_token, "S1"]))
    assert page.status_code == 200
    assert 'value="42"' in page.content.decode()  # the centre's response is the same one


def test_reissue_only_for_a_revoked_invitation(invitation, pm):
    inv, _token = invitation
    with pytest.raises(SurveyError, match="révoquée"):
        services.invitation_reissue(invitation=inv, user=pm)
    assert Invitation.objects.count() == 1


def test_reissue_refused_when_the_campaign_is_closed(invitation, pm, campaign):
    inv, _token = invitation
    services.invitation_revoke(invitation=inv, user=pm)
    services.campaign_close(campaign=campaign, user=pm)
    with pytest.raises(SurveyError, match="clôturée"):
        services.invitation_reissue(invitation=inv, user=pm)


def test_pm_revokes_and_reissues_from_the_campaign_page(
    invitation, campaign, as_persona, mailoutbox, django_capture_on_commit_callbacks
):
    inv, token = invitation
    client = as_persona("pm")
    page = client.get(reverse("surveys:campaign-detail", args=[campaign.pk])).content.decode()
    assert reverse("surveys:invitation-revoke", args=[inv.pk]) in page
    assert "Révoquer l’invitation de repondant@example.org ?" in page
    done = client.post(reverse("surveys:invitation-revoke", args=[inv.pk]), follow=True)
    html = done.content.decode()
    assert "est révoquée" in html and "Révoquée le" in html
    assert reverse("surveys:invitation-reissue", args=[inv.pk]) in html
    inv.refresh_from_db()
    assert inv.revoked_at is not None
    again = client.post(reverse("surveys:invitation-revoke", args=[inv.pk]), follow=True)
    assert "déjà été révoquée" in again.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        reissued = client.post(reverse("surveys:invitation-reissue", args=[inv.pk]), follow=True)
    assert "Un nouveau lien d’invitation a été envoyé" in reissued.content.decode()
    new = Invitation.objects.get(revoked_at__isnull=True)
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [inv.email]
    assert services.invitation_url(new) in mailoutbox[0].body


@pytest.mark.parametrize("name", ["surveys:invitation-revoke", "surveys:invitation-reissue"])
def test_only_the_project_manager_may_revoke_or_reissue(invitation, as_persona, name):
    inv, _token = invitation
    url = reverse(name, args=[inv.pk])
    expected = {
        "anonymous": 302,
        "pm": 302,
        "copil": 403,
        "referent_a": 403,
        "oncologist_a": 403,
        "oncologist_b": 403,
    }
    for persona in sorted(PERSONAS, key=lambda p: p == "pm"):
        response = as_persona(persona).post(url)
        assert response.status_code == expected[persona], persona
        if persona == "anonymous":
            assert "/compte/connexion/" in response["Location"]
        elif persona != "pm":
            inv.refresh_from_db()
            assert inv.revoked_at is None and Invitation.objects.count() == 1
    assert as_persona("pm").get(url).status_code == 405


def test_unknown_invitation_is_404_for_the_pm(as_persona):
    assert (
        as_persona("pm").post(reverse("surveys:invitation-revoke", args=[999999])).status_code
        == 404
    )
