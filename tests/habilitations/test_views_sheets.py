"""Sheet pages: bad input keeps what was typed, uploads are checked, the review flow."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from habilitations import services
from habilitations.models import Evidence, HabilitationSheet, Level, SheetLine, SheetStatus
from tests.conftest import PASSWORD, login, otp_code
from tests.habilitations.factories import make_sheet

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def sheet_form(**overrides):
    data = {
        "physician": "",
        "centre": "",
        "post": "Praticien hospitalier",
        "rpps": "10101010101",
        "diploma": "DES d'oncologie option radiothérapie",
        "diploma_date": "2015-10-01",
        "ordre_council": "Nord",
        "ordre_registration_date": "2015-11-15",
        "start_date": "2025-01-06",
        "rp_training_date": "2024-03-01",
        "rp_training_expiry": "2031-03-01",
    }
    data.update(overrides)
    return data


def test_physician_creates_a_sheet(oncologist_a, centre_a, version):
    client = login(oncologist_a)
    response = client.post(
        reverse("habilitations:sheet-create"),
        sheet_form(physician=oncologist_a.pk, centre=centre_a.pk),
    )
    sheet = HabilitationSheet.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("habilitations:sheet-detail", args=[sheet.pk])
    assert (sheet.physician, sheet.centre, sheet.catalogue_version) == (
        oncologist_a,
        centre_a,
        version,
    )
    page = client.get(response["Location"]).content.decode()
    assert "Fiche d'habilitation" in page and "version 1 du catalogue" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("rpps", "1234567890", "Un numéro RPPS comporte exactement 11 chiffres."),
        ("rpps", "1234567890A", "Un numéro RPPS comporte exactement 11 chiffres."),
        ("rp_training_expiry", "2023-01-01", "doit être postérieure à sa date"),
        ("ordre_registration_date", "2014-01-01", "ne peut pas précéder le diplôme"),
        ("diploma_date", "2099-01-01", "ne peut pas être dans le futur"),
    ],
)
def test_bad_input_is_refused_in_french_and_kept(
    field, value, message, oncologist_a, centre_a, version
):
    data = sheet_form(
        physician=oncologist_a.pk, centre=centre_a.pk, post="Poste saisi", **{field: value}
    )
    response = login(oncologist_a).post(reverse("habilitations:sheet-create"), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert message.replace("'", "&#x27;") in page
    assert "Poste saisi" in page and f'value="{value}"' in page
    assert not HabilitationSheet.objects.exists()


def test_oncologist_cannot_create_a_sheet_for_a_colleague(oncologist_a, head_a, centre_a, version):
    response = login(oncologist_a).post(
        reverse("habilitations:sheet-create"), sheet_form(physician=head_a.pk, centre=centre_a.pk)
    )
    assert response.status_code == 200
    assert not HabilitationSheet.objects.exists()
    response = login(head_a).post(
        reverse("habilitations:sheet-create"),
        sheet_form(physician=oncologist_a.pk, centre=centre_a.pk),
    )
    assert response.status_code == 302
    assert HabilitationSheet.objects.get().physician == oncologist_a


def test_line_form_refuses_autonomy_for_a_new_activity(oncologist_a, head_a, centre_a, version):
    sheet = make_sheet(oncologist_a, centre_a, levels={})
    activity = version.activities.get(code="TECH-SBRT")
    url = reverse("habilitations:line-create", args=[sheet.pk])
    data = {
        "activity": activity.pk,
        "level_requested": Level.AUTONOMOUS,
        "tutor": head_a.pk,
        "supervised_cases": "12",
        "peer_reviewed_contours": "3",
        "courses": "DIU stéréo",
    }
    response = login(oncologist_a).post(url, data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "nouvelle activité pour ce médecin" in page and "DIU stéréo" in page
    data["level_requested"] = Level.SUPERVISED
    assert login(oncologist_a).post(url, data).status_code == 302
    line = sheet.lines.get()
    assert (line.tutor, line.supervised_cases) == (head_a, 12)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("attestation.exe", b"MZ\x90\x00", "Seuls les fichiers PDF, PNG et JPEG sont acceptés."),
        ("faux.pdf", b"<html>not a pdf</html>", "ne correspond pas à son type"),
        ("scan.png", b"%PDF-1.4 in disguise", "ne correspond pas à son type"),
        ("vide.pdf", b"", "vide"),
    ],
)
def test_evidence_type_is_checked(name, content, message, oncologist_a, centre_a, version):
    sheet = make_sheet(oncologist_a, centre_a)
    line = sheet.lines.get()
    response = login(oncologist_a).post(
        reverse("habilitations:evidence-upload", args=[line.pk]),
        {
            "kind": "course",
            "description": "Attestation DIU",
            "file": SimpleUploadedFile(name, content),
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert message in page or "Le fichier soumis est vide" in page
    assert "Attestation DIU" in page
    assert not Evidence.objects.exists()


def test_evidence_size_is_checked(settings, oncologist_a, centre_a, version):
    settings.UPLOAD_MAX_BYTES = 100
    sheet = make_sheet(oncologist_a, centre_a)
    line = sheet.lines.get()
    url = reverse("habilitations:evidence-upload", args=[line.pk])
    response = login(oncologist_a).post(
        url, {"kind": "course", "file": SimpleUploadedFile("grand.png", PNG + b"\x00" * 200)}
    )
    assert "trop volumineux" in response.content.decode()
    assert not Evidence.objects.exists()
    response = login(oncologist_a).post(
        url, {"kind": "course", "file": SimpleUploadedFile("petit.png", PNG)}
    )
    assert response.status_code == 302
    evidence = Evidence.objects.get()
    assert (evidence.original_name, evidence.size) == ("petit.png", len(PNG))
    assert "petit" not in evidence.file.name and evidence.file.name.endswith(".png")
    download = login(oncologist_a).get(
        reverse("habilitations:evidence-download", args=[evidence.pk])
    )
    assert b"".join(download.streaming_content) == PNG
    assert 'filename="petit.png"' in download["Content-Disposition"]


def test_review_returns_with_comment_then_validates(oncologist_a, head_a, centre_a, version):
    sheet = make_sheet(
        oncologist_a, centre_a, status=SheetStatus.SUBMITTED, levels={"CONT-SEIN": Level.SUPERVISED}
    )
    line = sheet.lines.get()
    url = reverse("habilitations:sheet-review", args=[sheet.pk])
    client = login(head_a)
    assert "Examen de la fiche" in client.get(url).content.decode()
    response = client.post(url, {"decision": "return", "comment": ""})
    assert "Un commentaire est obligatoire" in response.content.decode()
    client.post(url, {"decision": "return", "comment": "Joindre le registre."})
    sheet.refresh_from_db()
    assert sheet.status == SheetStatus.DRAFT
    detail = login(oncologist_a).get(reverse("habilitations:sheet-detail", args=[sheet.pk]))
    assert "Joindre le registre." in detail.content.decode()

    services.sheet_transition(sheet=sheet, user=oncologist_a, action="submit")
    prefix = f"line-{line.pk}"
    response = client.post(
        url,
        {
            "decision": "validate",
            "comment": "Bon dossier",
            f"{prefix}-level": Level.AUTONOMOUS,
            f"{prefix}-restrictions": "Hors reprise",
        },
    )
    assert "ne peut pas dépasser le niveau demandé" in response.content.decode()
    assert "Hors reprise" in response.content.decode()
    response = client.post(
        url,
        {
            "decision": "validate",
            "comment": "Bon dossier",
            f"{prefix}-level": Level.SUPERVISED,
            f"{prefix}-expiry_date": "",
            f"{prefix}-restrictions": "Hors reprise",
        },
    )
    # The grants are saved; the validation itself is a signature on its own page.
    sign_url = reverse("habilitations:sheet-sign", args=[sheet.pk, "head"])
    assert response["Location"] == sign_url
    page = client.get(sign_url)
    assert "Bon dossier" in page.content.decode()  # the comment follows
    response = client.post(
        sign_url,
        {
            "expected_hash": page.context["content_hash"],
            "comment": "Bon dossier",
            "password": PASSWORD,
            "otp_token": otp_code(head_a),
        },
    )
    assert response.status_code == 302
    sheet.refresh_from_db()
    line.refresh_from_db()
    assert sheet.status == SheetStatus.HEAD_VALIDATED
    assert sheet.transitions.last().comment == "Bon dossier"
    assert (line.level_granted, line.restrictions) == (Level.SUPERVISED, "Hors reprise")


def test_forbidden_transition_shows_a_french_message(oncologist_a, centre_a, version):
    sheet = make_sheet(oncologist_a, centre_a, status=SheetStatus.SUBMITTED)
    client = login(oncologist_a)
    url = reverse("habilitations:sheet-transition", args=[sheet.pk, "submit"])
    response = client.post(url, {"comment": ""}, follow=True)
    assert "est impossible" in response.content.decode()
    unknown = reverse("habilitations:sheet-transition", args=[sheet.pk, "validate_head"])
    assert client.post(unknown).status_code == 404


def test_renewal_from_the_page(oncologist_a, centre_a, version):
    sheet = make_sheet(oncologist_a, centre_a, status=SheetStatus.TO_RENEW)
    response = login(oncologist_a).post(reverse("habilitations:sheet-renew", args=[sheet.pk]))
    renewal = HabilitationSheet.objects.get(previous=sheet)
    assert response["Location"] == reverse("habilitations:sheet-detail", args=[renewal.pk])
    assert renewal.lines.count() == 1


def test_matrix_export_neutralises_formulas(head_a, centre_a, version):
    head_a.first_name, head_a.last_name = '=HYPERLINK("http://x")', "Doe"
    head_a.save()
    sheet = make_sheet(head_a, centre_a, status=SheetStatus.ACTIVE)
    SheetLine.objects.filter(sheet=sheet).update(level_granted=Level.SUPERVISED)
    response = login(head_a).get(reverse("habilitations:matrix-export"))
    book = load_workbook(io.BytesIO(response.content))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:2] == ("Médecin", "Centre")
    assert rows[1][0].startswith("'=HYPERLINK")
    assert rows[1][3] == "Sous supervision"
    counts = list(book.worksheets[1].iter_rows(values_only=True))
    assert counts[1][0] == "CONT-SEIN — Activité CONT-SEIN" and counts[1][2] == 1


def test_matrix_and_overview_show_levels(pm, head_a, oncologist_a, centre_a, version):
    sheet = make_sheet(
        oncologist_a,
        centre_a,
        status=SheetStatus.ACTIVE,
        valid_until=services.today() + dt.timedelta(days=20),
    )
    SheetLine.objects.filter(sheet=sheet).update(level_granted=Level.SUPERVISED)
    page = login(head_a).get(reverse("habilitations:matrix")).content.decode()
    assert "Oncologist Test" in page and "Sous supervision" in page
    overview = login(pm).get(reverse("habilitations:overview")).content.decode()
    assert "Synthèse régionale des habilitations" in overview
    assert "Revue périodique de la fiche" in overview  # expiring in 20 days
    assert "<svg" in overview


def test_centre_page_lists_reminders(head_a, oncologist_a, centre_a, version):
    day = services.today()
    make_sheet(
        oncologist_a, centre_a, status=SheetStatus.ACTIVE, valid_until=day + dt.timedelta(days=30)
    )
    assert services.reminders_send(on_date=day) == 1
    assert len(mail.outbox) == 1
    page = (
        login(head_a)
        .get(reverse("habilitations:centre-detail", args=[centre_a.pk]))
        .content.decode()
    )
    assert "Relances envoyées" in page and "J-30" in page
    assert "oncologist_a@example.org" in page


def test_physician_home_shows_what_is_due(oncologist_a, centre_a, version):
    make_sheet(
        oncologist_a,
        centre_a,
        status=SheetStatus.ACTIVE,
        rp_training_expiry=services.today() + dt.timedelta(days=10),
    )
    page = login(oncologist_a).get(reverse("habilitations:home")).content.decode()
    assert "Mes échéances" in page
    assert "Formation à la radioprotection des patients" in page


def test_head_cannot_create_a_sheet_for_a_physician_of_a_centre_they_do_not_lead(
    oncologist_a, centre_a, centre_b, version
):
    from onco_hdf.models import Membership, Role

    Membership.objects.create(user=oncologist_a, centre=centre_b, role=Role.HEAD_OF_DEPARTMENT)
    colleague = Membership.objects.create(
        user=oncologist_a.__class__.objects.create(username="colleague"),
        centre=centre_b,
        role=Role.ONCOLOGIST,
    ).user
    Membership.objects.create(user=colleague, centre=centre_a, role=Role.ONCOLOGIST)
    response = login(oncologist_a).post(
        reverse("habilitations:sheet-create"),
        sheet_form(physician=colleague.pk, centre=centre_a.pk),
    )
    assert "Seul le chef de service de ce centre" in response.content.decode()
    assert not HabilitationSheet.objects.exists()


def test_centre_page_of_the_foundation_shows_the_habilitations_panel(
    head_a, oncologist_b, pm, centre_a, oncologist_a, version
):
    make_sheet(
        oncologist_a,
        centre_a,
        status=SheetStatus.ACTIVE,
        valid_until=services.today() + dt.timedelta(days=12),
    )
    url = reverse("onco_hdf:centre-detail", args=[centre_a.pk])
    html = login(head_a).get(url).content.decode()
    assert "Revue périodique de la fiche" in html and "Oncologist Test" in html
    assert "Revue périodique de la fiche" in login(pm).get(url).content.decode()
    assert login(oncologist_b).get(url).status_code == 404


def test_project_manager_sees_the_sheet_history(pm, oncologist_a, centre_a, version):
    sheet = make_sheet(oncologist_a, centre_a)
    sheet.post = "Praticien hospitalier universitaire"
    services.sheet_update(sheet=sheet)
    url = reverse("onco_hdf:object-history", args=["habilitations", "habilitationsheet", sheet.pk])
    page = login(pm).get(url).content.decode()
    assert "Praticien hospitalier universitaire" in page
    detail = login(pm).get(reverse("habilitations:sheet-detail", args=[sheet.pk]))
    assert url in detail.content.decode()


def test_matrix_with_absurd_centre_is_a_404(head_a, version):
    client = login(head_a)
    assert client.get(reverse("habilitations:matrix"), {"centre": "9" * 30}).status_code == 200
    assert client.get(reverse("habilitations:matrix"), {"centre": "424242"}).status_code == 404


def test_physician_home_lists_sheets_returned_with_the_comment(
    oncologist_a, head_a, centre_a, version
):
    sheet = make_sheet(oncologist_a, centre_a, status=SheetStatus.SUBMITTED)
    services.sheet_return(sheet=sheet, user=head_a, comment="Registre manquant")
    page = login(oncologist_a).get(reverse("habilitations:home")).content.decode()
    assert "Fiches qui m'ont été renvoyées" in page
    assert "Registre manquant" in page


def test_a_refused_new_activity_keeps_the_add_title(oncologist_a, head_a, centre_a, version):
    sheet = make_sheet(oncologist_a, centre_a, levels={})
    activity = version.activities.get(code="TECH-SBRT")
    url = reverse("habilitations:line-create", args=[sheet.pk])
    response = login(oncologist_a).post(
        url,
        {
            "activity": activity.pk,
            "level_requested": Level.AUTONOMOUS,
            "tutor": head_a.pk,
            "supervised_cases": "12",
            "peer_reviewed_contours": "0",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200 and "nouvelle activité pour ce médecin" in page
    assert "<h1>Ajouter une activité</h1>" in page
    assert "Modifier l'activité" not in page and "Modifier l’activité" not in page


def test_the_return_comment_is_a_banner_at_the_top_for_the_physician(
    oncologist_a, head_a, centre_a, version
):
    sheet = make_sheet(oncologist_a, centre_a, status=SheetStatus.SUBMITTED)
    services.sheet_return(sheet=sheet, user=head_a, comment="Registre manquant\nvoir p. 2")
    page = login(oncologist_a).get(reverse("habilitations:sheet-detail", args=[sheet.pk]))
    html = page.content.decode()
    banner = html.index('data-testid="return-banner"')
    assert banner < html.index('id="identity-title"')  # above the sheet, not in the chain
    assert "Renvoyée au médecin par Head Test le" in html[banner:]
    assert "Registre manquant<br>voir p. 2" in html[banner:]
    services.sheet_transition(sheet=sheet, user=oncologist_a, action="submit")
    page = login(oncologist_a).get(reverse("habilitations:sheet-detail", args=[sheet.pk]))
    assert 'data-testid="return-banner"' not in page.content.decode()  # submitted again
