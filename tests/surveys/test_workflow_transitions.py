"""Survey transitions on the shared workflow: a questionnaire version's publication and
closing are recorded (who, when, from, to), a forbidden move is refused in French, and
the migration keeps the response transitions (``by`` renamed ``actor``) and rebuilds the
version moves from the history of a database populated before it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from surveys import services
from surveys.models import VersionStatus, VersionTransition
from tests.conftest import login
from tests.surveys.factories import questionnaire_data

BEFORE = [("surveys", "0010_campaign_text_themes")]
AFTER = [("surveys", "0011_transitions_on_shared_workflow")]


@pytest.mark.django_db
def test_publishing_and_closing_a_version_are_recorded(pm):
    version = services.questionnaire_import(data=questionnaire_data())
    with pytest.raises(services.SurveyError, match="Seule une version publiée peut être clôturée"):
        services.version_close(version=version, user=pm)
    services.version_publish(version=version, user=pm)
    with pytest.raises(services.SurveyError, match="publiée et figée"):
        services.version_publish(version=version, user=pm)
    services.version_close(version=version, user=pm)
    version.refresh_from_db()
    assert version.status == VersionStatus.CLOSED and version.published_at is not None
    steps = list(
        VersionTransition.objects.filter(version=version).values_list(
            "from_status", "to_status", "actor"
        )
    )
    assert steps == [("draft", "published", pm.pk), ("published", "closed", pm.pk)]
    assert all(step.at is not None for step in version.transitions.all())
    page = login(pm).get(reverse("surveys:version-detail", args=[version.pk])).content.decode()
    assert "Brouillon → Publiée (Pm Test)" in page and "Publiée → Clôturée (Pm Test)" in page


@pytest.mark.django_db(transaction=True)
def test_migration_keeps_response_transitions_and_rebuilds_version_moves():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    User = old.get_model("auth", "User")
    Centre = old.get_model("onco_hdf", "Centre")
    Questionnaire = old.get_model("surveys", "Questionnaire")
    Version = old.get_model("surveys", "QuestionnaireVersion")
    Historical = old.get_model("surveys", "HistoricalQuestionnaireVersion")
    Campaign = old.get_model("surveys", "Campaign")
    Response = old.get_model("surveys", "Response")
    Transition = old.get_model("surveys", "ResponseTransition")

    pm = User.objects.create(username="cheffe", first_name="Anne", last_name="Leroy")
    doctor = User.objects.create(username="dr.martin", first_name="Léa", last_name="Martin")
    centre = Centre.objects.create(
        name="CHU test", finess="590000009", city="Lille", departement="59", sector="public"
    )
    questionnaire = Questionnaire.objects.create(code="enquete", title="Enquête")
    published = Version.objects.create(
        questionnaire=questionnaire, number=1, title="Enquête", status="closed"
    )
    draft = Version.objects.create(questionnaire=questionnaire, number=2, title="Enquête v2")
    day = dt.datetime(2026, 3, 12, 9, 0, tzinfo=dt.UTC)

    def history(version, status, kind, hours, user):
        Historical.objects.create(
            id=version.pk,
            questionnaire_id=questionnaire.pk,
            number=version.number,
            title=version.title,
            introduction="",
            status=status,
            created_at=day,
            history_date=day + dt.timedelta(hours=hours),
            history_type=kind,
            history_user=user,
        )

    history(published, "draft", "+", 0, pm)
    history(published, "draft", "~", 1, pm)  # an edit, no move
    history(published, "published", "~", 2, pm)
    history(published, "closed", "~", 30, None)
    history(draft, "draft", "+", 40, pm)

    campaign = Campaign.objects.create(
        version=published,
        title="Campagne 2026",
        opens_on=dt.date(2026, 3, 1),
        closes_on=dt.date(2026, 4, 1),
    )
    response = Response.objects.create(
        campaign=campaign, centre=centre, unit_key=f"centre:{centre.pk}", status="submitted"
    )
    Transition.objects.create(
        response=response, to_status="in_progress", by=doctor, by_label="Léa Martin"
    )
    Transition.objects.create(
        response=response,
        from_status="in_progress",
        to_status="submitted",
        by=doctor,
        by_label="Léa Martin",
        comment="Envoyée",
    )
    before = list(
        Transition.objects.order_by("pk").values_list(
            "pk", "from_status", "to_status", "by_id", "by_label", "comment", "at"
        )
    )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    after = list(
        new.get_model("surveys", "ResponseTransition")
        .objects.order_by("pk")
        .values_list("pk", "from_status", "to_status", "actor_id", "by_label", "comment", "at")
    )
    assert after == before
    assert after[1][3] == doctor.pk
    moves = list(
        new.get_model("surveys", "VersionTransition")
        .objects.order_by("at")
        .values_list("version_id", "from_status", "to_status", "actor_id", "at")
    )
    assert moves == [
        (published.pk, "draft", "published", pm.pk, day + dt.timedelta(hours=2)),
        (published.pk, "published", "closed", None, day + dt.timedelta(hours=30)),
    ]
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
