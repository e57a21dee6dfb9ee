"""The Django admin under the production Content-Security-Policy (real Chromium): its
changelists, change forms with inlines and widgets, and delete confirmations raise no
violation (the browser fixtures fail the test on one), and the admin's JavaScript works."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cyber_continuity.models import ExerciseScenario, ScenarioInject
from tests.browser_helpers import log_in, verify_second_factor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin_page(page, live_server, admin_user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=admin_user, name="phone", confirmed=True)
    log_in(page, live_server, "admin_it")
    verify_second_factor(page, admin_user)
    return page


def test_admin_pages_run_their_scripts_without_csp_violation(admin_page, live_server, centre_a):
    page = admin_page
    scenario = ExerciseScenario.objects.create(title="Rançongiciel", kind="ransomware_ois")
    ScenarioInject.objects.create(scenario=scenario, minutes_after_start=5, text="Alerte")

    page.goto(f"{live_server.url}/admin/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    # Changelist: the action bar's "select all" checkbox is driven by actions.js.
    page.goto(f"{live_server.url}/admin/onco_hdf/centre/")
    expect(page.locator("#result_list")).to_contain_text(centre_a.name)
    page.locator("#action-toggle").check()
    expect(page.locator(".action-counter")).to_contain_text("1 sur 1")

    # Change form with an inline: "add another" (inlines.js) adds a row.
    page.goto(f"{live_server.url}/admin/cyber_continuity/exercisescenario/{scenario.pk}/change/")
    rows = page.locator("#injects-group tbody tr.form-row:not(.empty-form)")
    expect(rows).to_have_count(1)
    page.locator("#injects-group .add-row a").click()
    expect(rows).to_have_count(2)

    # Date and time widgets (DateTimeShortcuts.js, calendar.js).
    page.goto(f"{live_server.url}/admin/cyber_continuity/exercise/add/")
    page.locator(".datetimeshortcuts").first.get_by_role("link", name="Aujourd'hui").click()
    expect(page.locator("#id_planned_for_0")).not_to_have_value("")
    page.locator("#calendarlink0").click()
    expect(page.locator("#calendarbox0")).to_be_visible()

    # Autocomplete (select2) on a foreign key.
    page.goto(f"{live_server.url}/admin/onco_hdf/membership/add/")
    page.locator(".select2-selection").first.click()
    expect(page.locator(".select2-results")).to_contain_text(centre_a.name)

    # Delete confirmation, then the deletion itself.
    page.goto(f"{live_server.url}/admin/cyber_continuity/exercisescenario/{scenario.pk}/delete/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.get_by_role("button", name="Oui, je suis sûr").click()
    expect(page.locator(".messagelist")).to_contain_text("Rançongiciel")
    assert not ExerciseScenario.objects.filter(pk=scenario.pk).exists(), (
        page.locator(".messagelist").inner_text(),
        list(ExerciseScenario.objects.values_list("pk", "title")),
    )
