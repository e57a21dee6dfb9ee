"""Playwright: the project manager attaches the reference RTDOSE to a case (a wrong file
first), edits the clinical objectives, runs the comparison and reads the dosimetric impact:
ΔD per solution and the DVH figure."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from contouring import phantoms
from contouring.models import CaseDose, StructureDose
from onco_hdf.numbers import format_number
from tests.browser_helpers import log_in, verify_second_factor
from tests.contouring.conftest import DOSED_SOLUTIONS, create_case, submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _signed(value: float, decimals: int) -> str:
    return ("+" if value > 0 else "\u2212") + format_number(abs(value), decimals)


def test_dose_attached_objectives_edited_and_delta_d_shown(
    page, live_server, pm, centre_a, pelvis_files
):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    case = create_case(pelvis_files, pm, title="Pelvis dose navigateur")
    for index in DOSED_SOLUTIONS:
        submit(case, pelvis_files, index, centre_a, pm)
    # The phantom's plan-like dose (78 Gy around the prostate), a few hundred kB.
    dose_path = pelvis_files.folder / "RD_browser.dcm"
    phantoms.write_rtdose(pelvis_files.spec, dose_path, phantoms.case_uids(pelvis_files.spec))

    TOTPDevice.objects.create(user=pm, name="phone", confirmed=True)
    log_in(page, live_server, "pm")
    verify_second_factor(page, pm)

    # A wrong file (the reference RTSTRUCT): the French error, the form still there, no dose.
    page.goto(f"{live_server.url}/contourage/cas/{case.pk}/")
    page.get_by_role("link", name="Associer la dose de référence (RTDOSE)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Associer la dose de référence")
    page.get_by_label("RTDOSE du plan de référence").set_input_files(str(pelvis_files.reference))
    page.get_by_role("button", name="Déposer").click()
    expect(
        page.get_by_text(
            "Le fichier RS_reference.dcm est de modalité RTSTRUCT, "
            "alors que RTDOSE est attendu ici."
        )
    ).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Associer la dose de référence")
    expect(page.get_by_label("RTDOSE du plan de référence")).to_be_visible()
    expect(page.get_by_label("RTPLAN (facultatif)")).to_be_visible()
    assert not CaseDose.objects.filter(case=case).exists()

    page.get_by_label("RTDOSE du plan de référence").set_input_files(str(dose_path))
    page.get_by_role("button", name="Déposer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pelvis dose navigateur")
    expect(
        page.get_by_text("La dose de référence a été associée ; elle a été désidentifiée.")
    ).to_be_visible()
    expect(page.locator("#case-dose")).to_contain_text("78,00 Gy")
    expect(page.get_by_role("link", name="Remplacer la dose de référence")).to_be_visible()

    # The objectives table: a Vx Gy without its x is refused, what was typed stays.
    page.goto(f"{live_server.url}/contourage/objectifs/")
    page.get_by_role("link", name="Ajouter un objectif").click()
    page.get_by_label("structure (nom TG-263)").fill("Rectum")
    page.get_by_label("localisation anatomique").select_option("prostate")
    page.get_by_label("métrique").select_option("v_gy")
    page.get_by_label("comparaison").select_option("lt")
    page.get_by_label("seuil").fill("35,5")
    page.get_by_label("note / source").fill("Protocole local 2026")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Indiquez le x de cette métrique (Dx % ou Vx Gy).")).to_be_visible()
    expect(page.get_by_label("structure (nom TG-263)")).to_have_value("Rectum")
    expect(page.get_by_label("seuil")).to_have_value("35,5")
    expect(page.get_by_label("note / source")).to_have_value("Protocole local 2026")
    page.get_by_label("x (% ou Gy)").fill("45")
    page.get_by_role("button", name="Enregistrer").click()
    table = page.locator("#objectives")
    row = table.get_by_role("row").filter(has_text="Protocole local 2026")
    expect(row).to_contain_text("V45\u00a0Gy")
    expect(row).to_contain_text("<\u00a035,5\u00a0%")
    # Edited: the threshold lowered to 30 %.
    row.get_by_role("link", name=re.compile(r"^Modifier Rectum V45")).click()
    expect(page.get_by_label("seuil")).to_have_value("35,5")
    page.get_by_label("seuil").fill("30")
    page.get_by_role("button", name="Enregistrer").click()
    expect(
        page.get_by_text(re.compile(r"L’objectif Rectum V45\u00a0Gy <\u00a030\u00a0% a été"))
    ).to_be_visible()
    expect(row).to_contain_text("<\u00a030\u00a0%")

    # The comparison computes the DVHs; the results show ΔD and the DVH figure.
    page.goto(f"{live_server.url}/contourage/cas/{case.pk}/")
    # Tasks run in the request here: the page answers once every DVH is computed.
    with page.expect_navigation(timeout=300_000):
        page.get_by_role("button", name="Lancer la comparaison").click(no_wait_after=True)
    page.locator(".job-progress .progress-bar").filter(has_text="100 %").wait_for(timeout=90_000)
    result = page.get_by_role("link", name="Ouvrir le résultat")
    result.wait_for(state="visible", timeout=60_000)
    result.click()
    expect(page.get_by_role("heading", name="Impact dosimétrique")).to_be_visible()
    rectum_pk = case.structures.get(name="Rectum").pk
    rectum = page.locator(f"#dose-impact-{rectum_pk}")
    reference = StructureDose.objects.get(case=case, structure_id=rectum_pk, set_key="reference")
    margin = StructureDose.objects.get(
        case=case, structure_id=rectum_pk, submission__solution__product__startswith="AutoContour A"
    )
    line = rectum.locator("tr.dose-line-solution").filter(has_text="AutoContour A")
    expect(line.locator("td").nth(1)).to_have_text(format_number(margin.dmean_gy, 2))
    delta = margin.dmean_gy - reference.dmean_gy
    percent = 100 * delta / reference.dmean_gy
    expect(line.locator("td.dose-delta").first).to_have_text(
        f"{_signed(delta, 2)}\u00a0Gy ({_signed(percent, 1)}\u00a0%)"
    )
    # The edited objective judges V45 Gy (its level is now computed for the rectum).
    expect(rectum.get_by_role("columnheader", name="V45\u00a0Gy (%)")).to_be_visible()
    expect(line).to_contain_text("V45\u00a0Gy <\u00a030\u00a0%")
    # Both consensus have their line (the STAPLE one computed on its own mask).
    expect(rectum.locator("tr.dose-line-consensus")).to_contain_text(
        "Consensus par vote majoritaire"
    )
    expect(rectum.locator("tr.dose-line-staple")).to_contain_text("Consensus STAPLE")
    chart = rectum.locator("figure.dvh-chart svg")
    expect(chart).to_be_visible()
    expect(chart).to_contain_text("HDV cumulé — Rectum")
    expect(chart.locator('polyline[stroke="#000000"]')).to_have_count(1)
    expect(chart.locator('polyline[stroke="#56b4e9"]')).to_have_count(1)
