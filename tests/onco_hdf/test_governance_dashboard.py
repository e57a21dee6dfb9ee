"""Steering dashboard (milestones, next COPIL, participation matrix, trends, PDF) and the
other roles' to-do home pages."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.utils import timezone
from pypdf import PdfReader

from habilitations.models import SheetStatus
from onco_hdf import dashboard, pdf, services
from onco_hdf.models import CopilMeeting, Milestone, MilestoneStatus
from surveys import services as survey_services
from surveys.models import Response, ResponseStatus
from tests.conftest import login, make_user
from tests.habilitations.factories import catalogue, make_sheet
from tests.surveys.factories import CampaignFactory, questionnaire_data

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def campaign(centre_a, centre_b):
    campaign = CampaignFactory()
    campaign.centres.set([centre_a, centre_b])
    Response.objects.create(
        campaign=campaign,
        centre=centre_a,
        unit_key=f"centre:{centre_a.pk}",
        status=ResponseStatus.SUBMITTED,
        submitted_at=timezone.now(),
    )
    return campaign


def test_milestones_late_in_red_and_managed_by_the_project_manager(pm, copil):
    today = timezone.localdate()
    client = login(pm)
    bad = client.post("/copil/jalons/", {"project": "surveys", "title": "Rapport", "due_on": ""})
    assert bad.status_code == 400 and 'value="Rapport"' in bad.content.decode()
    client.post(
        "/copil/jalons/",
        {
            "project": "surveys",
            "title": "Clôture de la campagne",
            "due_on": (today - dt.timedelta(days=3)).strftime("%d/%m/%Y"),
            "status": "in_progress",
        },
    )
    late = Milestone.objects.get()
    Milestone.objects.create(
        project="habilitations",
        title="Catalogue validé",
        due_on=today - dt.timedelta(days=9),
        status=MilestoneStatus.DONE,
        done_on=today - dt.timedelta(days=10),
    )
    page = login(copil).get("/").content.decode()
    row = re.search(r'<tr class="milestone-late">(.*?)</tr>', page, re.S).group(1)
    assert "Clôture de la campagne" in row and "en retard" in row
    assert page.count('class="milestone-late"') == 1  # the done one is not late
    assert "1 en retard" in text_of(login(copil).get("/"))
    assert login(copil).post("/copil/jalons/", {"title": "x"}).status_code == 403
    client.post(
        f"/copil/jalons/{late.pk}/modifier/",
        {
            "project": "surveys",
            "title": late.title,
            "due_on": late.due_on.isoformat(),
            "status": "done",
        },
    )
    late.refresh_from_db()
    assert late.status == MilestoneStatus.DONE and late.done_on == today


def test_next_copil_and_what_awaits_its_decision(pm, copil):
    meeting = services.copil_meeting_save(
        meeting=CopilMeeting(
            held_on=timezone.localdate() + dt.timedelta(days=12),
            title="COPIL de juin",
            agenda="Questionnaire",
        ),
        attendees=[pm, copil],
        user=pm,
    )
    version = survey_services.questionnaire_import(data=questionnaire_data())
    services.copil_decision_add(meeting=meeting, artefact=version, summary="", user=pm)
    text = text_of(login(copil).get("/"))
    day = meeting.held_on.strftime("%d/%m/%Y")
    assert f"Prochain COPIL COPIL de juin — {day}" in text
    assert "Version de questionnaire — Questionnaire de test — v1" in text


def test_participation_matrix_cells_link_to_details_and_filter(copil, campaign, centre_a):
    page = login(copil).get("/").content.decode()
    matrix = page[page.index('id="participation"') :]
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</tr>", matrix, re.S)
    by_centre = {re.sub(r"<[^>]+>", "", r.split("</th>")[0]).strip(): r for r in rows}
    assert set(by_centre) == {"A", "B"}
    results = f'href="/enquetes/campagnes/{campaign.pk}/resultats/"'
    assert results in by_centre["A"] and "envoyée" in by_centre["A"]
    assert "non commencée" in by_centre["B"]
    assert "Réponse à l’enquête" in matrix and "Fiches d’habilitation" in matrix
    filtered = login(copil).get("/", {"departement": "59"}).content.decode()
    filtered = filtered[filtered.index('id="participation"') :]
    assert ">A<" in filtered and ">B<" not in filtered
    only_surveys = login(copil).get("/", {"projet": "surveys"}).content.decode()
    assert "Dépôts de contours" not in only_surveys
    # Junk filters are ignored, never an error.
    assert login(copil).get("/", {"departement": "zz", "secteur": "<x>"}).status_code == 200


def test_trends_are_svg_charts(copil, campaign):
    page = login(copil).get("/").content.decode()
    assert "Réponses à l’enquête envoyées par semaine" in page
    assert "Fiches d’habilitation validées par mois" in page
    assert page.count("<svg") >= 3  # sector chart + two trends


def test_dashboard_pdf_has_milestones_matrix_and_trends(pm, campaign):
    Milestone.objects.create(
        project="contouring", title="Dépôt des RTSTRUCT", due_on=dt.date(2026, 1, 15)
    )

    class Job:
        created_by = pm

    spec = dashboard.build_dashboard_report(job=Job(), report=lambda *a: None)
    content = pdf.render_pdf(spec.template_name, spec.context)
    text = " ".join(
        "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages).split()
    )
    assert "Jalons des projets" in text and "Dépôt des RTSTRUCT" in text
    assert "15/01/2026" in text and "en retard" in text
    assert "Participation des centres" in text and "non commencée" in text
    assert "Réponses à l’enquête envoyées par semaine" in text


def test_oncologist_home_is_a_to_do_list(oncologist_a, campaign, centre_a):
    version = catalogue()
    sheet = make_sheet(
        oncologist_a,
        centre_a,
        version=version,
        status=SheetStatus.ACTIVE,
        rp_training_expiry=timezone.localdate() + dt.timedelta(days=42),
    )
    Response.objects.filter(centre=centre_a).update(status=ResponseStatus.IN_PROGRESS)
    page = login(oncologist_a).get("/").content.decode()
    todo = text_of(login(oncologist_a).get("/"))
    assert "Réponse de votre centre à l’enquête : 1 section restante — continuer" in todo
    assert "Votre fiche d’habilitation expire dans 42 jours" in todo
    assert f'href="/habilitations/fiches/{sheet.pk}/"' in page
    assert "Tableau de bord régional" not in todo


def test_head_of_department_sees_the_sheets_to_validate(head_a, oncologist_a, centre_a):
    catalogue()
    make_sheet(oncologist_a, centre_a, status=SheetStatus.SUBMITTED)
    todo = text_of(login(head_a).get("/"))
    assert "1 fiche d’habilitation à valider — valider" in todo


def test_referent_sees_conventions_awaiting_signature(pm, referent_a, centre_a, centre_b):
    from cyber_continuity import services as cyber

    template = cyber.template_create(title="Convention type", user=pm)
    version = cyber.template_version_publish(version=template.versions.get(), user=pm)
    convention = cyber.convention_create(
        template_version=version, centres=[centre_a, centre_b], title="Entraide", user=referent_a
    )
    convention.status = "awaiting_signature"
    convention.save()
    other = make_user("physicist_home", "physicist", centre_a)
    assert "Entraide" not in text_of(login(other).get("/"))
    todo = text_of(login(referent_a).get("/"))
    assert "La convention « Entraide » attend la signature de votre centre — signer" in todo
