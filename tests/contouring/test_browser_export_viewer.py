"""Playwright: the project manager picks two cases and exports their metrics as XLSX, then
scrolls through the slices in the viewer with a solution hidden."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from contouring import services
from contouring.overlays import slice_choices
from tests.browser_helpers import log_in, verify_second_factor
from tests.contouring.conftest import create_case, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pick_two_cases_export_xlsx_and_scroll_the_viewer(
    page, live_server, pm, centre_a, head_neck_files, pelvis_files
):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    cases = []
    for files, title in ((head_neck_files, "Cas ORL"), (pelvis_files, "Cas pelvien")):
        case = create_case(files, pm, title=title)
        submit(case, files, 0, centre_a, pm)
        services.comparison_run_start(case=case, user=pm, include_consensus=False)
        cases.append(case)
    left_out = create_case(head_neck_files, pm, title="Cas sans résultat")

    TOTPDevice.objects.create(user=pm, name="phone", confirmed=True)
    log_in(page, live_server, "pm")
    verify_second_factor(page, pm)

    page.goto(f"{live_server.url}/contourage/")
    page.locator(f"#export-case-{left_out.pk}").uncheck()
    expect(page.locator(f"#export-case-{cases[0].pk}")).to_be_checked()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Exporter (XLSX)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(Path(download.path()).read_bytes())).worksheets[0]
    titles = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert titles == {"Cas ORL", "Cas pelvien"}

    structure = cases[0].structures.get(name="Parotid_L")
    page.goto(f"{live_server.url}/contourage/cas/{cases[0].pk}/structures/{structure.pk}/")
    page.get_by_role("link", name="Ouvrir la visionneuse de coupes").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Visionneuse de coupes")
    number = page.locator("#viewer-slice-number")
    start = slice_choices(cases[0], structure, []).middle
    expect(number).to_have_text(str(start + 1))
    image = page.locator("#viewer-image")
    image.focus()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(number).to_have_text(str(start + 3))
    expect(page.locator("#viewer-slice")).to_have_value(str(start + 2))
    image.hover()
    page.mouse.wheel(0, -120)
    expect(number).to_have_text(str(start + 2))
    page.get_by_label(cases[0].submissions.get().short_label).uncheck()
    expect(image).to_have_attribute("src", re.compile(rf"/coupes/{start + 1}\.png\?s=-$"))
    page.get_by_label("Fenêtre scanner").select_option("bone")
    expect(image).to_have_attribute(
        "src", f"{image.get_attribute('src').split('?')[0]}?s=-&wl=bone"
    )
