from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from cyber_continuity import services
from cyber_continuity.models import CrisisStatus, Technique, TransferStatus, harm_deadline

pytestmark = pytest.mark.django_db

SMS_SENT: list[tuple[str, str]] = []


def record_sms(*, phone, message):
    SMS_SENT.append((phone, message))


@pytest.mark.parametrize(("category", "days"), [(1, 2), (2, 5), (3, 10)])
def test_harm_deadline_by_category(category, days):
    assert harm_deadline(category=category, last_fraction_on=date(2026, 3, 2)) == (
        date(2026, 3, 2) + timedelta(days=days)
    )


def test_countdown_shortest_for_category_1(region, referent_a):
    crisis = services.crisis_declare(
        centre=region["a"], systems_down=["ois"], description="", user=referent_a
    )
    yesterday = timezone.localdate() - timedelta(days=1)
    orl = services.patient_group_add(
        crisis=crisis,
        user=referent_a,
        label="VMAT ORL",
        technique=Technique.IMRT_VMAT,
        category=1,
        patient_count=3,
        fractions_left=20,
        last_fraction_on=yesterday,
    )
    prostate = services.patient_group_add(
        crisis=crisis,
        user=referent_a,
        label="VMAT prostate",
        technique=Technique.IMRT_VMAT,
        category=2,
        patient_count=6,
        fractions_left=12,
        last_fraction_on=yesterday,
    )
    assert orl.days_before_harm() == 1
    assert prostate.days_before_harm() == 4


def _group(crisis, user, **extra):
    fields = {
        "label": "VMAT prostate",
        "technique": Technique.IMRT_VMAT,
        "category": 2,
        "patient_count": 6,
        "fractions_left": 12,
        "last_fraction_on": timezone.localdate(),
    }
    fields.update(extra)
    return services.patient_group_add(crisis=crisis, user=user, **fields)


def test_matching_ranking_on_the_fixture_region(region, referent_a):
    crisis = services.crisis_declare(
        centre=region["a"], systems_down=["ois"], description="", user=referent_a
    )
    ranked = services.match_receivers(_group(crisis, referent_a))
    names = [c.centre.short_name for c in ranked]
    # Transferable with slots, nearest first; then no slots; then re-planning needed.
    assert names == ["Far", "B", "Full", "Near"]
    by_name = {c.centre.short_name: c for c in ranked}
    assert by_name["B"].transferable and by_name["Far"].transferable
    assert not by_name["Near"].transferable
    assert by_name["Full"].free_slots == 0
    assert 90 < by_name["B"].distance_km < 110
    assert "A" not in names  # never the attacked centre itself


def test_convention_in_force_lifts_a_receiver(region, referent_a, in_force_ab):
    crisis = services.crisis_declare(
        centre=region["a"], systems_down=["ois"], description="", user=referent_a
    )
    ranked = services.match_receivers(_group(crisis, referent_a))
    assert [c.centre.short_name for c in ranked][:2] == ["B", "Far"]
    assert ranked[0].convention == in_force_ab


def test_accepted_patients_use_up_free_slots(region, referent_a, referent_b):
    crisis = services.crisis_declare(
        centre=region["a"], systems_down=["ois"], description="", user=referent_a
    )
    group = _group(crisis, referent_a)
    transfer = services.transfer_propose(
        group=group, receiving_centre=region["b"], patient_count=4, user=referent_a
    )
    services.transfer_update(transfer=transfer, to_status=TransferStatus.ACCEPTED, user=referent_b)
    by_name = {c.centre.short_name: c for c in services.match_receivers(group)}
    assert by_name["B"].free_slots == 0
    with pytest.raises(ValidationError, match="2 patient"):
        services.transfer_propose(
            group=group, receiving_centre=region["far"], patient_count=3, user=referent_a
        )


def test_crisis_workflow_timeline_and_notifications(
    region, referent_a, referent_b, settings, django_capture_on_commit_callbacks
):
    settings.CYBER_CONTINUITY_SMS_HOOK = "tests.cyber_continuity.test_services_crisis.record_sms"
    SMS_SENT.clear()
    services.plan_entry_add(
        centre=region["a"], technique=Technique.IMRT_VMAT, receiving_centre=region["b"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        crisis = services.crisis_declare(
            centre=region["a"],
            systems_down=["ois", "tps"],
            description="Rançongiciel",
            user=referent_a,
        )
    assert crisis.status == CrisisStatus.DECLARED and crisis.declared_by == referent_a
    # Only the receiving centre of the plan is told, by e-mail and SMS.
    assert len(mail.outbox) == 1
    assert "Centre B" not in mail.outbox[0].subject and "A" in mail.outbox[0].subject
    assert mail.outbox[0].to == [region["b"].crisis_contacts.get().email]
    assert len(SMS_SENT) == 1
    group = _group(crisis, referent_a)
    with django_capture_on_commit_callbacks(execute=True):
        transfer = services.transfer_propose(
            group=group, receiving_centre=region["b"], patient_count=6, user=referent_a
        )
    crisis.refresh_from_db()
    assert crisis.status == CrisisStatus.TRANSFERS
    assert transfer.plan_transferable
    assert len(mail.outbox) == 2 and "transfert" in mail.outbox[1].subject
    with django_capture_on_commit_callbacks(execute=True):
        services.transfer_update(
            transfer=transfer,
            to_status=TransferStatus.ACCEPTED,
            user=referent_b,
            comment="OK demain 8 h",
        )
    # The attacked centre hears the answer, by e-mail and SMS.
    assert mail.outbox[2].to == [region["a"].crisis_contacts.get().email]
    assert "OK demain 8 h" in mail.outbox[2].body and len(SMS_SENT) == 3
    services.transfer_update(
        transfer=transfer, to_status=TransferStatus.TREATING, user=referent_b, on=date(2026, 1, 5)
    )
    with pytest.raises(services.TransitionError):
        services.transfer_update(
            transfer=transfer, to_status=TransferStatus.ACCEPTED, user=referent_b
        )
    services.transfer_update(
        transfer=transfer, to_status=TransferStatus.RETURNED, user=referent_a, on=date(2026, 1, 20)
    )
    transfer.refresh_from_db()
    assert (transfer.first_fraction_on, transfer.returned_on) == (
        date(2026, 1, 5),
        date(2026, 1, 20),
    )
    for status in ("stabilised", "return", "lifted", "retex", "closed"):
        services.crisis_transition(crisis=crisis, to_status=status, user=referent_a)
    crisis.refresh_from_db()
    assert crisis.closed_at is not None
    assert list(crisis.transitions.values_list("to_status", flat=True)) == [
        "alert",
        "declared",
        "transfers",
        "stabilised",
        "return",
        "lifted",
        "retex",
        "closed",
    ]
    texts = " | ".join(crisis.events.values_list("text", flat=True))
    assert "Alerte" in texts and "Transfert proposé" in texts


def test_forbidden_crisis_transition(region, referent_a):
    crisis = services.crisis_declare(
        centre=region["a"], systems_down=[], description="", user=referent_a, declare_now=False
    )
    with pytest.raises(services.TransitionError, match="ne peut pas passer"):
        services.crisis_transition(crisis=crisis, to_status="lifted", user=referent_a)
    with pytest.raises(services.TransitionError):
        services.transfer_propose(
            group=_group(crisis, referent_a),
            receiving_centre=region["b"],
            patient_count=1,
            user=referent_a,
        )


def test_exercise_metrics(region, referent_a, referent_b):
    start = timezone.now() - timedelta(hours=3)
    crisis = services.crisis_declare(
        centre=region["a"],
        systems_down=[],
        description="",
        user=referent_a,
        is_exercise=True,
        declare_now=False,
        started_at=start,
    )
    assert services.crisis_metrics(crisis).to_declaration is None
    crisis = services.crisis_transition(crisis=crisis, to_status="declared", user=referent_a)
    crisis.declared_at = start + timedelta(minutes=20)
    crisis.save()
    transfer = services.transfer_propose(
        group=_group(crisis, referent_a),
        receiving_centre=region["b"],
        patient_count=2,
        user=referent_a,
    )
    services.transfer_update(transfer=transfer, to_status="accepted", user=referent_b)
    type(transfer).objects.filter(pk=transfer.pk).update(
        proposed_at=start + timedelta(minutes=50), responded_at=start + timedelta(minutes=80)
    )
    metrics = services.crisis_metrics(crisis)
    assert metrics.to_declaration == timedelta(minutes=20)
    assert metrics.to_first_proposal == timedelta(minutes=50)
    assert metrics.to_first_acceptance == timedelta(minutes=80)


def test_actions_overdue(region, referent_a):
    crisis = services.crisis_declare(
        centre=region["a"], systems_down=[], description="", user=referent_a, is_exercise=True
    )
    late = services.crisis_action_add(
        crisis=crisis,
        title="Tester la restauration",
        owner="Physicien",
        user=referent_a,
        due_date=timezone.localdate() - timedelta(days=1),
    )
    assert late.is_overdue
    services.crisis_action_done(action=late, user=referent_a)
    late.refresh_from_db()
    assert not late.is_overdue
