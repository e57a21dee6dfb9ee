"""PDF of the sheet and the public verification page."""

from __future__ import annotations

import io

from django.test import override_settings
from django.urls import reverse
from pypdf import PdfReader

from habilitations import services
from habilitations.models import SheetStatus
from tests.conftest import login
from tests.habilitations.factories import make_sheet


def pdf_text(content: bytes) -> str:
    return " ".join(
        " ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(content)).pages
    )


def test_pdf_holds_identity_lines_chain_version_and_code(validated, oncologist_a):
    response = login(oncologist_a).get(reverse("habilitations:sheet-pdf", args=[validated.pk]))
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    text = pdf_text(response.content)
    code = services.verification_code(validated)
    for expected in (
        "Fiche d'habilitation médecin",
        "Julien Bernard",
        "10101010101",
        "Identité et poste",
        "Activités et niveaux",
        "CONT-SEIN",
        "Sous supervision",
        "14 cas supervisés",
        "Chaîne de validation",
        "Hélène Petit",
        "Conforme",
        "Validée au niveau régional",
        "v1 — Catalogue v1",
        "Code de vérification",
        code,
    ):
        assert expected in text, expected


def test_code_is_a_keyed_hash_of_id_and_revision(validated):
    code = services.verification_code(validated)
    assert code.startswith(f"{validated.pk}-") and len(code) == len(str(validated.pk)) + 15
    with override_settings(SECRET_KEY="another-key-for-this-test-only-0123456789"):
        assert services.verification_code(validated) != code
    assert services.verification_code(validated, revision=1) != code


def test_public_page_says_valid_and_current_with_no_personal_data(validated, anonymous):
    code = services.verification_code(validated)
    response = anonymous.get(reverse("habilitations:verify-code", args=[code]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Fiche d'habilitation valide et à jour" in page
    assert "Julien Bernard" in page and "Centre A (test)" in page and "Active" in page
    # What the platform holds: every activity with its level, dates and restrictions...
    assert "CONT-SEIN" in page and "Sous supervision" in page
    # ...but nothing the printed sheet does not show on this page (its RPPS number).
    assert "10101010101" not in page
    same = anonymous.get(reverse("habilitations:verify"), {"code": code.lower()})
    assert "valide et à jour" in same.content.decode()


def test_public_page_spots_outdated_invalid_and_forged_codes(validated, head_a, anonymous):
    old_code = services.verification_code(validated)
    services.sheet_transition(sheet=validated, user=head_a, action="suspend", comment="Congé")
    validated.refresh_from_db()
    page = anonymous.get(reverse("habilitations:verify-code", args=[old_code])).content.decode()
    assert "pas la version à jour" in page and "Suspendue" in page
    current = services.verification_code(validated)
    page = anonymous.get(reverse("habilitations:verify-code", args=[current])).content.decode()
    assert "Cette fiche n'est pas valide" in page
    forged = current[:-4] + ("0000" if not current.endswith("0000") else "1111")
    for code in (forged, "x", "999999-AAAA-BBBB-CCCC"):
        page = anonymous.get(reverse("habilitations:verify-code", args=[code])).content.decode()
        assert "Code de vérification inconnu" in page
        assert "Julien" not in page


def test_draft_sheet_pdf_says_draft(oncologist_a, centre_a, version):
    sheet = make_sheet(oncologist_a, centre_a, status=SheetStatus.DRAFT)
    text = pdf_text(
        login(oncologist_a).get(reverse("habilitations:sheet-pdf", args=[sheet.pk])).content
    )
    assert "Brouillon" in text and "Aucune étape pour l'instant" in text


def test_absurd_codes_never_fail(anonymous, db):
    for code in ("9" * 40, "12345678901234567890-AAAA", "-", "é"):
        response = anonymous.get(reverse("habilitations:verify"), {"code": code})
        assert response.status_code == 200
    response = anonymous.get(reverse("habilitations:verify-code", args=["9" * 30 + "-AAAA"]))
    assert "Code de vérification inconnu" in response.content.decode()


def test_pdf_context_carries_a_qr_code_of_the_public_url(validated, settings):
    import base64

    from habilitations.reports import build_sheet_context

    settings.SITE_URL = "https://onco-hdf.example"
    context = build_sheet_context(validated)
    code = services.verification_code(validated)
    assert context["verification_url"] == f"https://onco-hdf.example/habilitations/verifier/{code}/"
    prefix = "data:image/svg+xml;base64,"
    assert context["verification_qr"].startswith(prefix)
    assert b"<svg" in base64.b64decode(context["verification_qr"][len(prefix) :])
