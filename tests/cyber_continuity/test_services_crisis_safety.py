"""Phone answers recorded for a receiver, and no lifting while patients are not placed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from cyber_continuity import services
from cyber_continuity.models import CrisisStatus, Technique, TransferStatus
from tests.conftest import login

pytestmark = pytest.mark.django_db


def _crisis_with_group(region, referent_a, **extra):
    crisis = services.crisis_declare(
        centre=region["a"], systems_down=["ois"], description="", user=referent_a
    )
    fields = {
        "label": "VMAT ORL",
        "technique": Technique.IMRT_VMAT,
        "category": 1,
        "patient_count": 3,
        "fractions_left": 20,
        "last_fraction_on": timezone.localdate(),
    }
    fields.update(extra)
    return crisis, services.patient_group_add(crisis=crisis, user=referent_a, **fields)


def test_project_manager_records_a_phone_acceptance(region, referent_a, pm):
    crisis, group = _crisis_with_group(region, referent_a)
    transfer = services.transfer_propose(
        group=group, receiving_centre=region["far"], patient_count=3, user=referent_a
    )
    called = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=20)
    page = login(pm).post(
        reverse("cyber_continuity:transfer-phone-answer", args=[transfer.pk]),
        {
            "to": "accepted",
            "answered_by_name": "Dr Martin, radiothérapeute d'astreinte",
            "answered_at": timezone.localtime(called).strftime("%Y-%m-%dT%H:%M"),
            "comment": "Premier créneau demain 8 h",
        },
    )
    assert page.status_code == 302
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.ACCEPTED
    assert transfer.recorded_on_behalf is True
    assert transfer.responded_by == pm
    assert transfer.responded_at == called
    assert transfer.answered_by_name == "Dr Martin, radiothérapeute d'astreinte"
    event = crisis.events.order_by("-pk").first().text
    assert "Réponse donnée par téléphone par Dr Martin, radiothérapeute d'astreinte" in event
    assert f"({region['far'].label})" in event
    assert "pour le compte du centre receveur" in event
    assert "Premier créneau demain 8 h" in event
    # The metric counts from the call, not from when it was typed in.
    assert services.crisis_metrics(crisis).to_first_acceptance == called - crisis.started_at
    detail = login(pm).get(reverse("cyber_continuity:crisis-detail", args=[crisis.pk]))
    assert "pour le compte du centre receveur" in detail.content.decode()


def test_phone_answer_form_keeps_what_was_typed_on_error(region, referent_a, pm):
    _crisis, group = _crisis_with_group(region, referent_a)
    transfer = services.transfer_propose(
        group=group, receiving_centre=region["far"], patient_count=3, user=referent_a
    )
    page = login(pm).post(
        reverse("cyber_continuity:transfer-phone-answer", args=[transfer.pk]),
        {
            "to": "refused",
            "answered_by_name": "",
            "answered_at": "pas une date",
            "comment": "Plein",
        },
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert "Ce champ est obligatoire" in html
    assert 'value="Plein"' in html
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.PROPOSED


def test_phone_refusal_in_the_future_is_refused(region, referent_a, pm):
    _crisis, group = _crisis_with_group(region, referent_a)
    transfer = services.transfer_propose(
        group=group, receiving_centre=region["far"], patient_count=3, user=referent_a
    )
    with pytest.raises(ValidationError, match="futur"):
        services.transfer_update(
            transfer=transfer,
            to_status=TransferStatus.REFUSED,
            user=pm,
            answered_by_name="Dr X",
            answered_at=timezone.now() + timedelta(hours=2),
        )


def test_referent_of_a_receiver_still_cannot_answer_for_another(region, referent_a, referent_b):
    _crisis, group = _crisis_with_group(region, referent_a)
    transfer = services.transfer_propose(
        group=group, receiving_centre=region["far"], patient_count=3, user=referent_a
    )
    url = reverse("cyber_continuity:transfer-phone-answer", args=[transfer.pk])
    assert login(referent_b).get(url).status_code in (403, 404)


def _advance_to_transfers(crisis, group, region, referent_a):
    return services.transfer_propose(
        group=group, receiving_centre=region["far"], patient_count=1, user=referent_a
    )


def test_stabilising_is_refused_while_category_1_patients_are_unplaced(region, referent_a):
    crisis, group = _crisis_with_group(region, referent_a)
    _advance_to_transfers(crisis, group, region, referent_a)
    with pytest.raises(services.TransitionError) as error:
        services.crisis_transition(
            crisis=crisis, to_status=CrisisStatus.STABILISED, user=referent_a
        )
    message = " ".join(error.value.messages)
    assert "VMAT ORL : 2 patient(s) de catégorie 1 non placé(s)" in message
    assert "encore « Proposé »" in message
    crisis.refresh_from_db()
    assert crisis.status == CrisisStatus.TRANSFERS


def test_override_reason_is_recorded(region, referent_a):
    crisis, group = _crisis_with_group(region, referent_a)
    _advance_to_transfers(crisis, group, region, referent_a)
    services.crisis_transition(
        crisis=crisis,
        to_status=CrisisStatus.STABILISED,
        user=referent_a,
        override_reason="Patients pris en charge hors plateforme par le CHU voisin",
    )
    crisis.refresh_from_db()
    assert crisis.status == CrisisStatus.STABILISED
    comment = crisis.transitions.order_by("-pk").first().comment
    assert comment.startswith("Passage forcé malgré : VMAT ORL : 2 patient(s)")
    assert comment.endswith("Motif : Patients pris en charge hors plateforme par le CHU voisin")


def test_lifting_refused_then_allowed_once_everyone_is_placed(region, referent_a, pm):
    crisis, group = _crisis_with_group(region, referent_a)
    transfer = _advance_to_transfers(crisis, group, region, referent_a)
    services.crisis_transition(
        crisis=crisis, to_status=CrisisStatus.STABILISED, user=referent_a, override_reason="x"
    )
    with pytest.raises(services.TransitionError, match="refusé"):
        services.crisis_transition(crisis=crisis, to_status=CrisisStatus.LIFTED, user=referent_a)
    services.transfer_update(
        transfer=transfer,
        to_status=TransferStatus.ACCEPTED,
        user=pm,
        answered_by_name="Dr Y",
    )
    services.transfer_propose(
        group=group, receiving_centre=region["b"], patient_count=2, user=referent_a
    )
    rest = group.transfers.get(receiving_centre=region["b"])
    services.transfer_update(
        transfer=rest, to_status=TransferStatus.ACCEPTED, user=pm, answered_by_name="Dr Z"
    )
    services.crisis_transition(crisis=crisis, to_status=CrisisStatus.LIFTED, user=referent_a)
    crisis.refresh_from_db()
    assert crisis.status == CrisisStatus.LIFTED


def test_crisis_page_warns_and_keeps_the_typed_reason(region, referent_a):
    crisis, group = _crisis_with_group(region, referent_a)
    _advance_to_transfers(crisis, group, region, referent_a)
    client = login(referent_a)
    url = reverse("cyber_continuity:crisis-detail", args=[crisis.pk])
    assert "Les patients ne sont pas encore tous en sécurité" in client.get(url).content.decode()
    page = client.post(
        reverse("cyber_continuity:crisis-transition", args=[crisis.pk]),
        {"to": "stabilised", "comment": "Point de 18 h", "override_reason": ""},
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert "« Stabilisée » refusé" in html
    assert "Point de 18 h" in html


def test_the_crisis_cell_records_a_phone_refusal_and_follows_the_crisis(
    region, referent_a, crisis_cell
):
    """Issue 13 defect 2: the DSR-C crisis cell, not only the project manager, types in an
    answer given by phone; the crisis page shows it the button and the history says it was
    recorded on the receiver's behalf, by the cell member."""
    crisis, group = _crisis_with_group(region, referent_a)
    transfer = services.transfer_propose(
        group=group, receiving_centre=region["far"], patient_count=3, user=referent_a
    )
    client = login(crisis_cell)
    home = client.get(reverse("home")).content.decode()
    assert f"{crisis} : 1 transfert attend la réponse du centre receveur" in home
    assert reverse("cyber_continuity:crisis-detail", args=[crisis.pk]) in home
    detail = client.get(reverse("cyber_continuity:crisis-detail", args=[crisis.pk]))
    url = reverse("cyber_continuity:transfer-phone-answer", args=[transfer.pk])
    assert url in detail.content.decode()
    page = client.post(
        url,
        {
            "to": "refused",
            "answered_by_name": "Mme Leroy, cadre d'astreinte",
            "answered_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "comment": "Accélérateur en maintenance",
        },
    )
    assert page.status_code == 302
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.REFUSED
    assert transfer.recorded_on_behalf is True and transfer.responded_by == crisis_cell
    event = crisis.events.select_related("user").order_by("-pk").first()
    assert event.user == crisis_cell
    assert "Réponse donnée par téléphone par Mme Leroy, cadre d'astreinte" in event.text
    assert "pour le compte du centre receveur" in event.text
    assert f"{crisis} en cours" in client.get(reverse("home")).content.decode()
    # Following is not running: the cell cannot move the crisis.
    moved = client.post(
        reverse("cyber_continuity:crisis-transition", args=[crisis.pk]),
        {"to": "stabilised", "override_reason": "Tout le monde est placé"},
    )
    assert moved.status_code == 403
    crisis.refresh_from_db()
    assert crisis.status == CrisisStatus.TRANSFERS
