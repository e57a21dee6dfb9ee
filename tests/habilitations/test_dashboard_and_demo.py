"""Home tile, menu entries, and the demo seed (sheets in every state)."""

from __future__ import annotations

import pytest

from habilitations import dashboard, demo
from habilitations.models import HabilitationSheet, Reminder, SheetStatus
from onco_hdf import demo as foundation_demo
from tests.habilitations.factories import make_sheet


def test_tile_counts_what_the_user_may_see(
    head_a, oncologist_b, centre_a, centre_b, version, referent_a
):
    make_sheet(head_a, centre_a, status=SheetStatus.ACTIVE)
    make_sheet(head_a, centre_a, status=SheetStatus.SUBMITTED)
    make_sheet(oncologist_b, centre_b, status=SheetStatus.ACTIVE)
    tile = dashboard.tile(head_a)
    assert tile.key == "habilitations" and tile.url == "/habilitations/"
    counts = dict(tile.counts)
    assert (counts["Fiches actives"], counts["En attente de validation"]) == (1, 1)
    assert dashboard.tile(referent_a) is None
    assert [item.label for item in dashboard.nav_items(head_a)] == [
        "Habilitations",
        "Matrice des compétences",
    ]
    assert [item.label for item in dashboard.nav_items(oncologist_b)] == ["Habilitations"]
    assert dashboard.nav_items(referent_a) == []


@pytest.mark.django_db
def test_demo_has_sheets_in_every_state_and_is_idempotent(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    foundation_demo.seed()
    demo.seed()
    demo.seed()
    statuses = set(HabilitationSheet.objects.filter(is_demo=True).values_list("status", flat=True))
    assert statuses == set(SheetStatus.values)
    assert HabilitationSheet.objects.count() == 10
    assert Reminder.objects.exists()
    returned = HabilitationSheet.objects.get(physician__username="oncologue.amiens")
    assert returned.transitions.filter(action="return").exists()
