"""The kept crisis kits of a centre on a 390 px phone: listed as cards, one downloaded."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from cyber_continuity.models import CrisisKitEdition
from tests.browser_helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_previous_kits_on_a_phone(browser, live_server, centre_a, referent_a):
    for day, reason in ((3, "monthly"), (17, "plan_change")):
        edition = CrisisKitEdition(
            centre=centre_a,
            reason=reason,
            created_at=datetime(2026, 11, day, 8, 0, tzinfo=ZoneInfo("Europe/Paris")),
        )
        edition.pdf.save("kit.pdf", ContentFile(b"%PDF-1.4 " + reason.encode()), save=False)
        edition.save()
    context = browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        log_in(page, live_server, "referent_a")
        page.goto(f"{live_server.url}/continuite-cyber/registre/{centre_a.pk}/")
        page.get_by_role("link", name="Kits de crise précédents").click()
        rows = page.locator("#kit-editions tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text("17/11/2026 08:00")
        expect(rows.first).to_contain_text("dernier")
        expect(rows.nth(1)).to_contain_text("Régénération mensuelle")
        expect(rows.first).to_have_css("display", "block")
        page.wait_for_function(
            "() => document.documentElement.scrollWidth <= window.innerWidth + 1"
        )
        with page.expect_download() as download:
            rows.nth(1).get_by_role("link", name="Télécharger (PDF)").click()
        assert download.value.suggested_filename == "kit-crise-a-20261103-0800.pdf"
        with open(download.value.path(), "rb") as pdf:
            assert pdf.read() == b"%PDF-1.4 monthly"
    finally:
        context.close()
