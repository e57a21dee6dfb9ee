"""Playwright: a CT series of 150 separate files is uploaded through the case form; above
the limit the browser says so in French before sending, and the chosen files stay chosen."""

from __future__ import annotations

import dataclasses

import pytest
from playwright.sync_api import expect

from contouring import phantoms
from contouring.models import ClinicalCase
from tests.browser_helpers import log_in, verify_second_factor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def long_series(tmp_path_factory):
    spec = dataclasses.replace(
        phantoms.PELVIS, key="pelvis150", shape=(150, 128, 128), spacing=(1.0, 3.0, 3.0)
    )
    return phantoms.write_case(spec, tmp_path_factory.mktemp("series150"), seed="s150")


def test_a_150_file_series_is_uploaded_one_file_per_slice(
    page, live_server, pm, long_series, settings
):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    assert len(long_series.ct_files) == 150
    files = [str(p) for p in long_series.ct_files]
    TOTPDevice.objects.create(user=pm, name="phone", confirmed=True)
    log_in(page, live_server, "pm")
    verify_second_factor(page, pm)

    # Over the limit: refused in the browser, nothing sent, the files and the title stay.
    settings.CONTOURING_MAX_FILES = 100
    page.goto(f"{live_server.url}/contourage/cas/nouveau/")
    page.get_by_label("Titre").fill("Série de 150 coupes")
    page.get_by_label("Série CT", exact=True).set_input_files(files)
    alert = page.locator(".upload-limit-error")
    expect(alert).to_contain_text(
        "Vous avez choisi 150 fichiers ; un dépôt en contient au plus 100."
    )
    page.get_by_role("button", name="Créer le cas").click()
    expect(alert).to_contain_text("Rien n'a été envoyé : votre choix est conservé")
    expect(page.locator(".upload-count")).to_contain_text("150 fichier(s) choisi(s)")
    expect(page.get_by_label("Titre")).to_have_value("Série de 150 coupes")
    assert ClinicalCase.objects.count() == 0

    # Within the limit: the 150 files and the reference go through.
    settings.CONTOURING_MAX_FILES = 3000
    page.goto(f"{live_server.url}/contourage/cas/nouveau/")
    page.get_by_label("Titre").fill("Série de 150 coupes")
    page.get_by_label("Localisation anatomique").select_option("prostate")
    page.get_by_label("Série CT", exact=True).set_input_files(files)
    expect(page.locator(".upload-count")).to_contain_text("150 fichier(s) choisi(s)")
    expect(page.locator(".upload-limit-error")).to_be_hidden()
    page.get_by_label("RTSTRUCT de référence").set_input_files(str(long_series.reference))
    page.get_by_role("button", name="Créer le cas").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Série de 150 coupes", timeout=60_000)
    assert ClinicalCase.objects.get().ct_slice_count == 150
