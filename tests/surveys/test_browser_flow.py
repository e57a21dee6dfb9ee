"""Playwright: an oncologist answers through the invitation link, resumes, submits; the
project manager downloads the survey report."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from docx import Document
from playwright.sync_api import expect
from pypdf import PdfReader

from surveys.models import Response, ResponseStatus
from tests.browser_helpers import log_in, verify_second_factor
from tests.onco_hdf.test_accessibility import violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_oncologist_answers_with_branching_resumes_elsewhere_and_submits(
    browser, live_server, token
):
    link = f"{live_server.url}/enquetes/r/{token}/"
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("S1. Première page")
    share = page.get_by_label("Part des patients")
    expect(share).to_be_hidden()  # shown only when the centre is equipped
    page.get_by_label("Oui", exact=True).check()
    share.wait_for(state="visible")
    page.get_by_label("Non", exact=True).check()
    share.wait_for(state="hidden")
    page.get_by_label("Oui", exact=True).check()
    share.fill("250")
    page.get_by_label("Xa").check()
    page.get_by_label("Nom court").fill("Mon centre")
    page.get_by_role("button", name="Page suivante").click()
    # Out of range: the page comes back with the message and every typed answer.
    expect(page.get_by_text("Saisissez un nombre entre 0 et 100.")).to_be_visible()
    expect(page.get_by_label("Nom court")).to_have_value("Mon centre")
    page.get_by_label("Part des patients").fill("60")
    page.get_by_role("button", name="Page suivante").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("S2. Deuxième page")
    context.close()

    # Another device: the same link finds the saved answers.
    other = browser.new_context(locale="fr-FR")
    page = other.new_page()
    page.goto(link)
    page.get_by_role("link", name="S1. Première page").click()
    expect(page.get_by_label("Nom court")).to_have_value("Mon centre")
    expect(page.get_by_label("Part des patients")).to_have_value("60")
    page.get_by_role("link", name="Relire et envoyer").click()
    expect(page.get_by_text("Mon centre")).to_be_visible()
    page.get_by_role("button", name="Envoyer la réponse").click()
    expect(page.get_by_text("Merci : votre réponse a été envoyée.")).to_be_visible()
    other.close()
    response = Response.objects.get()
    assert response.status == ResponseStatus.SUBMITTED
    assert response.snapshot["answers"]["Q2"]["value"] == 60.0


def test_project_manager_downloads_the_survey_report(page, live_server, pm, dataset):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=pm, name="phone", confirmed=True)
    log_in(page, live_server, "pm")
    verify_second_factor(page, pm)
    page.goto(f"{live_server.url}/enquetes/campagnes/{dataset.pk}/")
    expect(page.get_by_text("3 réponses envoyées sur 3 centres")).to_be_visible()
    page.get_by_role("link", name="Rapport d'enquête").click()
    page.get_by_role("button", name="Télécharger le PDF").click()
    page.wait_for_url("**/taches/*/")
    result = page.get_by_role("link", name="Ouvrir le résultat")
    result.wait_for(state="visible", timeout=60_000)
    with page.expect_download() as download_info:
        result.click()
    download = download_info.value
    assert download.suggested_filename == f"rapport-enquete-{dataset.pk}.pdf"
    text = "\n".join(
        p.extract_text() for p in PdfReader(io.BytesIO(Path(download.path()).read_bytes())).pages
    )
    flat = " ".join(text.replace("\u00a0", " ").split())
    assert "Rapport d'enquête" in text and "taux de réponse 100 % (3/3" in flat
    # The editable Word copy, offered next to the PDF, comes through the same job page.
    page.goto(f"{live_server.url}/enquetes/campagnes/{dataset.pk}/rapport/")
    expect(page.get_by_role("cell", name="Rapport d'enquête", exact=True)).to_be_visible()
    assert violations(page) == []
    page.get_by_role("button", name="Télécharger la copie Word (modifiable)").click()
    page.wait_for_url("**/taches/*/")
    result = page.get_by_role("link", name="Ouvrir le résultat")
    result.wait_for(state="visible", timeout=60_000)
    with page.expect_download() as download_info:
        result.click()
    word = download_info.value
    assert word.suggested_filename == f"rapport-enquete-{dataset.pk}.docx"
    document = Document(io.BytesIO(Path(word.path()).read_bytes()))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert "1. Principaux résultats" in headings and "3. Méthodes" in headings


def test_project_manager_builds_a_show_if_rule_with_the_editor(page, live_server, pm):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from surveys import services
    from tests.surveys.factories import questionnaire_data

    version = services.questionnaire_import(data=questionnaire_data())
    question = version.questions.get(code="Q4")
    TOTPDevice.objects.create(user=pm, name="phone", confirmed=True)
    log_in(page, live_server, "pm")
    verify_second_factor(page, pm)
    page.goto(f"{live_server.url}/enquetes/questions/{question.pk}/modifier/")
    editor = page.get_by_role("group", name="Afficher cette question seulement si")
    expect(
        editor.get_by_text("Aucune condition : la question est toujours affichée.")
    ).to_be_visible()
    # The JSON field is still there, folded as an advanced option.
    expect(page.get_by_label("Afficher si (règle JSON)")).to_be_hidden()

    editor.get_by_role("button", name="Ajouter une condition").click()
    first = editor.get_by_role("group", name="Condition 1")
    first.get_by_label("Question précédente").select_option("Q1")
    first.get_by_label("Opérateur").select_option("equals")
    assert first.get_by_label("Valeur").locator("option").all_inner_texts() == [
        "— choisir —",
        "a — Oui",
        "b — Non",
        "c — En projet",
    ]
    first.get_by_label("Valeur").select_option("c")

    # The second condition is built with the keyboard only.
    add = editor.get_by_role("button", name="Ajouter une condition")
    add.focus()
    page.keyboard.press("Enter")
    second = editor.get_by_role("group", name="Condition 2")
    questions = second.get_by_label("Question précédente")
    assert questions.evaluate("el => el === document.activeElement")
    assert questions.locator("option").all_inner_texts()[1:] == [
        "Q1 — Équipé ?",
        "Q2 — Part des patients",
        "Q3 — Solutions de {{Q1}}",
    ]  # only the questions before Q4
    questions.select_option("Q2")
    second.get_by_label("Opérateur").select_option("gte")
    second.get_by_label("Valeur").fill("10")
    editor.get_by_label("au moins une condition est remplie (ou)").check()
    page.get_by_text("Avancé : modifier la règle en JSON").click()
    expect(page.get_by_label("Afficher si (règle JSON)")).to_have_value(
        re.compile(re.escape('"any"'))
    )
    assert violations(page) == []  # labelled controls, groups with names (axe-core)

    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(f"**/versions/{version.pk}/**")
    expect(page.get_by_text("Question enregistrée.")).to_be_visible()
    question.refresh_from_db()
    assert question.show_if == {
        "any": [
            {"q": "Q1", "op": "equals", "value": "c"},
            {"q": "Q2", "op": "gte", "value": 10},
        ]
    }

    # Back on the page, the editor shows the stored rule.
    page.goto(f"{live_server.url}/enquetes/questions/{question.pk}/modifier/")
    second = editor.get_by_role("group", name="Condition 2")
    expect(second.get_by_label("Valeur")).to_have_value("10")
    expect(editor.get_by_label("au moins une condition est remplie (ou)")).to_be_checked()


def test_project_manager_revokes_then_reissues_an_invitation(page, live_server, pm, invitation):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from surveys.models import Invitation

    inv, token = invitation
    TOTPDevice.objects.create(user=pm, name="phone", confirmed=True)
    log_in(page, live_server, "pm")
    verify_second_factor(page, pm)
    page.goto(f"{live_server.url}/enquetes/campagnes/{inv.campaign_id}/")
    revoke = page.get_by_role("button", name="Révoquer — repondant@example.org")
    page.once("dialog", lambda dialog: dialog.dismiss())  # "Annuler": nothing happens
    revoke.click()
    assert Invitation.objects.get(pk=inv.pk).revoked_at is None
    messages = []

    def accept(dialog):
        messages.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    revoke.click()
    page.get_by_text("Révoquée le").wait_for()
    assert "Son lien cessera aussitôt de fonctionner" in messages[0]
    assert Invitation.objects.get(pk=inv.pk).revoked_at is not None
    page.goto(f"{live_server.url}/enquetes/r/{token}/")
    expect(page.get_by_text("Ce lien d’invitation a été révoqué")).to_be_visible()
    page.goto(f"{live_server.url}/enquetes/campagnes/{inv.campaign_id}/")
    page.get_by_role("button", name="Émettre un nouveau lien — repondant@example.org").click()
    expect(page.get_by_text("Un nouveau lien d’invitation a été envoyé")).to_be_visible()
    assert Invitation.objects.filter(revoked_at__isnull=True, email=inv.email).count() == 1
