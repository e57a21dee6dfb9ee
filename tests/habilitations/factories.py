"""Factories and builders for the habilitations tests."""

from __future__ import annotations

import datetime as dt

import factory

from habilitations import services
from habilitations.models import (
    Activity,
    CatalogueStatus,
    CatalogueVersion,
    Domain,
    HabilitationSheet,
    Level,
    SheetLine,
    SheetStatus,
)


class CatalogueVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CatalogueVersion

    number = factory.Sequence(lambda n: n + 1)
    label = factory.Sequence(lambda n: f"Catalogue test {n}")
    status = CatalogueStatus.PUBLISHED


class DomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Domain

    version = factory.SubFactory(CatalogueVersionFactory)
    code = factory.Sequence(lambda n: f"DOM{n}")
    name = factory.Sequence(lambda n: f"Domaine {n}")


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    domain = factory.SubFactory(DomainFactory)
    version = factory.SelfAttribute("domain.version")
    code = factory.Sequence(lambda n: f"ACT-{n}")
    label = factory.Sequence(lambda n: f"Activité {n}")
    min_supervised_cases = 5


def catalogue(number: int = 1, codes=("CONT-SEIN", "PLAN-3D", "TECH-SBRT")) -> CatalogueVersion:
    """A published version with one domain and the given activity codes."""
    version = CatalogueVersionFactory(number=number, label=f"Catalogue v{number}")
    domain = DomainFactory(version=version, code="DOM")
    for index, code in enumerate(codes):
        ActivityFactory(
            domain=domain, version=version, code=code, label=f"Activité {code}", order=index
        )
    return version


def make_sheet(
    physician,
    centre,
    *,
    version=None,
    levels=None,
    status=SheetStatus.DRAFT,
    cases: int = 10,
    **fields,
) -> HabilitationSheet:
    """A sheet with one line per (code, level); status set directly (for guard tests)."""
    version = version or CatalogueVersion.objects.order_by("-number").first()
    today = services.today()
    values = {
        "post": "Praticien hospitalier",
        "rpps": "10101010101",
        "start_date": today - dt.timedelta(days=30),
        "rp_training_date": today - dt.timedelta(days=100),
        "rp_training_expiry": today + dt.timedelta(days=2000),
        **fields,
    }
    sheet = HabilitationSheet.objects.create(
        physician=physician, centre=centre, catalogue_version=version, status=status, **values
    )
    levels = {"CONT-SEIN": Level.SUPERVISED} if levels is None else levels
    for code, level in levels.items():
        SheetLine.objects.create(
            sheet=sheet,
            activity=version.activities.get(code=code),
            level_requested=level,
            supervised_cases=cases,
        )
    return sheet
