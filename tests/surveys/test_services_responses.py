"""Validation, autosave, hidden answers, submission, reopening, section roles."""

import datetime

import pytest
from django.utils import timezone

from onco_hdf.models import Role
from surveys import services
from surveys.models import Answer, ResponseStatus, ResponseTransition
from surveys.selectors import response_values, version_structure
from surveys.services import Actor, AlreadySubmitted, SurveyError
from tests.conftest import make_user
from tests.surveys.factories import FULL_S1, FULL_S2, invite, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def response(campaign, centre_a, actor):
    return services.response_open(campaign=campaign, centre=centre_a, actor=actor)


def save(response, section, data, actor):
    return services.response_save_section(
        response=response, section_code=section, data=post(data), actor=actor
    )


def values_of(response):
    return response_values(response, version_structure(response.campaign.version))


def test_typed_rows_for_every_type(response, actor):
    assert not save(response, "S1", FULL_S1, actor).errors
    assert not save(response, "S2", FULL_S2, actor).errors
    values, others = values_of(response)
    assert values["Q1"] == "a"
    assert values["Q2"] == 42.0
    assert values["Q3"] == ["x", "other"] and others["Q3"] == "Maison"
    assert values["M1"] == {"r1": "c3", "r2": "c4"}
    assert values["MM"] == {"orl": ["oar", "ctv"], "sein": ["oar"]}
    assert values["R1"] == ["t", "p"]
    assert values["D1"] == datetime.date(2024, 3, 15)
    assert values["MO1"] == "2023-05"
    assert values["I1"] == 3.0 and values["RT"] == 8.0
    row = Answer.objects.get(response=response, question__code="Q2")
    assert row.value_number == 42.0 and row.value_text == ""
    assert Answer.objects.get(response=response, question__code="MO1").value_date == datetime.date(
        2023, 5, 1
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("q-Q2", "150", "entre 0 et 100"),
        ("q-Q2", "abc", "Saisissez un nombre"),
        ("q-Q1", "zzz", "n'existe pas"),
        ("q-Q4", "x" * 21, "trop long : 21 caractères pour 20"),
        ("q-Q3", ["x", "hacked"], "n'existe pas"),
    ],
)
def test_invalid_answers_are_reported_and_the_valid_ones_kept(
    response, actor, field, value, message
):
    data = dict(FULL_S1)
    data[field] = value
    result = save(response, "S1", data, actor)
    code = field.split("-")[1]
    assert message in result.errors[code]
    assert result.parsed[code].raw  # what was typed comes back to the page
    values, _others = values_of(response)
    assert code not in values
    assert values["Q4" if code != "Q4" else "Q1"]


def test_other_needs_its_text(response, actor):
    result = save(response, "S1", {**FULL_S1, "q-Q3-other": ""}, actor)
    assert "Précisez la réponse « autre »" in result.errors["Q3"]


def test_ranking_and_matrix_tampering(response, actor):
    result = save(response, "S2", {**FULL_S2, "q-R1-1": "p", "q-R1-2": "p"}, actor)
    assert "classé qu'une fois" in result.errors["R1"]
    result = save(response, "S2", {**FULL_S2, "q-M1-r9": "c1"}, actor)
    assert "n'existe pas" in result.errors["M1"]
    result = save(response, "S2", {**FULL_S2, "q-RT": "11"}, actor)
    assert "entre 0 et 10" in result.errors["RT"]


def test_answers_to_hidden_questions_are_dropped(response, actor):
    save(response, "S1", FULL_S1, actor)
    save(response, "S2", FULL_S2, actor)
    # Answering "b" hides Q2 (same page) and RT (next page): both answers go.
    result = save(response, "S1", {**FULL_S1, "q-Q1": "b"}, actor)
    assert set(result.dropped) >= {"Q2", "RT"}
    values, _others = values_of(response)
    assert "Q2" not in values and "RT" not in values
    # A posted answer to a hidden question is ignored, not stored.
    save(response, "S1", {**FULL_S1, "q-Q1": "b", "q-Q2": "10"}, actor)
    assert "Q2" not in values_of(response)[0]


def test_hidden_required_question_is_not_required(response, actor):
    save(response, "S1", {"q-Q1": "b"}, actor)
    assert services.response_problems(response, version_structure(response.campaign.version)) == []
    services.response_submit(response=response, actor=actor)
    response.refresh_from_db()
    assert response.status == ResponseStatus.SUBMITTED


def test_submit_needs_the_visible_required_answers(response, actor):
    save(response, "S1", {"q-Q1": "a"}, actor)
    with pytest.raises(SurveyError, match="1 question"):
        services.response_submit(response=response, actor=actor)
    response.refresh_from_db()
    assert response.status == ResponseStatus.IN_PROGRESS


def test_submit_freezes_a_snapshot_then_locks(response, actor):
    save(response, "S1", FULL_S1, actor)
    save(response, "S2", FULL_S2, actor)
    services.response_submit(response=response, actor=actor)
    response.refresh_from_db()
    assert response.status == ResponseStatus.SUBMITTED
    assert response.snapshot["answers"]["Q2"] == {"value": 42.0, "other": "", "display": "42 %"}
    assert response.snapshot["answers"]["D1"]["value"] == "2024-03-15"
    with pytest.raises(AlreadySubmitted, match="déjà été envoyée"):
        services.response_submit(response=response, actor=actor)
    with pytest.raises(SurveyError, match="a été envoyée"):
        save(response, "S1", {**FULL_S1, "q-Q2": "1"}, actor)
    assert values_of(response)[0]["Q2"] == 42.0
    assert response.transitions.filter(to_status=ResponseStatus.SUBMITTED).count() == 1


def test_reopen_is_recorded_and_allows_changes(response, actor, pm):
    save(response, "S1", {"q-Q1": "b"}, actor)
    services.response_submit(response=response, actor=actor)
    services.response_reopen(response=response, user=pm, comment="Erreur de saisie")
    response.refresh_from_db()
    assert response.status == ResponseStatus.REOPENED
    transition = ResponseTransition.objects.filter(response=response).last()
    assert (transition.from_status, transition.to_status, transition.actor, transition.comment) == (
        ResponseStatus.SUBMITTED,
        ResponseStatus.REOPENED,
        pm,
        "Erreur de saisie",
    )
    save(response, "S1", {"q-Q1": "c"}, actor)
    with pytest.raises(SurveyError, match="Seule une réponse envoyée"):
        services.response_reopen(response=response, user=pm)
    services.response_submit(response=response, actor=actor)
    assert response.history.count() >= 3


def test_closed_campaign_refuses_changes(response, actor, campaign):
    services.campaign_close(campaign=campaign, user=None)
    response.campaign.refresh_from_db()
    with pytest.raises(SurveyError, match="clôturée"):
        save(response, "S1", FULL_S1, actor)


def test_one_response_per_centre_whoever_opens_it(campaign, centre_a, oncologist_a):
    first, _token = invite(campaign, centre_a, "a@example.org")
    second, _token = invite(campaign, centre_a, "b@example.org")
    r1 = services.response_open(
        campaign=campaign, centre=centre_a, actor=Actor.for_invitation(first)
    )
    r2 = services.response_open(
        campaign=campaign, centre=centre_a, actor=Actor.for_invitation(second)
    )
    r3 = services.response_open(
        campaign=campaign, centre=centre_a, actor=Actor.for_user(oncologist_a, centre_a)
    )
    assert r1.pk == r2.pk == r3.pk


def test_section_assigned_to_a_role(campaign, centre_a, oncologist_a, physicist_a, referent_a):
    campaign.section_roles = {"S2": Role.PHYSICIST}
    campaign.save()
    response = services.response_open(
        campaign=campaign, centre=centre_a, actor=Actor.for_user(oncologist_a, centre_a)
    )
    with pytest.raises(SurveyError, match="autre rôle"):
        save(response, "S2", FULL_S2, Actor.for_user(oncologist_a, centre_a))
    save(response, "S1", FULL_S1, Actor.for_user(oncologist_a, centre_a))
    assert not save(response, "S2", FULL_S2, Actor.for_user(physicist_a, centre_a)).errors
    assert not save(response, "S2", FULL_S2, Actor.for_user(referent_a, centre_a)).errors
    invitation, _token = invite(campaign, centre_a, "onco@example.org", role=Role.ONCOLOGIST)
    with pytest.raises(SurveyError, match="autre rôle"):
        save(response, "S2", FULL_S2, Actor.for_invitation(invitation))


def test_per_person_campaign_gives_one_response_each(campaign, centre_a):
    campaign.unit = "person"
    campaign.save()
    one, _t = invite(campaign, centre_a, "a@example.org")
    two, _t = invite(campaign, centre_a, "b@example.org")
    r1 = services.response_open(campaign=campaign, centre=centre_a, actor=Actor.for_invitation(one))
    r2 = services.response_open(campaign=campaign, centre=centre_a, actor=Actor.for_invitation(two))
    assert r1.pk != r2.pk


def test_tokens_are_stored_hashed_and_expire(campaign, centre_a):
    invitation, token = invite(campaign, centre_a)
    assert token not in (invitation.token_hash, invitation.nonce)
    assert services.invitation_resolve(token) == invitation
    with pytest.raises(SurveyError, match="pas valide"):
        services.invitation_resolve(token[:-1] + ("A" if token[-1] != "A" else "B"))
    invitation.expires_at = timezone.now() - datetime.timedelta(minutes=1)
    invitation.save()
    with pytest.raises(SurveyError, match="a expiré"):
        services.invitation_resolve(token)


def test_person_unit_for_logged_in_members(campaign, centre_a):
    campaign.unit = "person"
    campaign.save()
    alice = make_user("alice", Role.ONCOLOGIST, centre_a)
    bob = make_user("bob", Role.ONCOLOGIST, centre_a)
    r1 = services.response_open(
        campaign=campaign, centre=centre_a, actor=Actor.for_user(alice, centre_a)
    )
    r2 = services.response_open(
        campaign=campaign, centre=centre_a, actor=Actor.for_user(bob, centre_a)
    )
    assert r1.pk != r2.pk and r1.respondent == alice
