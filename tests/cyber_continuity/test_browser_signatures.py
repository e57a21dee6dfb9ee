"""In real browsers: a convention signed by the legal representatives of both parties, each
re-authenticated on the confirmation page (the second one by delegation, with a second
factor); the signatures then show on the convention page, the signed PDF is downloaded and
an anonymous visitor checks it on the public page, where an edited copy is refused. One
flow serves every check: signing in the browser is the slow part."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from cyber_continuity import services
from cyber_continuity.models import ConventionStatus
from onco_hdf import signatures
from onco_hdf.models import Signature
from tests.browser_helpers import log_in, sign_with_reauthentication
from tests.habilitations.test_signed_pdf import byte_flipped

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_signature_page(page, live_server, convention, username, centre, content_hash, title):
    """Log in as ``username``, open the confirmation page for party ``centre`` (its short
    name), check the hash and capacity shown, and fill in the signer's title."""
    log_in(page, live_server, username)
    page.goto(f"{live_server.url}/continuite-cyber/conventions/{convention.pk}/")
    page.get_by_role("link", name=f"Signer pour {centre}").click()
    expect(page.get_by_test_id("signature-hash")).to_have_text(content_hash)
    expect(page.get_by_test_id("signature-capacity")).to_contain_text(
        f"Représentant légal — Centre {centre} (test)"
    )
    page.get_by_label("Votre fonction").fill(title)


def expect_signed(page, centre: str, status: str) -> None:
    expect(page.locator(".alert-success")).to_contain_text(f"Signé pour {centre}")
    expect(page.get_by_test_id("convention-status")).to_have_text(status)


def verify_on_public_page(visitor, live_server, pdf) -> None:
    visitor.goto(f"{live_server.url}/verifier/")
    visitor.set_input_files("#id_pdf", str(pdf))
    visitor.get_by_role("button", name="Vérifier le fichier").click()


def test_both_legal_representatives_sign_then_anyone_verifies_the_pdf(
    new_page, live_server, convention_ab, referent_a, referent_b, tmp_path
):
    for status in ("negotiation", "awaiting_signature"):
        services.convention_transition(convention=convention_ab, to_status=status, user=referent_a)
    TOTPDevice.objects.create(user=referent_b, name="test", confirmed=True)
    expected = signatures.document_hash(convention_ab, "legal_representative")
    detail = f"{live_server.url}/continuite-cyber/conventions/{convention_ab.pk}/"
    alice, bob = new_page(), new_page()

    # Centre A: its director signs; a wrong password first signs nothing.
    open_signature_page(
        alice, live_server, convention_ab, "referent_a", "A", expected, "Directrice générale"
    )
    sign_with_reauthentication(alice, password="not-my-password")
    expect(alice.get_by_text("Le mot de passe est incorrect")).to_be_visible()
    expect(alice.get_by_label("Votre fonction")).to_have_value("Directrice générale")
    assert not Signature.objects.exists()
    sign_with_reauthentication(alice)
    expect_signed(alice, "A", "En attente de signature")
    expect(alice.get_by_test_id("signatory")).to_contain_text("Directrice générale")

    # Centre B: signed by delegation, with the document and the authenticator's code.
    open_signature_page(
        bob, live_server, convention_ab, "referent_b", "B", expected, "Directeur des soins"
    )
    bob.get_by_label("Je signe par délégation du représentant légal").check()
    bob.get_by_label("Représentant légal délégant (nom et fonction)").fill(
        "Mme Martin, directrice générale"
    )
    bob.get_by_label("Document de délégation (PDF, PNG ou JPEG)").set_input_files(
        files=[
            {
                "name": "delegation.pdf",
                "mimeType": "application/pdf",
                "buffer": b"%PDF-1.4 delegation de signature",
            }
        ]
    )
    sign_with_reauthentication(bob, referent_b)
    expect_signed(bob, "B", "En vigueur")

    # Both signatures on the convention page, with the hash they signed.
    alice.goto(detail)
    rows = alice.get_by_test_id("signatory")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("signée par Referent Test (Représentant légal)")
    expect(rows.nth(0)).to_contain_text("Directrice générale")
    expect(rows.nth(1)).to_contain_text("Directeur des soins")
    expect(rows.nth(1)).to_contain_text("par délégation de Mme Martin, directrice générale")
    for index in (0, 1):
        expect(rows.nth(index)).to_contain_text(expected)
        expect(rows.nth(index)).to_contain_text("correspond au contenu actuel")

    # The signed PDF: an anonymous visitor finds it authentic; an edited copy is refused.
    with alice.expect_download() as download:
        alice.get_by_role("link", name="Télécharger le PDF").click()
    signed = tmp_path / "convention.pdf"
    download.value.save_as(signed)
    edited = tmp_path / "convention-modifiee.pdf"
    edited.write_bytes(byte_flipped(signed.read_bytes()))
    visitor = new_page()
    verify_on_public_page(visitor, live_server, signed)
    expect(visitor.locator("#verify-outcome")).to_contain_text("Copie authentique et inchangée")
    holder = visitor.locator("#verify-convention")
    expect(holder).to_contain_text("Entraide A — B")
    expect(holder).to_contain_text("Représentant légal pour Centre A (test)")
    expect(holder).to_contain_text("Représentant légal pour Centre B (test)")
    expect(holder).to_contain_text("Directrice générale")
    expect(holder).to_contain_text("Directeur des soins")
    verify_on_public_page(visitor, live_server, edited)
    expect(visitor.locator("#verify-outcome")).to_contain_text("Document refusé")
    expect(visitor.locator("#verify-convention")).to_have_count(0)

    convention_ab.refresh_from_db()
    assert convention_ab.status == ConventionStatus.IN_FORCE
    stored = list(Signature.objects.order_by("pk"))
    assert [s.content_hash for s in stored] == [expected, expected]
    assert [s.second_factor for s in stored] == [False, True]
    assert stored[1].delegation_document.read() == b"%PDF-1.4 delegation de signature"
