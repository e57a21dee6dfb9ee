"""Generated minutes are kept on the meeting: each generation (or upload) is a new version,
the latest is the meeting's minutes, every version stays downloadable."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from onco_hdf import services, signing
from onco_hdf.models import CopilMeeting, CopilMinutes, Job, JobStatus, MinutesSource
from tests.conftest import login

BEFORE = [("onco_hdf", "0008_read_audit")]
AFTER = [("onco_hdf", "0009_copil_minutes_versions")]


def held_meeting(pm, copil) -> CopilMeeting:
    meeting = services.copil_meeting_save(
        meeting=CopilMeeting(
            held_on=timezone.localdate() - dt.timedelta(days=1),
            title="COPIL de mars",
            agenda="Point d’étape",
            quorum=2,
        ),
        attendees=[pm, copil],
        user=pm,
    )
    services.copil_action_add(meeting=meeting, title="Relancer les centres", user=pm)
    return services.copil_meeting_close(meeting=meeting, user=pm)


def generate(client, meeting, capture) -> Job:
    with capture(execute=True):
        response = client.post(
            reverse("onco_hdf:report-start", args=["onco_hdf.copil_minutes"]),
            {"p_meeting": str(meeting.pk)},
        )
    assert response.status_code == 302
    job = Job.objects.latest("pk")
    assert job.status == JobStatus.DONE, job.message
    return job


def downloaded(response) -> bytes:
    assert response.status_code == 200
    return b"".join(response.streaming_content)


@pytest.mark.django_db
def test_generating_the_minutes_stores_them_on_the_meeting_as_a_new_version(
    pm, copil, django_capture_on_commit_callbacks
):
    meeting = held_meeting(pm, copil)
    client = login(pm)
    job = generate(client, meeting, django_capture_on_commit_callbacks)
    first = CopilMinutes.objects.get()
    assert (first.number, first.source, first.job, first.created_by) == (
        1,
        MinutesSource.GENERATED,
        job,
        pm,
    )
    content = job.result_file.read()
    assert first.sha256 == hashlib.sha256(content).hexdigest()
    meeting.refresh_from_db()
    assert meeting.minutes_file.name == first.file.name

    page = client.get(reverse("onco_hdf:copil-meeting-detail", args=[meeting.pk])).content
    page = page.decode()
    assert "Télécharger le compte rendu (PDF)" in page
    assert reverse("onco_hdf:copil-minutes-version", args=[meeting.pk, 1]) in page
    current = downloaded(client.get(reverse("onco_hdf:copil-minutes-download", args=[meeting.pk])))
    assert current == content
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(current)).pages)
    assert "Compte rendu du COPIL" in text and "Relancer les centres" in text
    # Official minutes: sealed by the platform, and the copy kept on the meeting verifies.
    assert "Signatures et sceau de la plateforme" in text
    outcome = signing.verify_pdf(current)
    assert outcome.ok, outcome.reason
    assert outcome.issued.object_type == "onco_hdf.copilmeeting"

    # A second generation is version 2, now the current one; version 1 is kept.
    services.copil_action_add(meeting=meeting, title="Publier le rapport", user=pm)
    second_job = generate(client, meeting, django_capture_on_commit_callbacks)
    assert list(meeting.minutes_versions.values_list("number", flat=True)) == [2, 1]
    meeting.refresh_from_db()
    assert meeting.minutes_file.name == meeting.minutes_versions.get(number=2).file.name
    v1 = downloaded(client.get(reverse("onco_hdf:copil-minutes-version", args=[meeting.pk, 1])))
    assert v1 == content
    latest = downloaded(client.get(reverse("onco_hdf:copil-minutes-download", args=[meeting.pk])))
    assert latest == second_job.result_file.read()
    assert "Publier le rapport" in "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(latest)).pages
    )

    # An uploaded (signed) PDF is version 3.
    services.copil_meeting_minutes_upload(
        meeting=meeting, upload=SimpleUploadedFile("cr.pdf", b"%PDF-1.4 signe\n%%EOF"), user=pm
    )
    third = meeting.minutes_versions.get(number=3)
    assert third.source == MinutesSource.UPLOADED
    latest = downloaded(client.get(reverse("onco_hdf:copil-minutes-download", args=[meeting.pk])))
    assert latest == b"%PDF-1.4 signe\n%%EOF"
    page = client.get(reverse("onco_hdf:copil-meeting-detail", args=[meeting.pk])).content
    assert "Version 3</a> — Déposé" in page.decode()


@pytest.mark.django_db
def test_a_copil_member_generating_the_minutes_gets_a_copy_only(
    pm, copil, django_capture_on_commit_callbacks
):
    meeting = held_meeting(pm, copil)
    generate(login(copil), meeting, django_capture_on_commit_callbacks)
    assert not CopilMinutes.objects.exists()
    meeting.refresh_from_db()
    assert not meeting.minutes_file


@pytest.mark.django_db
def test_permissions_of_a_minutes_version(pm, copil, anonymous, as_persona):
    meeting = held_meeting(pm, copil)
    services.copil_meeting_minutes_upload(
        meeting=meeting, upload=SimpleUploadedFile("cr.pdf", b"%PDF-1.4\n%%EOF"), user=pm
    )
    url = reverse("onco_hdf:copil-minutes-version", args=[meeting.pk, 1])
    response = anonymous.get(url)
    assert response.status_code == 302 and "/compte/connexion/" in response["Location"]
    for persona in ("oncologist_a", "referent_a", "physicist_a"):
        assert as_persona(persona).get(url).status_code == 403
    assert as_persona("copil").get(url).status_code == 200
    assert as_persona("pm").get(url).status_code == 200
    missing = reverse("onco_hdf:copil-minutes-version", args=[meeting.pk, 2])
    assert as_persona("pm").get(missing).status_code == 404
    other = reverse("onco_hdf:copil-minutes-version", args=[meeting.pk + 1, 1])
    assert as_persona("pm").get(other).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_minutes_uploaded_before_the_migration_become_version_1(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    (tmp_path / "copil" / "minutes").mkdir(parents=True)
    (tmp_path / "copil" / "minutes" / "ancien.pdf").write_bytes(b"%PDF-1.4 ancien")
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Meeting = old.get_model("onco_hdf", "CopilMeeting")
    with_minutes = Meeting.objects.create(
        held_on=dt.date(2026, 3, 12),
        title="COPIL de mars",
        agenda="Point",
        minutes_file="copil/minutes/ancien.pdf",
    )
    Meeting.objects.create(held_on=dt.date(2026, 6, 12), title="COPIL de juin", agenda="Point")

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    rows = list(
        new.get_model("onco_hdf", "CopilMinutes").objects.values_list(
            "meeting_id", "number", "file", "source", "sha256"
        )
    )
    assert rows == [
        (
            with_minutes.pk,
            1,
            "copil/minutes/ancien.pdf",
            "uploaded",
            hashlib.sha256(b"%PDF-1.4 ancien").hexdigest(),
        )
    ]
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
