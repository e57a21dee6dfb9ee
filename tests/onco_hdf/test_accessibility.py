"""Accessibility (RGAA spirit): axe-core's WCAG 2 A/AA rules on the main pages of each app.

axe-core 4.14 is vendored under tests/vendor (MPL-2.0), since nothing is downloaded here.
Only serious and critical violations fail the test; each one is listed with its element.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.browser_helpers import log_in, verify_second_factor
from tests.requirements import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = (REPO_ROOT / "tests/vendor/axe.min.js").read_text()

PAGES = {
    "cheffe.projet": [
        "/",
        "/centres/",
        "/utilisateurs/",
        "/rattachements/nouveau/",
        "/enquetes/",
        "/enquetes/questionnaires/",
        "/contourage/",
        "/contourage/protocole/",
        "/contourage/protocole/1/",
        "/contourage/protocole/nouvelle-version/",
        "/continuite-cyber/",
        "/continuite-cyber/synthese/",
        "/continuite-cyber/conventions/",
        "/habilitations/",
        "/copil/",
        "/copil/jalons/",
        "/copil/derogations/",
    ],
    "oncologue.lille": ["/", "/habilitations/", "/habilitations/fiches/nouvelle/", "/enquetes/"],
    "physicien.lille": ["/contourage/"],
}


def violations(page) -> list[str]:
    # Evaluated through the DevTools protocol, not as an inline <script>, which the
    # Content-Security-Policy refuses (and the fixtures would report as a violation).
    page.evaluate(f"() => {{ {AXE}\n; window.axe = axe; }}")
    result = page.evaluate("async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']})")
    return [
        f"{page.url}: {v['id']} ({v['impact']}) at {v['nodes'][0]['target']}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_main_pages_have_no_serious_accessibility_violation(page, live_server, settings):
    settings.TWO_FACTOR_REQUIRED = False
    call_command("seed_demo", allow_production=True)  # tests run with DEBUG off
    found = []
    page.goto(f"{live_server.url}/compte/connexion/")
    found += violations(page)
    for username, paths in PAGES.items():
        page.context.clear_cookies()
        log_in(page, live_server, username, password="demo-onco-hdf")
        for path in paths:
            page.goto(f"{live_server.url}{path}")
            assert page.title(), path
            found += violations(page)
    assert found == []


def test_second_factor_pages_are_accessible(page, live_server, pm):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    log_in(page, live_server, "pm")
    assert violations(page) == []  # the enrolment page with its QR code
    TOTPDevice.objects.filter(user=pm).update(confirmed=True)
    page.goto(f"{live_server.url}/")
    assert violations(page) == []  # the code prompt
    verify_second_factor(page, pm)
    expect(page.get_by_role("heading", level=1)).to_have_text("Tableau de bord régional")
