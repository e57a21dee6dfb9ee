"""Receivers when several centres are hit: never offer a centre that is down itself."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cyber_continuity import services
from cyber_continuity.models import Technique, TransferStatus
from tests.cyber_continuity.factories import CapacityFactory, MachineFactory

pytestmark = pytest.mark.django_db


def _declare(centre, user, **extra):
    return services.crisis_declare(
        centre=centre, systems_down=["ois"], description="", user=user, **extra
    )


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


def test_centre_in_crisis_is_listed_apart_with_the_reason(region, referent_a, pm):
    crisis = _declare(region["a"], referent_a)
    _declare(region["b"], pm)  # B, the matched receiver, is hit too
    ranked = services.match_receivers(_group(crisis, referent_a))
    names = [c.centre.short_name for c in ranked]
    assert names[-1] == "B"
    assert names[0] == "Far"
    by_name = {c.centre.short_name: c for c in ranked}
    assert by_name["B"].unavailable == "crise en cours dans ce centre (Déclarée)"
    assert by_name["Far"].unavailable == ""


def test_centre_in_crisis_cannot_be_proposed(region, referent_a, pm):
    crisis = _declare(region["a"], referent_a)
    _declare(region["b"], pm)
    group = _group(crisis, referent_a)
    with pytest.raises(ValidationError, match="ne peut pas recevoir de patients"):
        services.transfer_propose(
            group=group, receiving_centre=region["b"], patient_count=2, user=referent_a
        )
    assert not group.transfers.exists()


def test_exercise_elsewhere_does_not_block_a_real_crisis(region, referent_a, pm):
    crisis = _declare(region["a"], referent_a)
    _declare(region["b"], pm, is_exercise=True)
    ranked = services.match_receivers(_group(crisis, referent_a))
    assert {c.centre.short_name: c.unavailable for c in ranked}["B"] == ""


def test_receiver_with_its_machines_stopped_is_unavailable(region, referent_a):
    region["far"].machines.update(in_service=False)
    crisis = _declare(region["a"], referent_a)
    by_name = {c.centre.short_name: c for c in services.match_receivers(_group(crisis, referent_a))}
    assert by_name["Far"].unavailable == "ses machines pour cette technique sont à l'arrêt"
    assert by_name["B"].unavailable == ""


def test_plan_fallbacks_flag_a_receiver_in_crisis(region, referent_a, pm):
    services.plan_entry_add(
        centre=region["a"], technique=Technique.IMRT_VMAT, receiving_centre=region["b"]
    )
    services.plan_entry_add(
        centre=region["a"], technique=Technique.IMRT_VMAT, receiving_centre=region["far"]
    )
    _declare(region["b"], pm)
    (section,) = [s for s in services.transfer_plan(region["a"]) if s.technique == "imrt_vmat"]
    problems = {row.entry.receiving_centre.short_name: row.problems for row in section.rows}
    assert "crise en cours dans ce centre (Déclarée)" in problems["B"]
    assert not any("crise" in p for p in problems["Far"])


def test_slots_are_used_up_only_by_their_own_technique(region, referent_a, referent_b):
    b = region["b"]
    CapacityFactory(centre=b, technique=Technique.SBRT, free_slots_per_day=7, surge_slots_per_day=0)
    CapacityFactory(
        centre=b, technique=Technique.BRACHY_GYN, free_slots_per_day=2, surge_slots_per_day=0
    )
    MachineFactory(centre=b, kind="brachy", name="Flexitron", beam_matching_group="")
    crisis = _declare(region["a"], referent_a)
    vmat = _group(crisis, referent_a, patient_count=2)
    hdr = _group(
        crisis, referent_a, label="HDR col", technique=Technique.BRACHY_GYN, patient_count=2
    )
    sbrt = _group(
        crisis, referent_a, label="SBRT poumon", technique=Technique.SBRT, patient_count=3
    )
    for group in (vmat, hdr):
        transfer = services.transfer_propose(
            group=group, receiving_centre=b, patient_count=2, user=referent_a
        )
        services.transfer_update(
            transfer=transfer, to_status=TransferStatus.ACCEPTED, user=referent_b
        )

    def slots(group):
        return {c.centre.short_name: c.free_slots for c in services.match_receivers(group)}["B"]

    assert slots(sbrt) == 7
    assert slots(vmat) == 3 + 1 - 2
    assert slots(hdr) == 0


def test_match_page_lists_the_centre_in_crisis_apart(region, referent_a, pm):
    from django.urls import reverse

    from tests.conftest import login

    crisis = _declare(region["a"], referent_a)
    _declare(region["b"], pm)
    group = _group(crisis, referent_a)
    page = login(referent_a).get(reverse("cyber_continuity:patient-group-match", args=[group.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    apart = html[html.index("Centres qui ne peuvent pas recevoir actuellement") :]
    assert "crise en cours dans ce centre (Déclarée)" in apart
    assert f"Proposer à {region['b'].label}" not in html
    assert f"Proposer à {region['far'].label}" in html
