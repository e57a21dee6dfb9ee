"""In a real browser: the project manager cannot publish a questionnaire version before the
COPIL decided, records a meeting with decisions on the questionnaire version and on a
convention template version, then publishes; the badge shows on the version."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from cyber_continuity import services as cyber_services
from surveys import services as survey_services
from tests.browser_helpers import log_in, verify_second_factor
from tests.surveys.factories import questionnaire_data

pytestmark = [
    pytest.mark.browser,
    pytest.mark.copil_gates,
    pytest.mark.django_db(transaction=True),
]


def test_meeting_with_two_decisions_recorded_in_the_browser(page, live_server, pm, copil):
    version = survey_services.questionnaire_import(data=questionnaire_data())
    template = cyber_services.template_create(title="Convention type (test)", user=pm)
    template_version = cyber_services.template_version_publish(
        version=template.versions.get(), user=pm
    )
    TOTPDevice.objects.create(user=pm, name="test", confirmed=True)
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server, "pm")
    verify_second_factor(page, pm)

    page.goto(f"{live_server.url}/enquetes/versions/{version.pk}/")
    page.get_by_role("button", name="Publier").click()
    expect(page.locator("body")).to_contain_text("n’a pas été validé en COPIL")

    page.goto(f"{live_server.url}/copil/reunions/nouvelle/")
    page.get_by_label("Date").fill(timezone.localdate().isoformat())
    page.get_by_label("Titre").fill("COPIL radiothérapie de mars")
    page.get_by_label("Ordre du jour").fill("Questionnaire\nConvention type")
    page.get_by_label("Quorum").fill("2")
    page.get_by_label("Pm Test").check()
    page.get_by_label("Copil Test").check()
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("body")).to_contain_text("Réunion enregistrée")
    expect(page.locator("#quorum")).to_contain_text("quorum atteint")

    for label in (str(version), str(template_version)):
        page.get_by_label("Livrable et version").select_option(label=label)
        page.get_by_role("button", name="Ajouter à l’ordre du jour").click()
        expect(page.locator("body")).to_contain_text("Point ajouté à l’ordre du jour")
    expect(page.locator("#decisions")).to_contain_text("Convention type (test) — v1")

    page.get_by_role(
        "link", name=f"Enregistrer la décision sur Version de questionnaire — {version}"
    ).click()
    page.get_by_label("Décision").select_option(label="Validé")
    page.get_by_role("button", name="Enregistrer la décision").click()
    expect(page.locator("#decisions")).to_contain_text("Validé")

    page.get_by_role("link", name="Enregistrer la décision sur Version de convention type").click()
    page.get_by_label("Décision").select_option(label="Validé avec réserves")
    page.get_by_label("Réserves").fill("Préciser l’article sur les transports.")
    page.get_by_label("Avis du conseil scientifique").select_option(label="Favorable")
    page.get_by_label("Date de l’avis").fill("2026-03-02")
    page.get_by_role("button", name="Enregistrer la décision").click()
    expect(page.locator("#decisions")).to_contain_text("Préciser l’article sur les transports.")

    page.goto(f"{live_server.url}/enquetes/versions/{version.pk}/")
    page.get_by_role("button", name="Publier").click()
    expect(page.locator("body")).to_contain_text("La version est publiée")
    day = timezone.localdate().strftime("%d/%m/%Y")
    expect(page.locator("a.copil-badge")).to_contain_text(f"Validé en COPIL le {day}")
    page.locator("a.copil-badge").click()
    expect(page.locator("#outcome")).to_contain_text("Validé")
