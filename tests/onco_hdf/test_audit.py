"""Reads of centre data are recorded (actor, centre, object, UTC); history is append-only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from onco_hdf.audit import audit_read, secure_database
from onco_hdf.models import Centre, Job, ReadAudit
from tests.requirements import need_postgres


@pytest.fixture
def demo(demo_data):
    client = Client()
    client.force_login(get_user_model().objects.get(username="cheffe.projet"))
    return client


def _last(object_type: str) -> ReadAudit:
    return ReadAudit.objects.filter(object_type=object_type).latest("pk")


def _assert_recorded(entry: ReadAudit, *, action: str, obj=None, centre=None):
    assert entry.actor == "cheffe.projet"
    assert entry.actor_id == get_user_model().objects.get(username="cheffe.projet").pk
    assert entry.action == action
    if obj is not None:
        assert entry.object_id == str(obj.pk)
    if centre is not None:
        assert (entry.centre_id, entry.centre) == (centre.pk, str(centre))
    assert entry.at.utcoffset() == dt.timedelta(0)  # stored and read back in UTC
    assert timezone.now() - entry.at < dt.timedelta(minutes=5)


class TestReadsOfTheDemo:
    """On the demo of every app, seeded once for both tests."""

    @pytest.mark.django_db
    def test_reads_of_centre_data_are_recorded(self, demo):
        from contouring.models import Submission
        from habilitations.models import HabilitationSheet
        from surveys.models import Campaign, Response

        response = Response.objects.exclude(centre=None).first()
        assert demo.get(reverse("surveys:response-detail", args=[response.pk])).status_code == 200
        _assert_recorded(
            _last("surveys.response"), action="view", obj=response, centre=response.centre
        )

        campaign = Campaign.objects.first()
        export = demo.get(reverse("surveys:campaign-export", args=[campaign.pk, "csv"]))
        assert export.status_code == 200
        entry = _last("surveys.campaign")
        _assert_recorded(entry, action="export", obj=campaign)
        assert entry.detail == "csv" and entry.centre_id is None

        submission = Submission.objects.first()
        assert (
            demo.get(reverse("contouring:submission-detail", args=[submission.pk])).status_code
            == 200
        )
        _assert_recorded(
            _last("contouring.submission"), action="view", obj=submission, centre=submission.centre
        )

        sheet = HabilitationSheet.objects.first()
        assert demo.get(reverse("habilitations:sheet-detail", args=[sheet.pk])).status_code == 200
        _assert_recorded(
            _last("habilitations.habilitationsheet"), action="view", obj=sheet, centre=sheet.centre
        )
        assert demo.get(reverse("habilitations:sheet-pdf", args=[sheet.pk])).status_code == 200
        _assert_recorded(
            _last("habilitations.habilitationsheet"),
            action="download",
            obj=sheet,
            centre=sheet.centre,
        )

    @pytest.mark.django_db
    def test_a_report_download_is_recorded(self, demo):
        user = get_user_model().objects.get(username="cheffe.projet")
        job = Job.objects.create(kind="report", label="Rapport", created_by=user, status="done")
        job.result_file.save("rapport.pdf", ContentFile(b"%PDF-1.4"))
        download = demo.get(reverse("onco_hdf:job-result", args=[job.pk]))
        assert download.status_code == 200
        entry = _last("onco_hdf.job")
        _assert_recorded(entry, action="download", obj=job)
        assert entry.detail == "rapport.pdf"


@pytest.mark.django_db
def test_reads_refused_by_scoping_are_not_recorded(oncologist_b, centre_a):
    from surveys import services
    from tests.conftest import login
    from tests.surveys.factories import CampaignFactory, invite

    campaign = CampaignFactory()
    campaign.centres.set([centre_a])
    invitation, _token = invite(campaign, centre_a)
    response = services.response_open(
        campaign=campaign, centre=centre_a, actor=services.Actor.for_invitation(invitation)
    )
    url = reverse("surveys:response-detail", args=[response.pk])
    assert login(oncologist_b).get(url).status_code == 404
    assert not ReadAudit.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_history_rows_cannot_be_updated_or_deleted_on_postgresql(pm, oncologist_a):
    need_postgres()
    centre = Centre.objects.create(name="Centre audité", short_name="Aud", finess="590000099")
    entry = audit_read(user=pm, obj=centre)
    history = centre.history.model.objects.filter(id=centre.pk)
    for attempt in (
        lambda: ReadAudit.objects.filter(pk=entry.pk).update(actor="quelqu'un d'autre"),
        lambda: ReadAudit.objects.filter(pk=entry.pk).delete(),
        lambda: history.update(name="réécrit"),
        lambda: history.delete(),
    ):
        with (
            pytest.raises(DatabaseError, match="cannot be changed or deleted"),
            transaction.atomic(),
        ):
            attempt()
    assert ReadAudit.objects.get(pk=entry.pk).actor == "pm"
    assert history.get().name == "Centre audité"
    # Deleting an account still works: only its name in the history becomes NULL.
    centre.name = "Centre renommé"
    centre._history_user = oncologist_a
    centre.save()
    oncologist_a.delete()
    assert centre.history.model.objects.filter(id=centre.pk, history_user=None).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_app_role_cannot_change_history_nor_its_protection(pm, settings):
    """Production runs as a role that owns no table (README "Security"): granted by
    ``migrate``'s post_migrate step, it reads and writes rows, yet cannot rewrite history,
    nor drop, disable or replace the trigger, nor truncate (which skips row triggers)."""
    need_postgres()
    role = f"{connection.settings_dict['NAME']}_app"[:63]
    quoted = connection.ops.quote_name(role)
    centre = Centre.objects.create(name="Centre audité", short_name="Aud", finess="590000098")
    entry = audit_read(user=pm, obj=centre)
    history_table = centre.history.model._meta.db_table
    with connection.cursor() as cursor:
        # Created inside the test's transaction: the role and its grants are rolled back.
        cursor.execute(f"CREATE ROLE {quoted} NOLOGIN")
        settings.DATABASE_APP_ROLE = role
        secure_database()
        cursor.execute("CREATE TABLE onco_test_later_table (id bigserial PRIMARY KEY, x int)")
        cursor.execute(f"SET ROLE {quoted}")
        try:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == role
            # Row access works, on a table migrations create later too.
            later = audit_read(user=pm, obj=centre)
            centre.name = "Centre renommé"
            centre.save()
            cursor.execute("INSERT INTO onco_test_later_table (x) VALUES (1) RETURNING id")
            assert cursor.fetchone()[0] == 1
            refused = {
                "UPDATE onco_hdf_readaudit SET actor = 'x'": "cannot be changed or deleted",
                f"DELETE FROM {history_table}": "cannot be changed or deleted",  # noqa: S608
                "TRUNCATE onco_hdf_readaudit": "permission denied",
                f"TRUNCATE {history_table}": "permission denied",
                "DROP TRIGGER onco_hdf_append_only ON onco_hdf_readaudit": "must be owner",
                f"ALTER TABLE {history_table} DISABLE TRIGGER onco_hdf_append_only": (
                    "must be owner"
                ),
                "ALTER TABLE onco_hdf_readaudit DISABLE TRIGGER ALL": "must be owner",
                "DROP FUNCTION onco_hdf_history_append_only() CASCADE": "must be owner",
                "CREATE OR REPLACE FUNCTION onco_hdf_history_append_only() RETURNS trigger "
                "AS $$ BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql": "permission denied",
                "CREATE TABLE onco_test_by_app (id int)": "permission denied",
                "SET session_replication_role = replica": "permission denied",
            }
            for sql, message in refused.items():
                with pytest.raises(DatabaseError, match=message), transaction.atomic():
                    cursor.execute(sql)
        finally:
            cursor.execute("RESET ROLE")
    assert ReadAudit.objects.filter(pk__in=[entry.pk, later.pk]).count() == 2
    assert ReadAudit.objects.get(pk=entry.pk).actor == "pm"
    assert list(centre.history.order_by("history_id").values_list("name", flat=True)) == [
        "Centre audité",
        "Centre renommé",
    ]
