"""What two referents do in real browsers: edit one convention at once; run a crisis."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cyber_continuity import services
from cyber_continuity.models import ConventionStatus, Transfer, TransferStatus
from tests.browser_helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _context_page(browser):
    context = browser.new_context(locale="fr-FR")
    context.set_default_timeout(15_000)
    return context, context.new_page()


def test_second_save_is_refused_without_losing_text(
    browser, live_server, convention_ab, referent_a, referent_b
):
    services.convention_transition(
        convention=convention_ab, to_status="negotiation", user=referent_a
    )
    clause = convention_ab.clauses.get(kind="staff")
    url = f"{live_server.url}/continuite-cyber/conventions/{convention_ab.pk}/clauses/{clause.pk}/"
    alice_context, alice = _context_page(browser)
    bob_context, bob = _context_page(browser)
    try:
        log_in(alice, live_server, "referent_a")
        log_in(bob, live_server, "referent_b")
        alice.goto(url)
        bob.goto(url)
        # Both have the clause open; Bob saves first.
        bob.get_by_label("Texte de la clause").fill("Bob : deux manipulateurs.")
        bob.get_by_role("button", name="Enregistrer").click()
        expect(bob.locator("body")).to_contain_text("Clause enregistrée")
        alice.get_by_label("Texte de la clause").fill("Alice : trois physiciens.")
        alice.get_by_role("button", name="Enregistrer").click()
        alert = alice.get_by_role("alert")
        expect(alert).to_contain_text("pendant que vous la modifiiez")
        expect(alice.get_by_label("Texte de la clause")).to_have_value("Alice : trois physiciens.")
        expect(alice.get_by_test_id("current-text")).to_contain_text("Bob : deux manipulateurs.")
        clause.refresh_from_db()
        assert clause.body == "Bob : deux manipulateurs."
        # Alice keeps her text and saves it knowingly.
        alice.get_by_role("button", name="Enregistrer quand même mon texte").click()
        expect(alice.locator("body")).to_contain_text("Clause enregistrée")
        clause.refresh_from_db()
        assert clause.body == "Alice : trois physiciens." and clause.version == 3
    finally:
        alice_context.close()
        bob_context.close()
    convention_ab.refresh_from_db()
    assert convention_ab.status == ConventionStatus.NEGOTIATION


def test_crisis_declared_transfer_proposed_and_accepted(
    browser, live_server, region, referent_a, referent_b
):
    sender_context, sender = _context_page(browser)
    receiver_context, receiver = _context_page(browser)
    try:
        log_in(sender, live_server, "referent_a")
        sender.goto(f"{live_server.url}/continuite-cyber/crises/")
        sender.get_by_role("link", name="Déclarer une crise").click()
        sender.get_by_label("Centre touché").select_option(label=region["a"].name)
        sender.get_by_label("SIO / système de vérification et d'enregistrement").check()
        sender.get_by_label("Système de planification (TPS)").check()
        sender.get_by_label("Ce qui s'est passé").fill("Rançongiciel sur le SIO")
        sender.get_by_role("button", name="Enregistrer").click()
        expect(sender.get_by_test_id("crisis-status")).to_contain_text("Déclarée")
        sender.get_by_role("link", name="Ajouter un groupe de patients").click()
        sender.get_by_label("Description").fill("VMAT prostate")
        sender.get_by_label("Technique").select_option(label="RCMI / VMAT")
        sender.get_by_label("Catégorie").select_option(value="2")
        sender.get_by_label("Nombre de patients").fill("6")
        sender.get_by_label("Fractions restantes").fill("12")
        sender.get_by_label("Dernière séance délivrée le").fill("2026-01-05")
        sender.get_by_role("button", name="Enregistrer").click()
        sender.get_by_role("link", name="VMAT prostate").click()
        sender.get_by_role("button", name="Proposer à B").click()
        expect(sender.locator("body")).to_contain_text("Transfert proposé")

        log_in(receiver, live_server, "referent_b")
        receiver.goto(sender.url)
        expect(receiver.locator("body")).to_contain_text("Proposé")
        receiver.get_by_label("Commentaire").last.fill("Créneaux dès demain 8 h")
        receiver.get_by_role("button", name="Accepter").click()
        expect(receiver.locator("body")).to_contain_text("Transfert mis à jour")
        expect(receiver.locator("body")).to_contain_text("Créneaux dès demain 8 h")
    finally:
        sender_context.close()
        receiver_context.close()
    transfer = Transfer.objects.get()
    assert transfer.status == TransferStatus.ACCEPTED
    assert (transfer.receiving_centre, transfer.patient_count) == (region["b"], 6)
