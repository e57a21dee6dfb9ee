from __future__ import annotations

import pytest

from cyber_continuity import demo
from cyber_continuity.models import Convention, Crisis, TransferPlanEntry
from onco_hdf import demo as foundation_demo

pytestmark = pytest.mark.django_db


def test_demo_region_is_populated_and_idempotent(settings, scenario_library):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    foundation_demo.seed()
    demo.seed()
    counts = (Convention.objects.count(), TransferPlanEntry.objects.count(), Crisis.objects.count())
    demo.seed()
    assert (
        Convention.objects.count(),
        TransferPlanEntry.objects.count(),
        Crisis.objects.count(),
    ) == counts
    statuses = set(Convention.objects.values_list("status", flat=True))
    assert {"draft", "negotiation", "awaiting_signature", "in_force", "renewal_due"} <= statuses
    assert any(c.is_outdated for c in Convention.objects.all())
    exercise = Crisis.objects.get()
    assert exercise.is_exercise and exercise.status == "retex"
    from cyber_continuity.services import crisis_metrics

    metrics = crisis_metrics(exercise)
    assert metrics.to_declaration.total_seconds() == 25 * 60
    assert metrics.to_first_acceptance.total_seconds() == 95 * 60
    assert exercise.events.count() > 5 and exercise.actions.count() == 2
    assert exercise.exercise.status == "done"  # counts for CHU Amiens' annual exercise
    assert exercise.exercise.scenario.kind == "ransomware_ois"
    from cyber_continuity.models import CapacityDeclaration

    vmat = CapacityDeclaration.objects.get(centre__short_name="Roubaix", technique="imrt_vmat")
    split = dict(vmat.machine_slots.values_list("machine__model", "free_slots_per_day"))
    assert split == {"TrueBeam": 2, "Halcyon": 1} and vmat.free_slots_per_day == 3


def test_demo_crisis_cell_follows_the_demo_exercise(settings, scenario_library):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    foundation_demo.seed()
    demo.seed()
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from tests.conftest import login

    cell = get_user_model().objects.get(username="cellule.crise")
    assert list(cell.memberships.values_list("role", "centre")) == [("crisis_cell", None)]
    exercise = Crisis.objects.get()
    page = login(cell).get(reverse("cyber_continuity:crisis-list")).content.decode()
    assert reverse("cyber_continuity:crisis-detail", args=[exercise.pk]) in page
