"""Crisis × habilitations: who at the receiver may treat the technique, staff clause."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from cyber_continuity import services
from cyber_continuity.models import Technique
from habilitations.models import Level, SheetStatus
from onco_hdf.models import Role
from tests.conftest import login, make_user
from tests.habilitations.factories import catalogue, make_sheet

pytestmark = pytest.mark.django_db


def _physician(username, centre, first, last):
    user = make_user(username, Role.ONCOLOGIST, centre)
    user.first_name, user.last_name = first, last
    user.save()
    return user


def _grant(sheet, level=Level.AUTONOMOUS, expiry=None):
    sheet.lines.update(level_granted=level, expiry_date=expiry)


def test_receivers_show_their_habilitated_physicians(region, referent_a, in_force_ab):
    version = catalogue(codes=("TECH-IMRT", "TECH-SBRT"))
    b, far = region["b"], region["far"]
    dupont = _physician("dupont", b, "Claire", "Dupont")
    martin = _physician("martin", b, "Paul", "Martin")
    expired = _physician("vieux", far, "Jean", "Vieux")
    _grant(
        make_sheet(
            dupont,
            b,
            version=version,
            levels={"TECH-IMRT": Level.AUTONOMOUS},
            status=SheetStatus.ACTIVE,
        )
    )
    _grant(
        make_sheet(
            martin,
            b,
            version=version,
            levels={"TECH-IMRT": Level.SUPERVISED},
            status=SheetStatus.ACTIVE,
        ),
        level=Level.SUPERVISED,
    )
    _grant(
        make_sheet(
            expired,
            far,
            version=version,
            levels={"TECH-IMRT": Level.AUTONOMOUS},
            status=SheetStatus.ACTIVE,
        ),
        expiry=dt.date.today() - dt.timedelta(days=1),
    )
    crisis = services.crisis_declare(
        centre=region["a"], systems_down=["ois"], description="", user=referent_a
    )
    group = services.patient_group_add(
        crisis=crisis,
        user=referent_a,
        label="VMAT prostate",
        technique=Technique.IMRT_VMAT,
        category=2,
        patient_count=2,
        fractions_left=10,
        last_fraction_on=timezone.localdate(),
    )
    by_name = {c.centre.short_name: c for c in services.match_receivers(group)}
    assert by_name["B"].habilitated == ("Claire Dupont",)
    assert by_name["Far"].habilitated == ()
    assert "à disposition du centre receveur" in by_name["B"].staff_clause
    assert by_name["Far"].staff_clause == ""
    html = (
        login(referent_a)
        .get(reverse("cyber_continuity:patient-group-match", args=[group.pk]))
        .content.decode()
    )
    assert "Claire Dupont" in html and "Paul Martin" not in html
    assert "aucun médecin habilité" in html
    assert "ne peut pas y suivre les patients" in html
