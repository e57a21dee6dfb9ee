"""Every answer change is recorded: who (the invitee of a token too), when, old → new."""

import pytest
from django.urls import reverse

from surveys import services
from surveys.models import AnswerChange
from surveys.services import Actor
from tests.conftest import login
from tests.surveys.factories import invite, post

pytestmark = pytest.mark.django_db


def test_token_edits_are_recorded_with_the_invitee_and_old_and_new_values(campaign, centre_a):
    invitation, _token = invite(campaign, centre_a, "marie@example.org", name="Marie Dupont")
    actor = Actor.for_invitation(invitation)
    response = services.response_open(campaign=campaign, centre=centre_a, actor=actor)
    for value in ("10", "12"):
        services.response_save_section(
            response=response,
            section_code="S1",
            data=post({"q-Q1": "a", "q-Q2": value}),
            actor=actor,
        )
    services.response_save_section(
        response=response, section_code="S1", data=post({"q-Q1": "b"}), actor=actor
    )  # Q2 is now hidden: its answer is dropped
    changes = [
        (c.question.code, c.old_display, c.new_display)
        for c in AnswerChange.objects.filter(response=response).order_by("pk")
    ]
    assert changes == [
        ("Q1", "", "Oui"),
        ("Q2", "", "10 %"),
        ("Q2", "10 %", "12 %"),
        ("Q1", "Oui", "Non"),
        ("Q2", "12 %", ""),
    ]
    change = AnswerChange.objects.first()
    assert change.invitation == invitation and change.by is None
    assert change.by_label == "Marie Dupont (marie@example.org), lien d’invitation"


def test_member_edit_is_recorded_with_the_user(campaign, centre_a, oncologist_a):
    actor = Actor.for_user(oncologist_a, centre_a)
    response = services.response_open(campaign=campaign, centre=centre_a, actor=actor)
    services.response_save_section(
        response=response, section_code="S1", data=post({"q-Q4": "Court"}), actor=actor
    )
    change = AnswerChange.objects.get()
    assert change.by == oncologist_a and change.new_value == "Court"


def test_response_page_shows_the_answer_history_in_french(campaign, centre_a, pm):
    invitation, _token = invite(campaign, centre_a, "marie@example.org", name="Marie Dupont")
    actor = Actor.for_invitation(invitation)
    response = services.response_open(campaign=campaign, centre=centre_a, actor=actor)
    services.response_save_section(
        response=response, section_code="S1", data=post({"q-Q1": "a"}), actor=actor
    )
    services.response_save_section(
        response=response, section_code="S1", data=post({"q-Q1": "c"}), actor=actor
    )
    html = login(pm).get(reverse("surveys:response-detail", args=[response.pk])).content.decode()
    assert "Historique des réponses" in html
    assert "Oui → En projet" in html and "Marie Dupont (marie@example.org)" in html
    assert "Ancienne valeur" not in html or "Nouvelle valeur" in html
    assert "{&#x27;" not in html and "{'" not in html  # no raw snapshot dict


def test_snapshot_is_not_kept_as_a_raw_dict_in_the_record_history(campaign, centre_a, actor):
    response = services.response_open(campaign=campaign, centre=centre_a, actor=actor)
    assert "snapshot" not in {f.name for f in response.history.model._meta.fields}


def test_record_history_names_the_invitee_of_a_token_not_system(campaign, centre_a, pm):
    from django.test import Client

    invitation, token = invite(campaign, centre_a, "marie@example.org", name="Marie Dupont")
    visitor = Client()
    assert visitor.get(reverse("surveys:token-start", args=[token])).status_code == 302
    saved = visitor.post(reverse("surveys:token-autosave", args=[token, "S1"]), {"q-Q1": "a"})
    assert saved.status_code == 200 and saved.json()["ok"]
    response = campaign.responses.get()
    records = list(response.history.order_by("history_date", "history_id"))
    assert len(records) >= 2  # created, then saved
    invitee = "Marie Dupont (marie@example.org), lien d’invitation"
    assert {r.history_by_label for r in records} == {invitee}
    html = (
        login(pm)
        .get(reverse("onco_hdf:object-history", args=["surveys", "response", response.pk]))
        .content.decode()
    )
    assert html.count(invitee) == len(records)
    assert "système" not in html


def test_record_history_of_a_member_keeps_the_account_name(campaign, centre_a, oncologist_a, pm):
    oncologist_a.first_name, oncologist_a.last_name = "Paul", "Martin"
    oncologist_a.save()
    member = login(oncologist_a)
    assert member.get(reverse("surveys:response-start", args=[campaign.pk])).status_code == 302
    response = campaign.responses.get()
    saved = member.post(
        reverse("surveys:response-autosave", args=[response.pk, "S1"]), {"q-Q1": "a"}
    )
    assert saved.status_code == 200 and saved.json()["ok"]
    assert {r.history_by_label for r in response.history.all()} == {""}
    html = (
        login(pm)
        .get(reverse("onco_hdf:object-history", args=["surveys", "response", response.pk]))
        .content.decode()
    )
    assert "Paul Martin" in html and "lien d’invitation" not in html
