"""Signed sheet PDFs: pyHanko validates them, and the verification refuses an edited copy."""

from __future__ import annotations

import html
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfReader, PdfWriter

from habilitations import reports, services
from onco_hdf import signing
from onco_hdf.models import IssuedDocument
from tests.conftest import login
from tests.habilitations.test_reports import pdf_text

VERIFY = "onco_hdf:document-verify"


@pytest.fixture
def signed(validated):
    return reports.sheet_pdf(validated)


def upload(client, content: bytes, name: str = "fiche.pdf"):
    return client.post(
        reverse(VERIFY), {"pdf": SimpleUploadedFile(name, content, "application/pdf")}
    )


def pyhanko_status(content: bytes):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(io.BytesIO(content), strict=False)
    (signature,) = reader.embedded_signatures
    root = signing.platform_key().signer.signing_cert
    context = ValidationContext(trust_roots=[root], allow_fetching=False)
    return validate_pdf_signature(signature, context)


def test_sheet_pdf_is_pades_signed_and_pyhanko_validates_it(signed, validated):
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    status = pyhanko_status(signed)
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.signing_cert.subject.human_friendly.startswith("Common Name: ONCO-HDF")
    record = IssuedDocument.objects.get()
    assert record.sha256 == signing.sha256(signed)
    assert record.object_type == "habilitations.habilitationsheet"
    assert record.object_id == str(validated.pk)
    assert record.reference == services.verification_code(validated)
    # The content hash is the hash of the document before the signature was appended.
    assert signed.startswith(b"%PDF-")
    assert record.content_sha256 != record.sha256


def test_signature_block_lists_signatories_capacities_dates_and_the_content_hash(signed, validated):
    text = pdf_text(signed)
    for expected in (
        "Signatures",
        "Julien Bernard",
        "médecin (dépôt)",
        "Hélène Petit",
        "Chef de service",
        "Validateur régional",
        validated.transitions.get(to_status="head_validated").at.astimezone().strftime("%d/%m/%Y"),
    ):
        assert expected in text, expected
    record = IssuedDocument.objects.get()
    # The visible stamp (signature appearance) states the content hash.
    reader = PdfReader(io.BytesIO(signed))
    widget = next(
        a.get_object()
        for page in reader.pages
        for a in page.get("/Annots", [])
        if a.get_object().get("/FT") == "/Sig"
    )
    appearance = widget["/AP"]["/N"].get_object()
    streams = [appearance.get_data()]
    for xobject in appearance.get("/Resources", {}).get("/XObject", {}).values():
        streams.append(xobject.get_object().get_data())
        for inner in xobject.get_object().get("/Resources", {}).get("/XObject", {}).values():
            streams.append(inner.get_object().get_data())
    octal = re.compile(rb"\\([0-7]{3})")
    stamp = octal.sub(lambda m: bytes([int(m[1], 8)]), b"".join(streams)).decode("latin-1")
    assert "Signé électroniquement par la plateforme ONCO-HDF le" in stamp
    assert f"Empreinte SHA-256 du contenu : {record.content_sha256[:32]}" in stamp
    assert record.content_sha256[32:] in stamp
    assert "/verifier/" in stamp


def test_unmodified_copy_passes_and_shows_the_levels(signed, anonymous, validated):
    response = upload(anonymous, signed)
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "Copie authentique et inchangée" in page
    assert "Fiche d'habilitation valide et à jour" in page
    assert "CONT-SEIN" in page and "Sous supervision" in page
    assert f"{validated.valid_from:%d/%m/%Y} → {validated.valid_until:%d/%m/%Y}" in page
    assert IssuedDocument.objects.get().content_sha256 in page
    assert "10101010101" not in page  # the RPPS number is printed, but not shown here


def edited_text(content: bytes) -> bytes:
    """A copy whose first page gets the text 'Autonome' drawn over it, saved by pypdf."""
    from onco_hdf.pdf import _write_pdf

    overlay = PdfReader(io.BytesIO(_write_pdf("<p>Autonome</p>")))
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(content)))
    writer.pages[0].merge_page(overlay.pages[0])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def resaved(content: bytes) -> bytes:
    out = io.BytesIO()
    PdfWriter(clone_from=PdfReader(io.BytesIO(content))).write(out)
    return out.getvalue()


def appended(content: bytes) -> bytes:
    """A later revision appended to the signed file (incremental update), text changed."""
    writer = PdfWriter(io.BytesIO(content), incremental=True)
    writer.add_metadata({"/Title": "Autonome partout"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def byte_flipped(content: bytes) -> bytes:
    """'Sous supervision' cannot be searched in the compressed streams: change one byte of
    the first page's content instead, the signature dictionary untouched."""
    index = content.index(b"stream\n") + 40
    return content[:index] + bytes([content[index] ^ 0x01]) + content[index + 1 :]


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (edited_text, "modifié après la signature"),
        (resaved, "modifié après la signature"),
        (appended, "ajouté au fichier après sa signature"),
        (byte_flipped, "modifié après la signature"),
    ],
    ids=["text-changed-with-pypdf", "re-saved-with-pypdf", "revision-appended", "byte-changed"],
)
def test_an_edited_copy_is_refused_saying_why(signed, anonymous, edit, reason):
    copy = edit(signed)
    assert copy != signed
    response = upload(anonymous, copy)
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "Document refusé" in page and reason in page, page[page.find("verify-outcome") :][:400]
    assert "Copie authentique" not in page and "CONT-SEIN" not in page


def test_a_valid_signature_without_a_record_is_refused(signed, anonymous):
    IssuedDocument.objects.all().delete()
    page = html.unescape(upload(anonymous, signed).content.decode())
    assert "aucune trace" in page and "Copie authentique" not in page


def test_a_copy_signed_with_another_certificate_is_refused(signed, anonymous, settings, tmp_path):
    settings.SIGNING_DIR = str(tmp_path / "other-key")
    page = html.unescape(upload(anonymous, signed).content.decode())
    assert "pas été signé par le certificat de la plateforme" in page


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "Le fichier soumis est vide"),
        (b"GIF89a not a pdf", "Ce fichier n'est pas un PDF"),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage", "endommagé"),
    ],
    ids=["empty", "not-pdf", "damaged"],
)
def test_bad_files_get_a_french_message_never_a_500(anonymous, db, content, reason):
    response = upload(anonymous, content)
    assert response.status_code == 200
    assert reason in html.unescape(response.content.decode())


def test_a_huge_file_is_refused_before_reading(anonymous, db, settings):
    settings.VERIFY_UPLOAD_MAX_BYTES = 1024
    response = upload(anonymous, b"%PDF-1.7\n" + b"0" * 4096)
    assert "trop volumineux" in response.content.decode()


def test_verification_is_rate_limited(signed, anonymous, settings, validated):
    settings.VERIFY_RATE_LIMIT = 3
    for _ in range(3):
        assert upload(anonymous, signed).status_code == 200
    refused = upload(anonymous, signed)
    assert refused.status_code == 429
    assert "Trop de vérifications" in refused.content.decode()
    code = services.verification_code(validated)
    by_code = anonymous.get(reverse("habilitations:verify-code", args=[code]))
    assert by_code.status_code == 429 and "CONT-SEIN" not in by_code.content.decode()
    # Another address is not affected.
    other = anonymous.get(
        reverse("habilitations:verify-code", args=[code]), REMOTE_ADDR="192.0.2.7"
    )
    assert other.status_code == 200 and "CONT-SEIN" in other.content.decode()


def test_a_sheet_pdf_download_stays_available_to_its_physician(validated, oncologist_a):
    response = login(oncologist_a).get(reverse("habilitations:sheet-pdf", args=[validated.pk]))
    assert response.status_code == 200
    assert pyhanko_status(response.content).bottom_line


def test_an_unreadable_certificate_never_gives_a_500(validated, oncologist_a, anonymous, settings):
    signed = reports.sheet_pdf(validated)
    settings.SIGNING_P12 = "/nonexistent/platform.p12"
    response = login(oncologist_a).get(reverse("habilitations:sheet-pdf", args=[validated.pk]))
    assert response.status_code == 503
    assert "certificat de signature de la plateforme est illisible" in html.unescape(
        response.content.decode()
    )
    assert IssuedDocument.objects.count() == 1  # only the one signed before
    page = html.unescape(upload(anonymous, signed).content.decode())
    assert "La vérification est indisponible" in page


def test_copies_signed_with_a_previous_certificate_still_verify_once_listed(
    signed, anonymous, settings, tmp_path
):
    previous = tmp_path / "previous.pem"
    previous.write_bytes(pem_of(signing.platform_key().signer.signing_cert))
    settings.SIGNING_DIR = str(tmp_path / "renewed")  # a new certificate signs from now on
    assert "pas été signé par le certificat" in html.unescape(upload(anonymous, signed).text)
    settings.SIGNING_PREVIOUS_CERTS = [str(previous)]
    assert "Copie authentique et inchangée" in html.unescape(upload(anonymous, signed).text)


def pem_of(cert) -> bytes:
    from asn1crypto import pem

    return pem.armor("CERTIFICATE", cert.dump())
