"""The shared workflow module: one transition helper and the abstract record, and the
habilitation sheets moved onto it with their history kept."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from habilitations import services
from habilitations.models import HabilitationSheet, SheetStatus, SheetTransition
from onco_hdf import workflow
from tests.habilitations.factories import catalogue, make_sheet

BEFORE = [("habilitations", "0001_initial_models")]
AFTER = [("habilitations", "0002_sheet_transition_on_shared_workflow")]


@pytest.mark.django_db
def test_the_helper_records_who_when_from_to_and_refuses_a_forbidden_move(
    pm, oncologist_a, centre_a
):
    catalogue()
    sheet = make_sheet(oncologist_a, centre_a)
    moved, record = workflow.transition(
        queryset=HabilitationSheet.objects.all(),
        pk=sheet.pk,
        to_status=SheetStatus.SUBMITTED,
        allowed_from=[SheetStatus.DRAFT],
        actor=oncologist_a,
        record_model=SheetTransition,
        subject_field="sheet",
        comment="Prête",
        record_fields={"action": "submit"},
    )
    assert moved.status == SheetStatus.SUBMITTED
    assert (record.from_status, record.to_status, record.actor, record.comment) == (
        SheetStatus.DRAFT,
        SheetStatus.SUBMITTED,
        oncologist_a,
        "Prête",
    )
    assert record.at is not None and record.actor_name == "Oncologist Test"
    with pytest.raises(workflow.TransitionError, match="pas possible depuis le statut actuel"):
        workflow.transition(
            queryset=HabilitationSheet.objects.all(),
            pk=sheet.pk,
            to_status=SheetStatus.SUBMITTED,
            allowed_from=[SheetStatus.DRAFT],
            actor=oncologist_a,
            record_model=SheetTransition,
            subject_field="sheet",
        )
    assert SheetTransition.objects.filter(sheet=sheet).count() == 1


@pytest.mark.django_db
def test_the_habilitation_workflow_runs_on_the_shared_helper(oncologist_a, centre_a):
    catalogue()
    sheet = make_sheet(oncologist_a, centre_a)
    services.sheet_transition(sheet=sheet, user=oncologist_a, action="submit")
    step = SheetTransition.objects.get(sheet=sheet)
    assert isinstance(step, workflow.TransitionRecord)
    assert (step.action, step.from_status, step.to_status) == ("submit", "draft", "submitted")
    with pytest.raises(
        workflow.TransitionError, match="est impossible : cette fiche est maintenant"
    ):
        services.sheet_transition(sheet=sheet, user=oncologist_a, action="submit")


@pytest.mark.django_db(transaction=True)
def test_migration_keeps_the_sheet_history():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    User = old.get_model("auth", "User")
    Centre = old.get_model("onco_hdf", "Centre")
    Version = old.get_model("habilitations", "CatalogueVersion")
    Sheet = old.get_model("habilitations", "HabilitationSheet")
    Transition = old.get_model("habilitations", "SheetTransition")
    user = User.objects.create(username="dr.martin", first_name="Léa", last_name="Martin")
    centre = Centre.objects.create(
        name="CHU test", finess="590000009", city="Lille", departement="59", sector="public"
    )
    version = Version.objects.create(number=1, label="Catalogue régional")
    sheet = Sheet.objects.create(
        physician=user,
        centre=centre,
        catalogue_version=version,
        post="PH",
        rpps="12345678901",
        start_date=dt.date(2025, 1, 1),
        rp_training_date=dt.date(2025, 1, 1),
        rp_training_expiry=dt.date(2030, 1, 1),
        status="submitted",
    )
    steps = [
        ("create", "", "draft", None, ""),
        ("submit", "draft", "submitted", user, "Fiche prête pour validation"),
    ]
    for action, source, target, actor, comment in steps:
        Transition.objects.create(
            sheet=sheet,
            action=action,
            from_status=source,
            to_status=target,
            actor=actor,
            comment=comment,
        )
    before = list(
        Transition.objects.order_by("pk").values_list(
            "pk", "action", "from_status", "to_status", "actor_id", "comment", "at"
        )
    )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    after = list(
        new.get_model("habilitations", "SheetTransition")
        .objects.order_by("pk")
        .values_list("pk", "action", "from_status", "to_status", "actor_id", "comment", "at")
    )
    assert after == before
    assert len(after) == 2 and after[1][4] == user.pk
    field = new.get_model("habilitations", "SheetTransition")._meta.get_field("to_status")
    assert field.max_length == 30
