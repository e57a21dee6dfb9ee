"""In the browser: each party's legal representative signs the convention (title, password
again), the signed PDF is downloaded, and an anonymous visitor checks it on the public page;
an edited copy is refused."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cyber_continuity import services
from tests.browser_helpers import log_in
from tests.conftest import PASSWORD
from tests.habilitations.test_signed_pdf import byte_flipped

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def new_page(browser):
    contexts = []

    def open_page():
        context = browser.new_context(locale="fr-FR", accept_downloads=True)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def sign_as(page, live_server, convention, username: str, centre_label: str) -> None:
    log_in(page, live_server, username)
    page.goto(f"{live_server.url}/continuite-cyber/conventions/{convention.pk}/")
    page.get_by_role("link", name=f"Signer pour {centre_label}").click()
    page.get_by_label("Votre fonction").fill("Directeur général")
    page.get_by_label("Votre mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Signer", exact=True).click()
    expect(page.locator(".alert-success")).to_contain_text(f"Signé pour {centre_label}")


def test_both_legal_representatives_sign_then_anyone_verifies_the_pdf(
    new_page, live_server, convention_ab, referent_a, referent_b, tmp_path
):
    for status in ("negotiation", "awaiting_signature"):
        services.convention_transition(convention=convention_ab, to_status=status, user=referent_a)
    first, second = new_page(), new_page()
    sign_as(first, live_server, convention_ab, "referent_a", "A")
    sign_as(second, live_server, convention_ab, "referent_b", "B")

    first.goto(f"{live_server.url}/continuite-cyber/conventions/{convention_ab.pk}/")
    with first.expect_download() as download:
        first.get_by_role("link", name="Télécharger le PDF").click()
    signed = tmp_path / "convention.pdf"
    download.value.save_as(signed)
    edited = tmp_path / "convention-modifiee.pdf"
    edited.write_bytes(byte_flipped(signed.read_bytes()))

    visitor = new_page()
    visitor.goto(f"{live_server.url}/verifier/")
    visitor.set_input_files("#id_pdf", str(signed))
    visitor.get_by_role("button", name="Vérifier le fichier").click()
    expect(visitor.locator("#verify-outcome")).to_contain_text("Copie authentique et inchangée")
    holder = visitor.locator("#verify-convention")
    expect(holder).to_contain_text("Entraide A — B")
    expect(holder).to_contain_text("Représentant légal pour Centre A (test)")
    expect(holder).to_contain_text("Représentant légal pour Centre B (test)")
    expect(holder).to_contain_text("Directeur général")

    visitor.set_input_files("#id_pdf", str(edited))
    visitor.get_by_role("button", name="Vérifier le fichier").click()
    expect(visitor.locator("#verify-outcome")).to_contain_text("Document refusé")
    expect(visitor.locator("#verify-convention")).to_have_count(0)
