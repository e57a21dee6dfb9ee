"""In the browser, as an anonymous visitor: the sheet's code shows its levels; the signed PDF
dropped on the page is authentic; an edited copy is refused, saying why. No serious
accessibility violation on these pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from habilitations import reports, services
from tests.habilitations.test_signed_pdf import byte_flipped
from tests.onco_hdf.test_accessibility import violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_anonymous_checks_the_code_then_the_signed_pdf_and_an_edited_copy(
    page, live_server, validated, tmp_path
):
    signed = tmp_path / "fiche.pdf"
    signed.write_bytes(reports.sheet_pdf(validated))
    edited = tmp_path / "fiche-modifiee.pdf"
    edited.write_bytes(byte_flipped(signed.read_bytes()))

    code = services.verification_code(validated)
    page.goto(f"{live_server.url}/habilitations/verifier/{code}/")
    sheet = page.locator("#verify-sheet")
    expect(sheet).to_contain_text("Fiche d'habilitation valide et à jour")
    expect(sheet.locator("tbody tr").first).to_contain_text("CONT-SEIN")
    expect(sheet).to_contain_text("Sous supervision")
    assert violations(page) == []

    page.set_input_files("#id_pdf", str(signed))
    page.get_by_role("button", name="Vérifier le fichier").click()
    expect(page.locator("#verify-outcome")).to_contain_text("Copie authentique et inchangée")
    expect(page.locator("#verify-sheet")).to_contain_text("CONT-SEIN")
    assert violations(page) == []

    page.set_input_files("#id_pdf", str(edited))
    page.get_by_role("button", name="Vérifier le fichier").click()
    outcome = page.locator("#verify-outcome")
    expect(outcome).to_contain_text("Document refusé")
    expect(outcome).to_contain_text("modifié après la signature")
    expect(page.locator("#verify-sheet")).to_have_count(0)
    assert violations(page) == []
