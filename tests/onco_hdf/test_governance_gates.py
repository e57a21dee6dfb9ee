"""COPIL validation gates in the apps: nothing is published or used before the COPIL
validated that exact version (or the project manager justified an override); badges."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from cyber_continuity import services as cyber_services
from habilitations import services as hab_services
from habilitations.models import HabilitationSheet
from onco_hdf import governance, services
from onco_hdf.models import CopilMeeting, Outcome
from surveys import services as survey_services
from surveys.models import VersionStatus
from tests.conftest import login
from tests.habilitations.factories import catalogue
from tests.surveys.factories import questionnaire_data

pytestmark = [pytest.mark.django_db, pytest.mark.copil_gates]

NOT_VALIDATED = "n’a pas été validé en COPIL"


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def decide(pm, copil, artefact, outcome=Outcome.VALIDATED, held_on=None):
    meeting = services.copil_meeting_save(
        meeting=CopilMeeting(
            held_on=held_on or timezone.localdate(), title="COPIL", agenda="Validation", quorum=2
        ),
        attendees=[pm, copil],
        user=pm,
    )
    decision = services.copil_decision_add(meeting=meeting, artefact=artefact, summary="", user=pm)
    return services.copil_decision_record(decision=decision, outcome=outcome, user=pm)


def draft_version():
    return survey_services.questionnaire_import(data=questionnaire_data())


def test_a_questionnaire_version_is_not_opened_before_the_copil_validates_it(pm, copil):
    version = draft_version()
    with pytest.raises(ValidationError, match=NOT_VALIDATED):
        survey_services.version_publish(version=version, user=pm)
    decide(pm, copil, version, Outcome.REFUSED)
    with pytest.raises(ValidationError, match=NOT_VALIDATED):
        survey_services.version_publish(version=version, user=pm)
    version.refresh_from_db()
    assert version.status == VersionStatus.DRAFT
    decide(pm, copil, version, Outcome.VALIDATED)
    survey_services.version_publish(version=version, user=pm)
    version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED
    # The decision was about v1: the next version needs its own.
    v2 = survey_services.version_new_draft(version=version, user=pm)
    with pytest.raises(ValidationError, match=NOT_VALIDATED):
        survey_services.version_publish(version=v2, user=pm)


def test_publishing_in_the_page_before_the_decision_shows_why(pm):
    version = draft_version()
    client = login(pm)
    response = client.post(reverse("surveys:version-publish", args=[version.pk]), follow=True)
    assert response.status_code == 200
    assert NOT_VALIDATED in response.content.decode()
    version.refresh_from_db()
    assert version.status == VersionStatus.DRAFT


def test_a_justified_override_lets_the_version_open_and_is_listed(pm):
    version = draft_version()
    services.gate_override_grant(
        artefact=version, reason="Campagne avancée à la demande de l’ARS, COPIL en juin.", user=pm
    )
    survey_services.version_publish(version=version, user=pm)
    version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED
    page = login(pm).get("/copil/derogations/").content.decode()
    assert "Campagne avancée à la demande de l’ARS" in page
    with pytest.raises(ValidationError, match="déjà"):
        services.gate_override_grant(artefact=version, reason="x" * 30, user=pm)


def test_a_convention_template_version_is_not_used_before_the_copil_validates_it(
    pm, copil, centre_a, centre_b, referent_a
):
    template = cyber_services.template_create(title="Convention type (test)", user=pm)
    version = cyber_services.template_version_publish(version=template.versions.get(), user=pm)

    def create():
        return cyber_services.convention_create(
            template_version=version,
            centres=[centre_a, centre_b],
            title="Entraide A — B",
            user=referent_a,
        )

    with pytest.raises(ValidationError, match=NOT_VALIDATED):
        create()
    assert not version.conventions.exists()
    decide(pm, copil, version, Outcome.VALIDATED)
    convention = create()
    assert convention.template_version == version


def test_a_catalogue_version_is_not_used_for_new_sheets_before_validation(
    pm, copil, oncologist_a, centre_a
):
    version = catalogue()

    def create():
        today = hab_services.today()
        return hab_services.sheet_create(
            user=oncologist_a,
            sheet=HabilitationSheet(
                physician=oncologist_a,
                centre=centre_a,
                post="PH",
                rpps="12345678901",
                start_date=today,
                rp_training_date=today,
                rp_training_expiry=today + dt.timedelta(days=300),
            ),
        )

    with pytest.raises(ValidationError, match=NOT_VALIDATED):
        create()
    decide(pm, copil, version)
    assert create().catalogue_version == version


def test_badge_on_the_artefact_page_links_to_the_decision(pm, copil, referent_a):
    version = draft_version()
    decision = decide(pm, copil, version, held_on=dt.date(2026, 3, 12))
    page = login(pm).get(reverse("surveys:version-detail", args=[version.pk])).content.decode()
    assert "Validé en COPIL le 12/03/2026" in page
    assert f'href="/copil/decisions/{decision.pk}/"' in page
    assert governance.badge_text(decision) == "validé en COPIL le 12/03/2026"


def test_badge_is_printed_in_the_convention_pdf(pm, copil, centre_a, centre_b, referent_a):
    template = cyber_services.template_create(title="Convention type (test)", user=pm)
    version = cyber_services.template_version_publish(version=template.versions.get(), user=pm)
    decide(pm, copil, version, held_on=dt.date(2026, 3, 12))
    convention = cyber_services.convention_create(
        template_version=version, centres=[centre_a, centre_b], title="Entraide", user=referent_a
    )
    response = login(referent_a).get(
        reverse("cyber_continuity:convention-pdf", args=[convention.pk])
    )
    text = " ".join(pdf_text(response.content).split())
    assert "validé en COPIL le 12/03/2026" in text
    assert "Version de convention type" in text
