"""In real browsers: a convention signed by the legal representatives of both parties, each
re-authenticated on the confirmation page (the second one by delegation, with a second
factor); the signatures then show on the convention page."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from cyber_continuity import services
from cyber_continuity.models import ConventionStatus
from onco_hdf import signatures
from onco_hdf.models import Signature
from tests.browser_helpers import log_in, sign_with_reauthentication

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _context_page(browser):
    context = browser.new_context(locale="fr-FR")
    context.set_default_timeout(15_000)
    return context, context.new_page()


def test_both_legal_representatives_sign_the_convention(
    browser, live_server, convention_ab, referent_a, referent_b
):
    for status in ("negotiation", "awaiting_signature"):
        services.convention_transition(convention=convention_ab, to_status=status, user=referent_a)
    TOTPDevice.objects.create(user=referent_b, name="test", confirmed=True)
    expected = signatures.document_hash(convention_ab, "legal_representative")
    detail = f"{live_server.url}/continuite-cyber/conventions/{convention_ab.pk}/"
    a_context, alice = _context_page(browser)
    b_context, bob = _context_page(browser)
    try:
        # Centre A: its director signs; a wrong password first signs nothing.
        log_in(alice, live_server, "referent_a")
        alice.goto(detail)
        alice.get_by_role("link", name="Signer pour A").click()
        expect(alice.get_by_test_id("signature-hash")).to_have_text(expected)
        expect(alice.get_by_test_id("signature-capacity")).to_contain_text(
            "Représentant légal — Centre A (test)"
        )
        alice.get_by_label("Votre fonction").fill("Directrice générale")
        sign_with_reauthentication(alice, password="not-my-password")
        expect(alice.get_by_text("Le mot de passe est incorrect")).to_be_visible()
        expect(alice.get_by_label("Votre fonction")).to_have_value("Directrice générale")
        assert not Signature.objects.exists()
        sign_with_reauthentication(alice)
        expect(alice.get_by_test_id("convention-status")).to_have_text("En attente de signature")
        expect(alice.get_by_test_id("signatory")).to_contain_text("Directrice générale")

        # Centre B: signed by delegation, with the document and the authenticator's code.
        log_in(bob, live_server, "referent_b")
        bob.goto(detail)
        bob.get_by_role("link", name="Signer pour B").click()
        expect(bob.get_by_test_id("signature-hash")).to_have_text(expected)
        bob.get_by_label("Votre fonction").fill("Directeur des soins")
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
        expect(bob.get_by_test_id("convention-status")).to_have_text("En vigueur")

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
    finally:
        a_context.close()
        b_context.close()
    convention_ab.refresh_from_db()
    assert convention_ab.status == ConventionStatus.IN_FORCE
    stored = list(Signature.objects.order_by("pk"))
    assert [s.content_hash for s in stored] == [expected, expected]
    assert [s.second_factor for s in stored] == [False, True]
    assert stored[1].delegation_document.read() == b"%PDF-1.4 delegation de signature"
