"""COPIL meeting pack (agenda, items with version diffs, dashboard, open actions) and the
minutes after the meeting, as PDFs."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from pypdf import PdfReader

from onco_hdf import governance, pdf, services
from onco_hdf.governance_reports import build_copil_pack_context
from onco_hdf.models import CopilAction, CopilMeeting, Job, Milestone, Outcome
from surveys import services as survey_services
from surveys.models import Question
from tests.conftest import login
from tests.surveys.factories import questionnaire_data

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return " ".join(text.split())


def meeting(pm, copil, *, days=0, title="COPIL") -> CopilMeeting:
    return services.copil_meeting_save(
        meeting=CopilMeeting(
            held_on=timezone.localdate() + dt.timedelta(days=days),
            title=title,
            agenda="Validation du questionnaire v2\nPoint sur la convention type",
            quorum=2,
        ),
        attendees=[pm, copil],
        user=pm,
    )


@pytest.fixture
def versions(pm, copil):
    """v1 validated at a past COPIL; v2 with one question relabelled, on the next agenda."""
    v1 = survey_services.questionnaire_import(data=questionnaire_data())
    past = meeting(pm, copil, days=-30, title="COPIL de janvier")
    decision = services.copil_decision_add(meeting=past, artefact=v1, summary="", user=pm)
    services.copil_decision_record(decision=decision, outcome=Outcome.VALIDATED, user=pm)
    services.copil_meeting_close(meeting=past, user=pm)
    survey_services.version_publish(version=v1, user=pm)
    v2 = survey_services.version_new_draft(version=v1, user=pm)
    question = Question.objects.filter(section__version=v2).order_by("pk").first()
    old_label = question.label
    question.label = "Quelle solution de contourage utilisez-vous en 2026 ?"
    question.save()
    return v1, v2, old_label


def test_version_diff_since_the_last_validated_version(versions):
    v1, v2, old_label = versions
    assert governance.previous_validated(v2) == v1
    diff = governance.version_diff(v2)
    assert diff.base_label == "v1"
    assert any("Quelle solution de contourage utilisez-vous en 2026 ?" in a for a in diff.added)
    assert any(old_label in r for r in diff.removed)
    assert governance.version_diff(v1).base_label == ""  # nothing validated before v1


def test_meeting_pack_pdf(pm, copil, versions):
    _v1, v2, old_label = versions
    upcoming = meeting(pm, copil, days=14, title="COPIL de mars")
    decision = services.copil_decision_add(
        meeting=upcoming, artefact=v2, summary="Une question reformulée.", user=pm
    )
    services.copil_decision_comment(decision=decision, user=copil, text="Reformulation claire.")
    services.copil_action_add(
        meeting=upcoming,
        title="Relancer les centres sans réponse",
        owner="Cheffe de projet",
        due_on=dt.date(2026, 4, 1),
        user=pm,
    )
    Milestone.objects.create(
        project="surveys", title="Clôture de l’enquête", due_on=dt.date.today()
    )
    context = build_copil_pack_context(meeting=upcoming, user=pm)
    text = pdf_text(pdf.render_pdf("reports/onco_hdf/copil_pack.html", context))
    assert "Dossier de séance du COPIL" in text
    assert "Validation du questionnaire v2" in text  # agenda
    assert "Une question reformulée." in text  # summary
    assert "Changements depuis la version validée v1" in text
    assert "+ " in text and "Quelle solution de contourage utilisez-vous en 2026 ?" in text
    assert old_label in text
    assert "Reformulation claire." in text
    assert "Jalons des projets" in text and "Clôture de l’enquête" in text
    assert "Participation des centres" in text
    assert "Actions ouvertes" in text and "Relancer les centres sans réponse" in text
    assert "01/04/2026" in text


def test_pack_and_minutes_as_background_reports(
    pm, copil, versions, django_capture_on_commit_callbacks
):
    _v1, v2, _old = versions
    held = meeting(pm, copil, title="COPIL de février")
    decision = services.copil_decision_add(meeting=held, artefact=v2, summary="", user=pm)
    client = login(pm)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/rapports/onco_hdf.copil_minutes/generer/", {"p_meeting": held.pk})
    job = Job.objects.latest("pk")
    assert job.status == "failed" and "Enregistrez la décision de chaque point" in job.message
    services.copil_decision_record(
        decision=decision,
        outcome=Outcome.VALIDATED_WITH_RESERVATIONS,
        reservations="Traduire la question Q1.",
        council_opinion="favourable",
        council_opinion_on=dt.date(2026, 2, 2),
        council_text="Méthodologie conforme.",
        user=pm,
    )
    services.copil_action_add(meeting=held, title="Publier la v2", user=pm)
    services.copil_meeting_close(meeting=held, user=pm)
    page = client.get(f"/copil/reunions/{held.pk}/").content.decode()
    assert "onco_hdf.copil_minutes" in page and "onco_hdf.copil_pack" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/rapports/onco_hdf.copil_minutes/generer/", {"p_meeting": held.pk})
    job = Job.objects.latest("pk")
    assert job.status == "done", job.message
    text = pdf_text(job.result_file.read())
    assert "Compte rendu du COPIL" in text
    assert "Validé avec réserves" in text and "Traduire la question Q1." in text
    assert "Favorable (02/02/2026)" in text and "Méthodologie conforme." in text
    assert "Publier la v2" in text
    assert "2 présents, 2 requis" in text
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/rapports/onco_hdf.copil_pack/generer/", {"p_meeting": "999999"})
    job = Job.objects.latest("pk")
    assert job.status == "failed" and "n’existe pas" in job.message


def test_actions_are_added_and_closed_by_the_project_manager(pm, copil):
    held = meeting(pm, copil)
    client = login(pm)
    bad = client.post(f"/copil/reunions/{held.pk}/actions/ajouter/", {"owner": "ARS"})
    assert bad.status_code == 400 and 'value="ARS"' in bad.content.decode()
    client.post(f"/copil/reunions/{held.pk}/actions/ajouter/", {"title": "Écrire aux centres"})
    action = CopilAction.objects.get()
    assert login(copil).post(f"/copil/actions/{action.pk}/terminer/").status_code == 403
    client.post(f"/copil/actions/{action.pk}/terminer/")
    action.refresh_from_db()
    assert action.done_on == timezone.localdate()
    assert client.post(f"/copil/actions/{action.pk}/terminer/").status_code == 404
