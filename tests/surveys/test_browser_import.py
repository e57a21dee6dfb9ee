"""Playwright: the project manager imports a LimeSurvey .lss and a REDCap dictionary, reads
the preview of what is not carried over, and creates the drafts."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from surveys.models import Question
from tests.browser_helpers import log_in, verify_second_factor
from tests.requirements import need_shared_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_import_lss_and_redcap_with_preview(page, live_server, pm):
    census = need_shared_data("survey-imports", "ls2_group_relevance.lss")
    redcap = need_shared_data("survey-imports", "redcapAPI_TestRedcapAPI_DataDictionary.csv")
    TOTPDevice.objects.create(user=pm, name="phone", confirmed=True)
    log_in(page, live_server, "pm")
    verify_second_factor(page, pm)
    for path, remark, question in (
        (census, "count(p1_rel.NAOK", "p1_rel"),
        (redcap, "([left_operand])^2", "checkbox_test"),
    ):
        page.goto(f"{live_server.url}/enquetes/questionnaires/importer/")
        page.get_by_label("Fichier du questionnaire").set_input_files(str(path))
        page.get_by_role("button", name="Importer").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Aperçu de l’import")
        expect(page.get_by_test_id("import-notes")).to_contain_text(remark)
        page.get_by_role("button", name="Créer le brouillon").click()
        expect(page.get_by_text("Questionnaire importé comme brouillon.")).to_be_visible()
        expect(page.locator("body")).to_contain_text(question)
    assert Question.objects.get(code="p1_rel").choices.count() == 11
    assert Question.objects.filter(code="checkbox_test").exists()
