"""Convention and crisis transitions on the shared workflow: the moves are recorded by the
shared helper (who, when, from, to), a forbidden move is refused in French, and the
migration keeps the rows of a database populated before it (``user`` renamed ``actor``,
same dates and comments)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from cyber_continuity import services
from cyber_continuity.models import (
    ConventionStatus,
    ConventionTransition,
    CrisisStatus,
    CrisisTransition,
)
from onco_hdf import workflow
from tests.conftest import login

BEFORE = [("cyber_continuity", "0010_machine_capacity")]
AFTER = [("cyber_continuity", "0011_transitions_on_shared_workflow")]


@pytest.mark.django_db
def test_convention_moves_are_shared_records_and_a_forbidden_move_is_refused(
    convention_ab, referent_a
):
    services.convention_transition(
        convention=convention_ab, to_status=ConventionStatus.NEGOTIATION, user=referent_a
    )
    with pytest.raises(workflow.TransitionError, match="ne peut pas passer de « Négociation »"):
        services.convention_transition(
            convention=convention_ab, to_status=ConventionStatus.IN_FORCE, user=referent_a
        )
    steps = list(
        ConventionTransition.objects.filter(convention=convention_ab).values_list(
            "from_status", "to_status", "actor"
        )
    )
    assert steps == [("", "draft", referent_a.pk), ("draft", "negotiation", referent_a.pk)]
    assert isinstance(convention_ab.transitions.first(), workflow.TransitionRecord)
    url = reverse("cyber_continuity:convention-detail", args=[convention_ab.pk])
    page = login(referent_a).get(url).content.decode()
    assert "Négociation" in page and "Referent Test" in page


@pytest.mark.django_db
def test_crisis_moves_are_shared_records_dated_from_the_alert(centre_a, referent_a):
    alert = dt.datetime(2026, 3, 12, 3, 10, tzinfo=dt.UTC)
    crisis = services.crisis_declare(
        centre=centre_a,
        systems_down=["ois"],
        description="Rançongiciel",
        user=referent_a,
        started_at=alert,
    )
    assert crisis.status == CrisisStatus.DECLARED and crisis.declared_by == referent_a
    with pytest.raises(workflow.TransitionError, match="ne peut pas passer de « Déclarée »"):
        services.crisis_transition(crisis=crisis, to_status=CrisisStatus.LIFTED, user=referent_a)
    steps = list(crisis.transitions.values_list("from_status", "to_status", "actor", "at"))
    assert steps[0] == ("", "alert", referent_a.pk, alert)
    assert steps[1][:3] == ("alert", "declared", referent_a.pk)
    assert abs(steps[1][3] - crisis.declared_at) < dt.timedelta(seconds=1)
    assert CrisisTransition.objects.filter(crisis=crisis).count() == 2


@pytest.mark.django_db(transaction=True)
def test_migration_keeps_convention_and_crisis_transitions():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    User = old.get_model("auth", "User")
    Centre = old.get_model("onco_hdf", "Centre")
    Template = old.get_model("cyber_continuity", "ConventionTemplate")
    Version = old.get_model("cyber_continuity", "ConventionTemplateVersion")
    Convention = old.get_model("cyber_continuity", "Convention")
    Crisis = old.get_model("cyber_continuity", "Crisis")
    OldConventionTransition = old.get_model("cyber_continuity", "ConventionTransition")
    OldCrisisTransition = old.get_model("cyber_continuity", "CrisisTransition")

    referent = User.objects.create(username="ref", first_name="Paul", last_name="Durand")
    centre = Centre.objects.create(
        name="CHU test", finess="590000009", city="Lille", departement="59", sector="public"
    )
    template = Template.objects.create(title="Convention type")
    version = Version.objects.create(template=template, number=1)
    convention = Convention.objects.create(
        title="Lille – Amiens", template_version=version, status="in_force"
    )
    crisis = Crisis.objects.create(centre=centre, status="declared")
    day = dt.datetime(2026, 3, 12, 9, 0, tzinfo=dt.UTC)
    for hours, frm, to, user, comment in [
        (0, "", "draft", referent, ""),
        (5, "draft", "negotiation", referent, "Ouverte"),
        (30, "awaiting_signature", "in_force", None, "Automatique"),
    ]:
        OldConventionTransition.objects.create(
            convention=convention,
            from_status=frm,
            to_status=to,
            user=user,
            comment=comment,
            at=day + dt.timedelta(hours=hours),
        )
    for minutes, frm, to in [(0, "", "alert"), (25, "alert", "declared")]:
        OldCrisisTransition.objects.create(
            crisis=crisis,
            from_status=frm,
            to_status=to,
            user=referent,
            at=day + dt.timedelta(minutes=minutes),
        )
    columns = ["pk", "from_status", "to_status", "user_id", "comment", "at"]
    before_conventions = list(
        OldConventionTransition.objects.order_by("pk").values_list(*columns, "convention_id")
    )
    before_crises = list(
        OldCrisisTransition.objects.order_by("pk").values_list(*columns, "crisis_id")
    )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    columns[3] = "actor_id"
    after_conventions = list(
        new.get_model("cyber_continuity", "ConventionTransition")
        .objects.order_by("pk")
        .values_list(*columns, "convention_id")
    )
    after_crises = list(
        new.get_model("cyber_continuity", "CrisisTransition")
        .objects.order_by("pk")
        .values_list(*columns, "crisis_id")
    )
    assert after_conventions == before_conventions and len(after_conventions) == 3
    assert after_conventions[1][3] == referent.pk and after_conventions[2][3] is None
    assert after_conventions[2][5] == day + dt.timedelta(hours=30)
    assert after_crises == before_crises and after_crises[1][3] == referent.pk
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
