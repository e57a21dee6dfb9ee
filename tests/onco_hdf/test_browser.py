"""A person logs in, sees the regional dashboard and downloads its PDF (real Chromium)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser_helpers import log_in, verify_second_factor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_project_manager_logs_in_and_downloads_the_dashboard_pdf(page, live_server, pm, centre_a):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=pm, name="phone", confirmed=True)
    log_in(page, live_server, "pm")
    verify_second_factor(page, pm)
    expect(page.get_by_role("heading", level=1)).to_have_text("Tableau de bord régional")
    expect(
        page.get_by_role("heading", name="Enquête sur le contourage automatique")
    ).to_be_visible()
    # Keyboard users get the skip link first.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu principal"

    page.get_by_role("button", name="Télécharger le PDF").click()
    page.wait_for_url("**/taches/*/")
    result = page.get_by_role("link", name="Ouvrir le résultat")
    result.wait_for(state="visible")
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    with page.expect_download() as download_info:
        result.click()
    download = download_info.value
    assert download.suggested_filename == "tableau-de-bord-regional.pdf"
    content = Path(download.path()).read_bytes()
    text = PdfReader(io.BytesIO(content)).pages[0].extract_text()
    assert "Tableau de bord régional" in text


def test_centre_user_sees_their_centre_and_no_regional_menu(page, live_server, oncologist_a):
    log_in(page, live_server, "oncologist_a")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon centre")
    nav = page.get_by_role("navigation", name="Menu principal")
    expect(
        nav.get_by_role("link", name="A", exact=True)
    ).to_be_visible()  # their centre's short name
    expect(nav.get_by_role("link", name="Utilisateurs", exact=True)).to_have_count(0)
    expect(nav.get_by_role("link", name="Centres", exact=True)).to_have_count(0)


def test_wrong_password_is_explained_in_french(page, live_server, oncologist_a):
    log_in(page, live_server, "oncologist_a", password="mauvais")
    expect(page.get_by_role("alert")).to_contain_text("Saisissez un nom d’utilisateur")
    expect(page.get_by_label("Identifiant")).to_have_value("oncologist_a")
