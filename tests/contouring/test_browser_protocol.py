"""Playwright: the project manager creates a protocol version from the current cases and
solutions, cannot mark the report final before the COPIL validated that version, then
marks it final once the decision is recorded; the badge shows on the protocol page."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from contouring import services
from onco_hdf import services as core_services
from onco_hdf.models import CopilMeeting, Outcome
from tests.browser_helpers import log_in, verify_second_factor
from tests.contouring.conftest import create_case, submit

pytestmark = [pytest.mark.browser, pytest.mark.copil_gates, pytest.mark.django_db(transaction=True)]


def test_protocol_version_then_final_report_in_the_browser(
    page, live_server, pm, copil, centre_a, pelvis_files
):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    case = create_case(pelvis_files, pm, title="Cas pelvien")
    submit(case, pelvis_files, 0, centre_a, pm)
    services.comparison_run_start(case=case, user=pm, include_consensus=False)

    TOTPDevice.objects.create(user=pm, name="phone", confirmed=True)
    log_in(page, live_server, "pm")
    verify_second_factor(page, pm)

    page.goto(f"{live_server.url}/contourage/")
    page.get_by_role("link", name="Protocole de comparaison").click()
    page.get_by_role("link", name="Créer une version du protocole").click()
    expect(page.get_by_label("Cas pelvien")).to_be_checked()
    page.get_by_label("Titre").fill("Protocole régional 2026")
    page.get_by_role("button", name="Créer la version").click()
    expect(page.locator("body")).to_contain_text("La version 1 du protocole a été créée.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Protocole régional 2026 v1")
    expect(page.locator("#report-status")).to_have_text("Brouillon")

    page.get_by_label("Commentaire").fill("Diffusion aux centres")
    page.get_by_role("button", name="Rendre le rapport final").click()
    expect(page.locator("body")).to_contain_text("n’a pas été validé en COPIL")
    expect(page.get_by_label("Commentaire")).to_have_value("Diffusion aux centres")
    expect(page.locator("#report-status")).to_have_text("Brouillon")

    from contouring.protocols import protocol_latest

    meeting = core_services.copil_meeting_save(
        meeting=CopilMeeting(
            held_on=dt.date(2026, 3, 12), title="COPIL", agenda="Protocole", quorum=2
        ),
        attendees=[pm, copil],
        user=pm,
    )
    decision = core_services.copil_decision_add(
        meeting=meeting, artefact=protocol_latest(), summary="", user=pm
    )
    core_services.copil_decision_record(decision=decision, outcome=Outcome.VALIDATED, user=pm)

    page.goto(f"{live_server.url}/contourage/protocole/{decision.object_id}/")
    expect(page.locator("a.copil-badge")).to_contain_text("Validé en COPIL le 12/03/2026")
    page.get_by_role("button", name="Rendre le rapport final").click()
    expect(page.locator("body")).to_contain_text("Le rapport de comparaison est désormais final.")
    expect(page.locator("#report-status")).to_have_text("Final")
    expect(page.locator("#report")).to_contain_text("Brouillon → Final")
    expect(page.get_by_role("button", name="Rendre le rapport final")).to_have_count(0)
