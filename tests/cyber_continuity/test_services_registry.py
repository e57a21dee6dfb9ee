from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from cyber_continuity import services
from cyber_continuity.models import CapacityDeclaration, Technique
from tests.cyber_continuity.factories import CapacityFactory, MachineFactory

pytestmark = pytest.mark.django_db


def test_saving_capacities_attests_and_removes_unticked(centre_a, referent_a):
    CapacityFactory(
        centre=centre_a, technique=Technique.TBI, attested_at=timezone.now() - timedelta(days=90)
    )
    services.capacities_save(
        centre=centre_a, user=referent_a, rows={Technique.IMRT_VMAT: (5, 2), Technique.SBRT: (1, 0)}
    )
    rows = {c.technique: c for c in CapacityDeclaration.objects.filter(centre=centre_a)}
    assert set(rows) == {Technique.IMRT_VMAT, Technique.SBRT}
    assert rows[Technique.IMRT_VMAT].free_slots_per_day == 5
    assert rows[Technique.IMRT_VMAT].attested_by == referent_a
    assert not rows[Technique.IMRT_VMAT].is_stale
    # Each save is kept in history.
    assert rows[Technique.IMRT_VMAT].history.count() == 1


def test_stale_attestation_flag_and_attest(centre_a, referent_a):
    old = CapacityFactory(centre=centre_a, attested_at=timezone.now() - timedelta(days=31))
    fresh = CapacityFactory(
        centre=centre_a, technique=Technique.SBRT, attested_at=timezone.now() - timedelta(days=29)
    )
    assert old.is_stale and not fresh.is_stale
    assert services.capacity_attest(centre=centre_a, user=referent_a) == 2
    old.refresh_from_db()
    assert not old.is_stale and old.attested_by == referent_a


def test_reminder_mails_referents_of_stale_centres_once_a_week(centre_a, centre_b, referent_a):
    CapacityFactory(centre=centre_a, attested_at=timezone.now() - timedelta(days=40))
    CapacityFactory(centre=centre_b)  # fresh: no reminder
    assert services.capacity_attestation_remind() == 1
    assert mail.outbox[0].to == [referent_a.email]
    assert "A" in mail.outbox[0].subject
    assert services.capacity_attestation_remind() == 0  # idempotent within the week
    later = timezone.now() + timedelta(days=8)
    assert services.capacity_attestation_remind(now=later) == 1


def test_machine_compatibility():
    varian = MachineFactory.build(manufacturer="Varian", model="TrueBeam", beam_matching_group="G1")
    twin = MachineFactory.build(manufacturer="Varian", model="TrueBeam", beam_matching_group="")
    matched = MachineFactory.build(
        manufacturer="Elekta", model="Versa HD", beam_matching_group="g1 "
    )
    other = MachineFactory.build(
        manufacturer="Elekta", model="Versa HD", beam_matching_group="G2", sbrt_capable=False
    )
    assert services.plan_transferable([varian], [twin])
    assert services.plan_transferable([varian], [matched])
    assert not services.plan_transferable([varian], [other])
    assert not services.plan_transferable([varian], [])
    assert not services.machine_capable(Technique.SBRT, [other])
    assert services.machine_capable(Technique.BRACHY_GYN, [])


def test_transfer_plan_shows_gaps(region, referent_a, in_force_ab):
    services.plan_entry_add(
        centre=region["a"], technique=Technique.IMRT_VMAT, receiving_centre=region["b"]
    )
    services.plan_entry_add(
        centre=region["a"], technique=Technique.IMRT_VMAT, receiving_centre=region["near"]
    )
    CapacityDeclaration.objects.filter(centre=region["near"]).update(
        attested_at=timezone.now() - timedelta(days=60)
    )
    CapacityFactory(centre=region["a"], technique=Technique.SBRT)
    sections = {s.technique: s for s in services.transfer_plan(region["a"])}
    vmat = sections[Technique.IMRT_VMAT]
    assert [r.entry.receiving_centre.short_name for r in vmat.rows] == ["B", "Near"]
    assert vmat.rows[0].problems == [] and vmat.rows[0].convention == in_force_ab
    problems = " ; ".join(vmat.rows[1].problems)
    assert "convention" in problems and "attestation" in problems and "planification" in problems
    assert vmat.has_receiver
    assert sections[Technique.SBRT].rows == [] and not sections[Technique.SBRT].has_receiver


def test_plan_entries_reorder(region):
    first = services.plan_entry_add(
        centre=region["a"], technique=Technique.IMRT_VMAT, receiving_centre=region["b"]
    )
    second = services.plan_entry_add(
        centre=region["a"], technique=Technique.IMRT_VMAT, receiving_centre=region["far"]
    )
    assert (first.rank, second.rank) == (1, 2)
    services.plan_entry_move(entry=second, up=True)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (second.rank, first.rank) == (1, 2)
    with pytest.raises(Exception, match="déjà"):
        services.plan_entry_add(
            centre=region["a"], technique=Technique.IMRT_VMAT, receiving_centre=region["b"]
        )
