"""COPIL decision register: meetings, decisions on an artefact at a version, comments."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from onco_hdf import governance, services
from onco_hdf.models import CopilDecision, CopilMeeting, DecisionComment, MeetingStatus, Outcome
from surveys import services as survey_services
from tests.conftest import login, make_user
from tests.surveys.factories import questionnaire_data

pytestmark = pytest.mark.django_db


def today() -> dt.date:
    return timezone.localdate()


def draft_version():
    return survey_services.questionnaire_import(data=questionnaire_data())


def meeting_with(pm, attendees, *, held_on=None, quorum=2) -> CopilMeeting:
    meeting = CopilMeeting(
        held_on=held_on or today(), title="COPIL radiothérapie", agenda="Point 1\nPoint 2"
    )
    meeting.quorum = quorum
    return services.copil_meeting_save(meeting=meeting, attendees=attendees, user=pm)


def test_decision_records_the_artefact_at_its_version(pm, copil):
    version = draft_version()
    meeting = meeting_with(pm, [pm, copil])
    decision = services.copil_decision_add(
        meeting=meeting, artefact=version, summary="Première vague", user=pm
    )
    assert decision.version_label == "v1"
    assert decision.object_id == version.pk
    assert decision.artefact_label.startswith("Version de questionnaire — ")
    assert governance.validation_of(version) is None
    services.copil_decision_record(decision=decision, outcome=Outcome.VALIDATED, user=pm)
    assert governance.validation_of(version) == decision
    with pytest.raises(ValidationError, match="déjà à l’ordre du jour"):
        services.copil_decision_add(meeting=meeting, artefact=version, summary="", user=pm)


def test_quorum_reservations_and_council_opinion_are_checked(pm, copil):
    version = draft_version()
    meeting = meeting_with(pm, [pm], quorum=2)
    decision = services.copil_decision_add(meeting=meeting, artefact=version, summary="", user=pm)
    with pytest.raises(ValidationError, match="quorum n’est pas atteint"):
        services.copil_decision_record(decision=decision, outcome=Outcome.VALIDATED, user=pm)
    # Without quorum the item can still be postponed.
    services.copil_decision_record(decision=decision, outcome=Outcome.POSTPONED, user=pm)
    assert CopilDecision.objects.get().outcome == Outcome.POSTPONED
    meeting.attendees.add(copil)
    with pytest.raises(ValidationError, match="réserves"):
        services.copil_decision_record(
            decision=decision, outcome=Outcome.VALIDATED_WITH_RESERVATIONS, user=pm
        )
    with pytest.raises(ValidationError, match="date de l’avis"):
        services.copil_decision_record(
            decision=decision, outcome=Outcome.VALIDATED, council_opinion="favourable", user=pm
        )
    services.copil_decision_record(
        decision=decision,
        outcome=Outcome.VALIDATED_WITH_RESERVATIONS,
        reservations="Reformuler la question Q2.",
        council_opinion="favourable",
        council_opinion_on=dt.date(2026, 3, 2),
        council_text="Avis favorable du conseil scientifique.",
        user=pm,
    )
    decision.refresh_from_db()
    assert decision.reservations == "Reformuler la question Q2."
    assert decision.council_opinion_on == dt.date(2026, 3, 2)
    assert decision.decided_by == pm


def test_a_future_meeting_cannot_record_decisions(pm, copil):
    meeting = meeting_with(pm, [pm, copil], held_on=today() + dt.timedelta(days=10))
    decision = services.copil_decision_add(
        meeting=meeting, artefact=draft_version(), summary="", user=pm
    )
    with pytest.raises(ValidationError, match="pas encore eu lieu"):
        services.copil_decision_record(decision=decision, outcome=Outcome.VALIDATED, user=pm)


def test_comments_close_once_decided_and_a_held_meeting_is_frozen(pm, copil):
    meeting = meeting_with(pm, [pm, copil])
    decision = services.copil_decision_add(
        meeting=meeting, artefact=draft_version(), summary="", user=pm
    )
    services.copil_decision_comment(decision=decision, user=copil, text="D’accord sur le fond.")
    with pytest.raises(ValidationError, match="Enregistrez la décision"):
        services.copil_meeting_close(meeting=meeting, user=pm)
    services.copil_decision_record(decision=decision, outcome=Outcome.REFUSED, user=pm)
    with pytest.raises(ValidationError, match="commentaires"):
        services.copil_decision_comment(decision=decision, user=copil, text="Trop tard ?")
    services.copil_meeting_close(meeting=meeting, user=pm)
    assert CopilMeeting.objects.get().status == MeetingStatus.HELD
    with pytest.raises(ValidationError, match="clôturée"):
        services.copil_decision_record(decision=decision, outcome=Outcome.VALIDATED, user=pm)
    assert DecisionComment.objects.count() == 1


def test_minutes_upload_accepts_only_pdf(pm, copil):
    meeting = meeting_with(pm, [pm, copil])
    with pytest.raises(ValidationError, match="PDF"):
        services.copil_meeting_minutes_upload(
            meeting=meeting,
            upload=SimpleUploadedFile("cr.pdf", b"<html>not a pdf</html>"),
            user=pm,
        )
    services.copil_meeting_minutes_upload(
        meeting=meeting, upload=SimpleUploadedFile("cr.pdf", b"%PDF-1.4\n%%EOF"), user=pm
    )
    assert CopilMeeting.objects.get().minutes_file.read().startswith(b"%PDF-")


def test_pm_records_a_meeting_in_the_browser_pages_and_copil_comments(pm, copil):
    version = draft_version()
    client = login(pm)
    data = {
        "held_on": "",
        "title": "COPIL de mars",
        "location": "Lille",
        "agenda": "Validation du questionnaire\nConvention type",
        "quorum": "2",
        "attendees": [str(pm.pk), str(copil.pk)],
    }
    bad = client.post("/copil/reunions/nouvelle/", data).content.decode()
    assert "Ce champ est obligatoire" in bad
    assert 'value="COPIL de mars"' in bad  # nothing typed is lost
    data["held_on"] = today().strftime("%d/%m/%Y")
    response = client.post("/copil/reunions/nouvelle/", data)
    meeting = CopilMeeting.objects.get()
    assert response["Location"] == f"/copil/reunions/{meeting.pk}/"
    assert set(meeting.attendees.all()) == {pm, copil}

    key = f"{governance.artefact_ref(version).content_type_id}:{version.pk}"
    response = client.post(
        f"/copil/reunions/{meeting.pk}/points/ajouter/", {"artefact": key, "summary": "V1"}
    )
    assert response.status_code == 302
    decision = CopilDecision.objects.get()
    bad = client.post(f"/copil/reunions/{meeting.pk}/points/ajouter/", {"artefact": "0:0"})
    assert bad.status_code == 400 and "Sélectionnez un choix valide" in bad.content.decode()

    copil_client = login(copil)
    page = copil_client.get(f"/copil/decisions/{decision.pk}/").content.decode()
    assert "Envoyer le commentaire" in page
    copil_client.post(f"/copil/decisions/{decision.pk}/commenter/", {"text": "Bien construit."})
    page = copil_client.get(f"/copil/decisions/{decision.pk}/").content.decode()
    assert "Bien construit." in page
    assert copil_client.post(f"/copil/decisions/{decision.pk}/decider/", {}).status_code == 403

    bad = client.post(
        f"/copil/decisions/{decision.pk}/decider/",
        {"outcome": "validated_reservations", "reservations": ""},
    )
    assert bad.status_code == 400 and "Précisez les réserves" in bad.content.decode()
    client.post(
        f"/copil/decisions/{decision.pk}/decider/",
        {"outcome": "validated_reservations", "reservations": "Ajouter une question."},
    )
    decision.refresh_from_db()
    assert decision.outcome == Outcome.VALIDATED_WITH_RESERVATIONS
    page = client.get(f"/copil/reunions/{meeting.pk}/").content.decode()
    assert "Validé avec réserves" in page and "2 présents, 2 requis" in page
    client.post(f"/copil/reunions/{meeting.pk}/cloturer/")
    assert CopilMeeting.objects.get().status == MeetingStatus.HELD
    history = client.get(f"/historique/onco_hdf/copildecision/{decision.pk}/").content.decode()
    assert "Validé avec réserves" in history


def test_pm_grants_a_justified_override_listed_for_the_copil(pm, copil):
    version = draft_version()
    client = login(pm)
    key = f"{governance.artefact_ref(version).content_type_id}:{version.pk}"
    bad = client.post("/copil/derogations/", {"artefact": key, "reason": "urgent"})
    assert bad.status_code == 400 and "au moins 20 caractères" in bad.content.decode()
    assert "urgent" in bad.content.decode()
    reason = "Campagne à lancer avant le COPIL de juin (demande ARS)."
    response = client.post("/copil/derogations/", {"artefact": key, "reason": reason})
    assert response.status_code == 302
    assert governance.override_of(version).reason == reason
    assert reason in login(copil).get("/copil/derogations/").content.decode()
    assert login(copil).post("/copil/derogations/", {"artefact": key}).status_code == 403


# URL × persona → status; {m} a meeting, {d} a decision on it.
MATRIX = [
    ("/copil/", {"pm": 200, "copil": 200, "referent_a": 403, "oncologist_a": 403}),
    ("/copil/reunions/nouvelle/", {"pm": 200, "copil": 403, "referent_a": 403}),
    ("/copil/reunions/{m}/", {"pm": 200, "copil": 200, "referent_a": 403, "oncologist_b": 403}),
    ("/copil/reunions/999999/", {"pm": 404, "copil": 404}),
    ("/copil/reunions/{m}/modifier/", {"pm": 200, "copil": 403, "referent_a": 403}),
    ("/copil/reunions/{m}/cloturer/", {"pm": 405, "copil": 403, "referent_a": 403}),
    ("/copil/reunions/{m}/points/ajouter/", {"pm": 405, "copil": 403, "oncologist_a": 403}),
    ("/copil/reunions/{m}/compte-rendu/deposer/", {"pm": 302, "copil": 403}),
    ("/copil/reunions/{m}/compte-rendu/", {"pm": 404, "copil": 404, "referent_a": 403}),
    ("/copil/decisions/{d}/", {"pm": 200, "copil": 200, "oncologist_a": 403}),
    ("/copil/decisions/999999/", {"pm": 404, "copil": 404}),
    ("/copil/decisions/{d}/decider/", {"pm": 200, "copil": 403, "referent_a": 403}),
    ("/copil/decisions/{d}/commenter/", {"pm": 405, "copil": 405, "referent_a": 403}),
    ("/copil/reunions/{m}/actions/ajouter/", {"pm": 405, "copil": 403, "referent_a": 403}),
    ("/copil/actions/999999/terminer/", {"pm": 405, "copil": 403, "oncologist_a": 403}),
    ("/copil/jalons/", {"pm": 200, "copil": 200, "referent_a": 403, "oncologist_b": 403}),
    ("/copil/jalons/999999/modifier/", {"pm": 404, "copil": 404, "referent_a": 403}),
    ("/copil/derogations/", {"pm": 200, "copil": 200, "referent_a": 403, "oncologist_b": 403}),
]
CASES = [
    (url, persona, status)
    for url, expected in MATRIX
    for persona, status in {"anonymous": 302, **expected}.items()
]


@pytest.mark.parametrize(("url", "persona", "expected"), CASES)
def test_permission_matrix(as_persona, pm, copil, url, persona, expected):
    meeting = meeting_with(pm, [pm, copil])
    decision = services.copil_decision_add(
        meeting=meeting, artefact=draft_version(), summary="", user=pm
    )
    response = as_persona(persona).get(url.format(m=meeting.pk, d=decision.pk))
    assert response.status_code == expected
    if expected == 302 and persona == "anonymous":
        assert response["Location"].startswith("/compte/connexion/")


def test_other_roles_do_not_see_the_register_in_the_menu(pm, centre_a):
    head = make_user("head_menu", "head_of_department", centre_a)
    assert "/copil/" not in login(head).get("/").content.decode()
    assert "/copil/" in login(pm).get("/").content.decode()
