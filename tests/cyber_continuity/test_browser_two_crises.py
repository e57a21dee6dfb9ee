"""Two centres hit at once, on a desktop and on a 390 px phone.

CHU-like centre A is attacked while its matched receiver B is down too: B is listed apart,
the project manager types in the acceptance that Far gave by phone, and the crisis cannot
be stabilised or lifted while category-1 patients of A are not placed.
"""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from cyber_continuity import services
from cyber_continuity.models import Technique
from tests.browser_helpers import log_in, verify_second_factor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _page(browser, viewport):
    context = browser.new_context(locale="fr-FR", viewport=viewport)
    context.set_default_timeout(15_000)
    return context, context.new_page()


def _no_horizontal_scroll(page):
    page.wait_for_function("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_two_crises_phone_acceptance_and_no_lifting(
    browser, live_server, region, referent_a, pm, device
):
    TOTPDevice.objects.create(user=pm, name="test", confirmed=True)
    services.crisis_declare(
        centre=region["b"], systems_down=["ois"], description="Réseau coupé", user=pm
    )
    crisis = services.crisis_declare(
        centre=region["a"], systems_down=["ois", "tps"], description="", user=referent_a
    )
    group = services.patient_group_add(
        crisis=crisis,
        user=referent_a,
        label="VMAT ORL",
        technique=Technique.IMRT_VMAT,
        category=1,
        patient_count=3,
        fractions_left=20,
        last_fraction_on=timezone.localdate(),
    )
    crisis_url = f"{live_server.url}/continuite-cyber/crises/{crisis.pk}/"
    phone = device == "phone"
    ref_context, ref = _page(browser, VIEWPORTS[device])
    pm_context, manager = _page(browser, VIEWPORTS[device])
    try:
        log_in(ref, live_server, "referent_a")
        ref.goto(f"{live_server.url}/continuite-cyber/crises/groupes/{group.pk}/")
        apart = ref.locator("#unavailable-receivers")
        expect(apart).to_contain_text(region["b"].label)
        expect(apart).to_contain_text("crise en cours dans ce centre (Déclarée)")
        expect(ref.get_by_role("button", name=f"Proposer à {region['b'].label}")).to_have_count(0)
        propose = ref.get_by_role("button", name="Proposer à Far")
        if phone:
            expect(ref.locator("table.table-cards tbody tr").first).to_have_css("display", "block")
            _no_horizontal_scroll(ref)
        propose.scroll_into_view_if_needed()
        expect(propose).to_be_in_viewport()
        ref.get_by_label("Nombre de patients pour Far").fill("1")
        propose.click()
        expect(ref.locator("body")).to_contain_text("Transfert proposé")
        expect(ref.get_by_test_id("crisis-status")).to_contain_text("Transferts en cours")
        if phone:
            _no_horizontal_scroll(ref)

        # Stabilising is refused while 2 category-1 patients are unplaced and one is proposed.
        expect(ref.locator("#unplaced-warnings")).to_contain_text("2 patient(s) de catégorie 1")
        ref.get_by_role("button", name="Marquer stabilisée").click()
        expect(ref.get_by_role("alert").first).to_contain_text("« Stabilisée » refusé")
        expect(ref.get_by_test_id("crisis-status")).to_contain_text("Transferts en cours")

        # The project manager records Far's acceptance, given by phone.
        log_in(manager, live_server, "pm")
        verify_second_factor(manager, pm)
        manager.goto(crisis_url)
        manager.get_by_role("link", name="Enregistrer une réponse téléphonique de Far").click()
        manager.get_by_label("Accepté").check()
        manager.get_by_label("Réponse donnée par").fill("Dr Martin, radiothérapeute d'astreinte")
        manager.get_by_label("Note").fill("Premier créneau demain 8 h")
        manager.get_by_role("button", name="Enregistrer la réponse").click()
        expect(manager.locator("body")).to_contain_text(
            "Réponse téléphonique enregistrée pour le compte du centre receveur"
        )
        expect(manager.locator("body")).to_contain_text(
            "Réponse donnée par téléphone par Dr Martin, radiothérapeute d'astreinte (Far)"
        )
        if phone:
            _no_horizontal_scroll(manager)

        # Stabilised with a reason; lifting is still refused: 2 category-1 patients unplaced.
        ref.goto(crisis_url)
        ref.get_by_label("Motif pour passer outre").fill("Deux patients suivis sur place")
        ref.get_by_role("button", name="Marquer stabilisée").click()
        expect(ref.get_by_test_id("crisis-status")).to_contain_text("Stabilisée")
        ref.get_by_role("button", name="Lever la crise").click()
        expect(ref.get_by_role("alert").first).to_contain_text("« Levée » refusé")
        expect(ref.get_by_test_id("crisis-status")).to_contain_text("Stabilisée")
        expect(ref.locator("#unplaced-warnings")).to_contain_text("VMAT ORL : 2 patient(s)")
    finally:
        ref_context.close()
        pm_context.close()
