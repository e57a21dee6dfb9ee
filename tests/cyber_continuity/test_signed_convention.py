"""A signed convention leaves the platform sealed; its verification shows parties, version
and signatories. A convention not yet signed stays an unsigned draft."""

from __future__ import annotations

import html
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from onco_hdf import signing
from onco_hdf.models import IssuedDocument
from tests.conftest import login

pytestmark = pytest.mark.django_db


def convention_pdf(convention, user) -> bytes:
    response = login(user).get(reverse("cyber_continuity:convention-pdf", args=[convention.pk]))
    assert response.status_code == 200
    return response.content


def verify_page(client, content: bytes) -> str:
    response = client.post(
        reverse("onco_hdf:document-verify"),
        {"pdf": SimpleUploadedFile("convention.pdf", content, "application/pdf")},
    )
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_signed_convention_is_sealed_and_verifies_with_parties_version_signatories(
    in_force_ab, referent_a, referent_b, anonymous
):
    content = convention_pdf(in_force_ab, referent_a)
    outcome = signing.verify_pdf(content)
    assert outcome.ok, outcome.reason
    record = IssuedDocument.objects.get()
    assert (record.object_type, record.object_id) == (
        "cyber_continuity.convention",
        str(in_force_ab.pk),
    )
    assert [s["capacity"] for s in record.signatories] == [
        "Représentant légal pour Centre A (test)",
        "Représentant légal pour Centre B (test)",
    ]
    assert all(s["name"].endswith(", Directeur général") for s in record.signatories)
    page = verify_page(anonymous, content)
    assert "Copie authentique et inchangée" in page
    assert "Entraide A — B" in page and "En vigueur" in page
    assert "Convention type (test) — version 1" in page
    assert "Centre A (test) ; Centre B (test)" in page
    for user in (referent_a, referent_b):
        assert (user.get_full_name() or user.username) in page


def test_convention_not_yet_signed_is_an_unsigned_draft(convention_ab, referent_a, anonymous):
    content = convention_pdf(convention_ab, referent_a)
    assert not IssuedDocument.objects.exists()
    assert b"/ByteRange" not in content
    page = verify_page(anonymous, content)
    assert "Document refusé" in page and "aucune signature de la plateforme" in page


def test_the_code_printed_in_the_signature_block_leads_to_what_the_platform_holds(
    in_force_ab, referent_a, anonymous
):
    from pypdf import PdfReader

    content = convention_pdf(in_force_ab, referent_a)
    code = signing.document_code(in_force_ab)
    text = " ".join(
        " ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(content)).pages
    )
    assert f"Code de vérification : {code}" in text
    assert f"/verifier/{code}/" in text
    page = html.unescape(
        anonymous.get(reverse("onco_hdf:document-verify-code", args=[code])).content.decode()
    )
    assert "Entraide A — B" in page and "Convention type (test) — version 1" in page
    assert "Centre A (test) ; Centre B (test)" in page
    assert "Représentant légal pour Centre B (test)" in page
    assert IssuedDocument.objects.get().content_sha256 in page
    # Typed in the form, in lower case: the same.
    typed = anonymous.get(reverse("onco_hdf:document-verify"), {"code": code.lower()})
    assert "Entraide A — B" in typed.content.decode()


@pytest.mark.parametrize("forged", ["tamper", "0-AAAA-BBBB-CCCC", "9" * 30, "x", "-"])
def test_a_forged_code_shows_nothing(in_force_ab, referent_a, anonymous, forged):
    convention_pdf(in_force_ab, referent_a)
    code = signing.document_code(in_force_ab)
    if forged == "tamper":
        forged = code[:-4] + ("0000" if not code.endswith("0000") else "1111")
    response = anonymous.get(reverse("onco_hdf:document-verify-code", args=[forged]))
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "Code de vérification inconnu" in page and "Entraide" not in page


def test_a_code_before_any_signed_pdf_shows_nothing(convention_ab, anonymous):
    code = signing.document_code(convention_ab)
    page = anonymous.get(reverse("onco_hdf:document-verify-code", args=[code])).content.decode()
    assert "Entraide" not in page


def test_verification_by_code_is_rate_limited(in_force_ab, referent_a, anonymous, settings):
    convention_pdf(in_force_ab, referent_a)
    settings.VERIFY_RATE_LIMIT = 2
    url = reverse("onco_hdf:document-verify-code", args=[signing.document_code(in_force_ab)])
    assert [anonymous.get(url).status_code for _ in range(3)] == [200, 200, 429]
    assert "Entraide" not in anonymous.get(url).content.decode()
