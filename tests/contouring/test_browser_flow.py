"""Playwright: the project manager uploads a case as a zip, a solution's RTSTRUCT, confirms
the mapping, watches the comparison finish, opens an overlay and downloads the report."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from contouring.models import ClinicalCase
from tests.browser_helpers import log_in, verify_second_factor
from tests.contouring.conftest import solution_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_full_comparison_in_the_browser(page, live_server, pm, centre_a, head_neck_files, tmp_path):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    archive = tmp_path / "cas-orl.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        for path in head_neck_files.ct_files:
            handle.write(path, f"CT/{path.name}")
        handle.write(head_neck_files.reference, "RS_reference.dcm")
    simulated = head_neck_files.solutions[1]  # French structure names
    solution_for(simulated.solution)

    TOTPDevice.objects.create(user=pm, name="phone", confirmed=True)
    log_in(page, live_server, "pm")
    verify_second_factor(page, pm)

    page.goto(f"{live_server.url}/contourage/")
    page.get_by_role("link", name="Ouvrir un cas clinique").click()
    page.get_by_label("Titre").fill("Cas ORL navigateur")
    page.get_by_label("Localisation anatomique").select_option("head_neck")
    page.get_by_label("Série CT", exact=True).set_input_files(str(archive))
    page.get_by_role("button", name="Créer le cas").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cas ORL navigateur")
    expect(page.get_by_text("Parotid_L").first).to_be_visible()
    case = ClinicalCase.objects.get()

    page.get_by_role("link", name="Déposer le RTSTRUCT d'une solution").first.click()
    page.get_by_label(re.compile(r"^\s*Solution")).select_option(
        label=str(solution_for(simulated.solution))
    )
    page.get_by_label(re.compile(r"^\s*Centre")).select_option(str(centre_a.pk))
    page.get_by_label("RTSTRUCT produit par la solution").set_input_files(str(simulated.path))
    page.get_by_label("J'atteste que ces contours").check()
    page.get_by_role("button", name="Déposer").click()
    expect(page.get_by_text("Le RTSTRUCT a été enregistré (désidentifié).")).to_be_visible()
    expect(page.get_by_label("Parotid_L", exact=True)).not_to_have_value("")
    page.get_by_role("button", name="Confirmer la correspondance").click()
    expect(page.get_by_text("La correspondance des structures a été confirmée.")).to_be_visible()

    page.get_by_role("link", name="Cas ORL navigateur").click()
    page.get_by_role("button", name="Lancer la comparaison").click()
    bar = page.locator(".job-progress .progress-bar")
    bar.filter(has_text="100 %").wait_for(timeout=60_000)
    result = page.get_by_role("link", name="Ouvrir le résultat")
    result.wait_for(state="visible", timeout=60_000)
    result.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Résultats")
    assert case.results.exists()

    page.get_by_role("link", name="Parotid_L").first.click()
    image = page.locator("img.overlay-image").first
    image.wait_for()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 100", arg=image.element_handle()
    )

    page.goto(f"{live_server.url}/contourage/")
    page.get_by_role("button", name="Télécharger le PDF").click()
    page.wait_for_url("**/taches/*/")
    link = page.get_by_role("link", name="Ouvrir le résultat")
    link.wait_for(state="visible", timeout=90_000)
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == "comparaison-contourage-automatique.pdf"
    reader = PdfReader(io.BytesIO(Path(download.path()).read_bytes()))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "Méthode" in text and "Cas ORL navigateur" in text
