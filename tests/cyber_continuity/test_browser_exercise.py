"""An exercise, on a desktop and on a 390 px phone: scheduled from the scenario library by
the project manager, started, injects played (one of the scenario, one free), declared by
the centre's referent, metrics shown, and a RETEX action with its owner and due date."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from cyber_continuity.models import Exercise
from tests.browser_helpers import log_in, verify_second_factor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _page(browser, viewport):
    context = browser.new_context(locale="fr-FR", viewport=viewport)
    context.set_default_timeout(15_000)
    return context, context.new_page()


def _no_horizontal_scroll(page):
    page.wait_for_function("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_schedule_play_and_retex(
    browser, live_server, scenario_library, centre_a, centre_b, pm, referent_a, device
):
    TOTPDevice.objects.create(user=pm, name="test", confirmed=True)
    phone = device == "phone"
    when = timezone.localtime() + timedelta(days=2)
    due = timezone.localdate() - timedelta(days=1)
    pm_context, manager = _page(browser, VIEWPORTS[device])
    ref_context, ref = _page(browser, VIEWPORTS[device])
    try:
        log_in(manager, live_server, "pm")
        verify_second_factor(manager, pm)
        manager.goto(f"{live_server.url}/continuite-cyber/exercices/")
        manager.get_by_role("link", name="Bibliothèque de scénarios").click()
        card = manager.get_by_test_id("scenario").filter(
            has_text="Un centre receveur à l'arrêt lui aussi"
        )
        expect(card).to_contain_text("Le premier centre receveur du plan annonce")
        if phone:
            _no_horizontal_scroll(manager)
        card.get_by_role("link", name="Planifier un exercice").click()
        expect(manager.get_by_label("Scénario")).to_have_value(
            str(scenario_library.get(kind="receiver_down").pk)
        )
        manager.get_by_label(centre_a.name).check()
        manager.get_by_label(centre_b.name).check()
        manager.get_by_label("Date et heure").fill(when.strftime("%Y-%m-%dT%H:%M"))
        manager.get_by_label("Titre").fill("Exercice régional A et B")
        manager.get_by_role("button", name="Planifier").click()
        expect(manager.locator("body")).to_contain_text("Exercice planifié.")
        expect(manager.get_by_test_id("exercise-status")).to_have_text("Planifié")
        expect(manager.get_by_test_id("exercise-centres")).to_contain_text(centre_b.name)
        expect(manager.get_by_test_id("inject")).to_have_count(4)

        manager.get_by_role("button", name="Lancer l’exercice (donner l’alerte)").click()
        expect(manager.get_by_test_id("exercise-status")).to_have_text("En cours")
        first = manager.get_by_test_id("inject").filter(has_text="T+30 min")
        first.get_by_role("button", name="Jouer maintenant").click()
        expect(manager.locator("body")).to_contain_text("Stimulus joué")
        expect(manager.get_by_test_id("inject").filter(has_text="T+30 min")).to_contain_text(
            "joué le"
        )
        manager.get_by_label("Stimulus libre").fill("La presse appelle le standard du centre A.")
        manager.get_by_role("button", name="Jouer ce stimulus maintenant").click()
        expect(manager.locator("body")).to_contain_text("Stimulus libre joué")
        expect(manager.get_by_test_id("inject")).to_have_count(5)

        # The referent of A sees the injects on the timeline and declares the crisis.
        exercise = Exercise.objects.get()
        crisis = exercise.crises.get(centre=centre_a)
        log_in(ref, live_server, "referent_a")
        ref.goto(f"{live_server.url}/continuite-cyber/crises/{crisis.pk}/")
        expect(ref.locator("body")).to_contain_text("[STIMULUS T+30 min] Le premier centre")
        expect(ref.locator("body")).to_contain_text("[STIMULUS LIBRE] La presse appelle")
        ref.get_by_role("button", name="Déclarer la crise").click()
        expect(ref.get_by_test_id("crisis-status")).to_contain_text("Déclarée")
        ref.get_by_role("link", name="Joué dans l’exercice").click()
        metrics = ref.locator("#exercise-metrics")
        row_a = metrics.locator("tbody tr").filter(has_text=centre_a.label)
        expect(row_a.locator("td").first).to_contain_text("min")
        if phone:
            expect(metrics.locator("tbody tr").first).to_have_css("display", "block")
            _no_horizontal_scroll(ref)

        # A RETEX action, overdue, then started.
        ref.get_by_role("link", name="Ajouter une action RETEX").click()
        ref.get_by_label("Action").fill("Replacer les patients sans le premier receveur")
        ref.get_by_label("Responsable").fill("Cadre de santé, centre A")
        ref.get_by_label("Échéance").fill(due.isoformat())
        ref.get_by_role("button", name="Enregistrer").click()
        expect(ref.locator("body")).to_contain_text("Action RETEX ajoutée.")
        action = (
            ref.get_by_test_id("retex-actions")
            .locator("tbody tr")
            .filter(has_text="Replacer les patients")
        )
        expect(action).to_contain_text("Cadre de santé, centre A")
        expect(action).to_contain_text(due.strftime("%d/%m/%Y"))
        expect(action).to_contain_text("en retard")
        expect(action).to_contain_text("À faire")
        action.get_by_role("button", name="Commencer").click()
        expect(
            ref.get_by_test_id("retex-actions").locator("tbody tr").filter(has_text="Replacer")
        ).to_contain_text("En cours")
        if phone:
            _no_horizontal_scroll(ref)

        # The project manager ends the exercise; the action stays on the overview.
        manager.reload()
        manager.get_by_role("button", name="Terminer l’exercice").click()
        expect(manager.get_by_test_id("exercise-status")).to_have_text("Réalisé")
        manager.goto(f"{live_server.url}/continuite-cyber/synthese/")
        expect(manager.get_by_test_id("retex-actions")).to_contain_text("Replacer les patients")
        if phone:
            _no_horizontal_scroll(manager)
    finally:
        ref_context.close()
        pm_context.close()
