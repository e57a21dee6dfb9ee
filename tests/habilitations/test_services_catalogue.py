"""Catalogue versioning: drafts, publication, and sheets that keep their version."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from habilitations import services
from habilitations.catalogue_data import CATALOGUE_V1
from habilitations.models import (
    Activity,
    CatalogueStatus,
    CatalogueVersion,
    Domain,
    HabilitationSheet,
    Level,
    SheetStatus,
)
from tests.habilitations.factories import make_sheet


def test_new_draft_copies_the_current_version(version, pm):
    draft = services.catalogue_version_create_draft(user=pm, label="Révision 2027")
    assert (draft.number, draft.status) == (2, CatalogueStatus.DRAFT)
    assert sorted(draft.activities.values_list("code", flat=True)) == sorted(
        version.activities.values_list("code", flat=True)
    )
    assert set(draft.activities.values_list("domain__version", flat=True)) == {draft.pk}
    with pytest.raises(ValidationError):
        services.catalogue_version_create_draft(user=pm, label="Une autre")


def test_published_version_is_frozen(version):
    activity = version.activities.first()
    activity.label = "Changé"
    with pytest.raises(ValidationError, match="published|publiée"):
        services.activity_save(activity=activity)
    with pytest.raises(ValidationError):
        services.activity_delete(activity=activity)
    with pytest.raises(ValidationError):
        services.catalogue_version_publish(version=version, user=None)
    assert Activity.objects.get(pk=activity.pk).label != "Changé"


def test_publishing_a_new_version_leaves_validated_sheets_alone(
    version, pm, oncologist_a, oncologist_b, centre_a, centre_b
):
    old_sheet = make_sheet(oncologist_a, centre_a, status=SheetStatus.ACTIVE)
    old_line = old_sheet.lines.get()
    draft = services.catalogue_version_create_draft(user=pm, label="v2")
    changed = draft.activities.get(code="CONT-SEIN")
    changed.label = "Contourage sein (révisé)"
    services.activity_save(activity=changed)
    services.catalogue_version_publish(version=draft, user=pm)

    old_line.refresh_from_db()
    assert old_line.activity.version == version
    assert old_line.activity.label == "Activité CONT-SEIN"
    assert services.catalogue_current() == draft
    new_sheet = services.sheet_create(
        user=oncologist_b,
        sheet=HabilitationSheet(
            physician=oncologist_b,
            centre=centre_b,
            post="PH",
            rpps="12345678901",
            start_date=services.today(),
            rp_training_date=services.today(),
            rp_training_expiry=services.one_year_after(services.today()),
        ),
    )
    assert new_sheet.catalogue_version == draft


def test_renewal_moves_lines_to_the_current_version(version, pm, oncologist_a, centre_a):
    sheet = make_sheet(
        oncologist_a,
        centre_a,
        status=SheetStatus.ACTIVE,
        levels={"CONT-SEIN": Level.SUPERVISED, "TECH-SBRT": Level.SUPERVISED},
    )
    draft = services.catalogue_version_create_draft(user=pm, label="v2")
    services.activity_delete(activity=draft.activities.get(code="TECH-SBRT"))
    services.catalogue_version_publish(version=draft, user=pm)
    renewal = services.sheet_renew(sheet=sheet, user=oncologist_a)
    assert renewal.catalogue_version == draft
    assert [line.activity.code for line in renewal.lines.all()] == ["CONT-SEIN"]
    assert renewal.lines.get().activity.version == draft


def test_activity_codes_are_unique_per_version(version, pm):
    draft = services.catalogue_version_create_draft(user=pm, label="v2")
    clash = Activity(version=draft, domain=draft.domains.first(), code="PLAN-3D", label="x")
    with pytest.raises(ValidationError):
        services.activity_save(activity=clash)
    other = Domain(version=draft, code="DOM", name="Doublon")
    with pytest.raises(ValidationError):
        services.domain_save(domain=other)


def test_regional_catalogue_is_complete_and_loads_idempotently(db):
    call_command("habilitations_load_catalogue")
    call_command("habilitations_load_catalogue")
    version = CatalogueVersion.objects.get()
    assert version.status == CatalogueStatus.PUBLISHED
    codes = set(version.activities.values_list("code", flat=True))
    expected = {
        "CLIN-CONS",
        "CONT-ORL",
        "CONT-SEIN",
        "CONT-PROSTATE",
        "PLAN-3D",
        "PLAN-IMRT",
        "IGRT-CBCT",
        "SUIVI-HEBDO",
        "GARDE-ASTR",
        "TECH-3D",
        "TECH-IMRT",
        "TECH-SBRT",
        "TECH-SRS",
        "CURIE-GYN-HDR",
        "CURIE-PROST-LDR",
        "PED-RT",
        "ICT-TBI",
    }
    assert expected <= codes
    assert version.activities.count() == sum(len(d["activities"]) for d in CATALOGUE_V1["domains"])
    for activity in version.activities.all():
        assert all(text for _level, text in activity.evidence_by_level()), activity.code
        assert activity.description and activity.prerequisites
