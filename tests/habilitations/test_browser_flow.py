"""In the browser: fill and submit, returned with a comment, resubmitted, validated by the head
of department, validated regionally, PDF downloaded."""

from __future__ import annotations

import io
import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect
from pypdf import PdfReader

from habilitations.models import HabilitationSheet, SheetStatus
from tests.browser_helpers import log_in, sign_with_reauthentication, verify_second_factor
from tests.habilitations.factories import catalogue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sheet_from_first_draft_to_regional_validation(
    new_page, live_server, oncologist_a, head_a, pm, centre_a
):
    version = catalogue()
    TOTPDevice.objects.create(user=pm, name="test", confirmed=True)

    # The physician fills the sheet and one activity, then submits.
    doctor = new_page()
    log_in(doctor, live_server, "oncologist_a")
    doctor.goto(f"{live_server.url}/habilitations/")
    doctor.get_by_role("link", name="Nouvelle fiche d'habilitation").click()
    doctor.get_by_label("Poste*", exact=True).fill("Praticien hospitalier")
    doctor.get_by_label("Numéro RPPS").fill("1010101010")  # one digit short
    doctor.locator("#id_start_date").fill("2025-01-06")
    doctor.get_by_label("Formation à la radioprotection des patients : date").fill("2024-03-01")
    doctor.get_by_label("Formation à la radioprotection des patients : échéance").fill("2031-03-01")
    doctor.get_by_role("button", name="Enregistrer").click()
    expect(doctor.get_by_text("Un numéro RPPS comporte exactement 11 chiffres.")).to_be_visible()
    expect(doctor.get_by_label("Poste*", exact=True)).to_have_value("Praticien hospitalier")
    doctor.get_by_label("Numéro RPPS").fill("10101010101")
    doctor.get_by_role("button", name="Enregistrer").click()
    doctor.get_by_text("Fiche créée. Ajoutez maintenant les activités.").wait_for()

    doctor.get_by_role("link", name="Ajouter une activité").click()
    doctor.get_by_label("Activité").select_option(str(version.activities.get(code="CONT-SEIN").pk))
    help_box = doctor.locator("#hab-activity-help")
    expect(help_box).to_contain_text("CONT-SEIN — Activité CONT-SEIN")
    expect(help_box).to_contain_text("Cas supervisés requis pour l'autonomie : 5")
    doctor.get_by_label("Niveau demandé").select_option(label="Sous supervision")
    doctor.get_by_label("Cas supervisés").fill("12")
    doctor.get_by_role("button", name="Enregistrer").click()
    doctor.get_by_role("button", name="Soumettre pour validation").click()
    doctor.get_by_text("Fait : Soumettre pour validation.").wait_for()
    sheet = HabilitationSheet.objects.get()
    assert sheet.status == SheetStatus.SUBMITTED

    # The head of department returns it with a comment.
    head = new_page()
    log_in(head, live_server, "head_a")
    head.goto(f"{live_server.url}/habilitations/")
    head.get_by_role("link", name="Oncologist Test").first.click()
    head.get_by_role("link", name="Examiner et valider (chef de service)").click()
    head.get_by_label("Commentaire (obligatoire pour renvoyer la fiche)").fill(
        "Merci de joindre le registre des cas."
    )
    head.get_by_role("button", name="Renvoyer avec un commentaire").click()
    head.get_by_text("Fiche renvoyée au médecin.").wait_for()

    # The physician sees the comment and submits again.
    doctor.reload()
    expect(doctor.get_by_test_id("return-banner")).to_contain_text(
        "Merci de joindre le registre des cas."
    )
    doctor.get_by_role("button", name="Soumettre pour validation").click()
    doctor.get_by_text("Fait : Soumettre pour validation.").wait_for()

    # The head of department validates.
    head.reload()
    head.get_by_role("link", name="Examiner et valider (chef de service)").click()
    head.get_by_label("Niveau accordé — CONT-SEIN").select_option(label="Sous supervision")
    head.get_by_role("button", name="Valider la fiche").click()
    # The validation is a signature: what is signed, its hash, the password again.
    expect(head.get_by_test_id("signature-hash")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    expect(head.get_by_test_id("signature-capacity")).to_contain_text("Chef de service")
    sign_with_reauthentication(head)
    head.get_by_text("Fiche validée ; elle attend maintenant la validation régionale.").wait_for()

    # The project manager records the regional validation and downloads the PDF.
    manager = new_page()
    log_in(manager, live_server, "pm")
    verify_second_factor(manager, pm)
    manager.goto(f"{live_server.url}/habilitations/fiches/{sheet.pk}/")
    manager.get_by_role("link", name="Signer en tant que Validateur régional").click()
    sign_with_reauthentication(manager, pm)
    manager.get_by_text("Validation régionale signée.").wait_for()
    expect(manager.get_by_text("Validée au niveau régional").first).to_be_visible()
    with manager.expect_download() as download_info:
        manager.get_by_role("link", name="Télécharger le PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"fiche-habilitation-{sheet.pk}.pdf"
    with open(download.path(), "rb") as handle:
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(handle.read())).pages)
    assert "Merci de joindre le registre des cas." in " ".join(text.split())
    assert "Validée au niveau régional" in " ".join(text.split())
    sheet.refresh_from_db()
    assert sheet.status == SheetStatus.REGIONAL_VALIDATED
    assert [t.to_status for t in sheet.transitions.all()] == [
        "submitted",
        "draft",
        "submitted",
        "head_validated",
        "regional_validated",
    ]
