"""Playwright: the project manager imports a REDCap dictionary and a LimeSurvey .lss, reads
the preview of what is not carried over, creates the drafts, publishes them once the COPIL
gate is passed (a justified override), opens a campaign and invites; a respondent fills both
questionnaires through the invitation link, in French and in English, and the branching
works as in the source tool: a question stays hidden until its condition holds."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from surveys.models import Question, QuestionnaireVersion, Response, ResponseStatus
from tests.browser_helpers import log_in, verify_second_factor
from tests.requirements import need_shared_data

pytestmark = [
    pytest.mark.browser,
    pytest.mark.copil_gates,
    pytest.mark.django_db(transaction=True),
]
LINK_RE = re.compile(r"/enquetes/r/[\w-]+/")


def import_with_preview(page, live_server, path, remark: str) -> QuestionnaireVersion:
    page.goto(f"{live_server.url}/enquetes/questionnaires/importer/")
    page.get_by_label("Fichier du questionnaire").set_input_files(str(path))
    page.get_by_role("button", name="Importer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Aperçu de l’import")
    expect(page.get_by_test_id("import-notes")).to_contain_text(remark)
    page.get_by_role("button", name="Créer le brouillon").click()
    expect(page.get_by_text("Questionnaire importé comme brouillon.")).to_be_visible()
    return QuestionnaireVersion.objects.get(pk=int(re.search(r"/versions/(\d+)/", page.url)[1]))


def publish_with_override(page, live_server, version: QuestionnaireVersion) -> None:
    """Refused before the COPIL decided; a justified override recorded; then published."""
    page.goto(f"{live_server.url}/enquetes/versions/{version.pk}/")
    page.get_by_role("button", name="Publier").click()
    expect(page.locator("body")).to_contain_text("n’a pas été validé en COPIL")
    page.goto(f"{live_server.url}/copil/derogations/")
    page.get_by_label("Livrable et version").select_option(label=str(version))
    page.get_by_label("Justification").fill(
        "Questionnaire repris tel quel de l’outil source, COPIL de validation le mois prochain."
    )
    page.get_by_role("button", name="Accorder la dérogation").click()
    expect(page.get_by_text("Dérogation enregistrée.")).to_be_visible()
    page.goto(f"{live_server.url}/enquetes/versions/{version.pk}/")
    page.get_by_role("button", name="Publier").click()
    expect(page.get_by_text("La version est publiée ; elle est désormais figée.")).to_be_visible()


def open_campaign_and_invite(page, live_server, version, title: str, email: str) -> str:
    """The campaign of the published version for centre A; returns the invitation link."""
    page.goto(f"{live_server.url}/enquetes/campagnes/nouvelle/")
    page.locator("#id_title").fill(title)  # "Titre", not "Titre en anglais"
    page.get_by_label("Version de questionnaire").select_option(label=str(version))
    today = timezone.localdate()
    page.get_by_label("Ouverture le").fill((today - datetime.timedelta(days=1)).isoformat())
    page.get_by_label("Clôture le").fill((today + datetime.timedelta(days=30)).isoformat())
    page.get_by_label("Centre A (test)").check()
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Campagne enregistrée.")).to_be_visible()
    page.get_by_role("link", name="Envoyer des invitations").click()
    page.get_by_label("Centre A (test)").check()
    page.get_by_label("Autres adresses (une par ligne)").fill(email)
    page.get_by_role("button", name="Envoyer les invitations").click()
    expect(page.get_by_text("1 invitation envoyée.")).to_be_visible()
    sent = [m for m in mail.outbox if m.to == [email]]
    assert len(sent) == 1
    return live_server.url + LINK_RE.search(sent[0].body)[0]


def switch_language(page, name: str) -> None:
    """The language switch in the footer of every page."""
    page.locator("#lang-select").select_option(label=name)
    page.locator("#lang-select").locator("xpath=..").get_by_role("button").click()
    page.wait_for_load_state()


def test_import_publish_and_fill_with_branching_in_french_and_english(
    page, browser, live_server, pm, centre_a
):
    census = need_shared_data("survey-imports", "ls2_group_relevance.lss")
    redcap = need_shared_data("survey-imports", "redcapAPI_TestRedcapAPI_DataDictionary.csv")
    TOTPDevice.objects.create(user=pm, name="phone", confirmed=True)
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server, "pm")
    verify_second_factor(page, pm)
    links = {}
    for path, remark, key in (
        (census, "count(p1_rel.NAOK", "census"),  # the "Finished" group's relevance
        (redcap, "dépôt de fichier sans équivalent", "redcap"),  # file and signature fields
    ):
        version = import_with_preview(page, live_server, path, remark)
        publish_with_override(page, live_server, version)
        links[key] = open_campaign_and_invite(
            page, live_server, version, f"Campagne {key}", f"{key}@example.org"
        )
    assert Question.objects.get(code="p1_rel").choices.count() == 11

    # REDCap, in French: "one_prereq_non_checkbox" is asked only if [prereq_radio] = '1'.
    context = browser.new_context(locale="fr-FR")
    respondent = context.new_page()
    respondent.goto(links["redcap"])
    respondent.goto(respondent.url.replace("/page/record_id/", "/page/branching_logic__s2/"))
    dependent = respondent.locator("#question-one_prereq_non_checkbox")
    expect(respondent.get_by_role("group", name="Requires no pre-requisite")).to_be_visible()
    expect(dependent).to_have_count(1)
    expect(dependent).to_be_hidden()
    respondent.get_by_role("button", name="Page précédente").click()
    expect(respondent.get_by_role("heading", level=1)).to_have_text(
        "branching_logic. Prerequisites"
    )
    respondent.get_by_label("Radio1", exact=True).check()
    respondent.get_by_role("button", name="Page suivante").click()
    expect(dependent).to_be_visible()
    respondent.get_by_label("Book").check()
    respondent.get_by_role("button", name="Page suivante").click()
    respondent.get_by_role("link", name="Relire et envoyer").first.click()
    expect(respondent.get_by_text("Book", exact=True)).to_be_visible()
    respondent.get_by_role("button", name="Envoyer la réponse").click()
    expect(respondent.get_by_text("Merci : votre réponse a été envoyée.")).to_be_visible()
    context.close()

    # LimeSurvey, switched to English: gender is relevant once the name is given, age once
    # the gender is; the options of the gender question come in English too.
    context = browser.new_context(locale="fr-FR")
    respondent = context.new_page()
    respondent.goto(links["census"])
    gender = respondent.locator("#question-gender")
    expect(gender).to_have_count(1)
    expect(gender).to_contain_text("Are your male or female?")
    expect(gender).to_be_hidden()
    expect(respondent.get_by_role("button", name="Page suivante")).to_be_visible()
    switch_language(respondent, "Anglais")
    expect(respondent.get_by_role("button", name="Next page")).to_be_visible()
    expect(gender).to_be_hidden()
    respondent.get_by_label("What is your name?").fill("Alice")
    expect(gender).to_be_visible()
    age = respondent.get_by_label("How old are you?")
    expect(age).to_be_hidden()
    gender.get_by_label("Female", exact=True).check()
    expect(age).to_be_visible()
    age.fill("40")
    cohabs = respondent.get_by_label("How many people live with you?")
    cohabs.fill("1")
    respondent.get_by_role("button", name="Next page").click()
    expect(respondent.get_by_role("heading", level=1)).to_have_text("Person_1. Person 1")
    expect(respondent.get_by_role("group", name="Is this person male or female?")).to_be_visible()
    # Back in French: the same answers, the options in French.
    switch_language(respondent, "French")
    respondent.get_by_role("button", name="Page précédente").click()
    expect(respondent.get_by_label("Femme", exact=True)).to_be_checked()
    expect(respondent.get_by_label("What is your name?")).to_have_value("Alice")
    context.close()

    submitted = Response.objects.get(campaign__title="Campagne redcap")
    assert submitted.status == ResponseStatus.SUBMITTED
    assert submitted.snapshot["answers"]["one_prereq_non_checkbox"]["display"] == "Book"
    assert "one_prereq_checkbox" not in submitted.snapshot["answers"]
    census_response = Response.objects.get(campaign__title="Campagne census")
    answers = {a.question.code: a for a in census_response.answers.select_related("question")}
    assert answers["gender"].value_text == "F" and answers["cohabs"].value_number == 1
