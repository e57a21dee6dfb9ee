"""The project manager builds, previews, publishes, imports and exports in the app."""

import json

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from onco_hdf.models import Role
from surveys.models import Campaign, Invitation, Questionnaire, QuestionnaireVersion
from tests.conftest import login, make_user
from tests.surveys.factories import questionnaire_data

pytestmark = pytest.mark.django_db


def test_build_a_questionnaire_end_to_end(pm):
    client = login(pm)
    response = client.post(
        "/enquetes/questionnaires/nouveau/", {"title": "Enquête test", "code": "enquete-test"}
    )
    version = QuestionnaireVersion.objects.get()
    assert response["Location"] == f"/enquetes/versions/{version.pk}/"
    client.post(
        f"/enquetes/versions/{version.pk}/sections/nouvelle/", {"code": "A", "title": "Centre"}
    )
    section = version.sections.get()
    response = client.post(
        f"/enquetes/sections/{section.pk}/questions/nouvelle/",
        {
            "code": "A1",
            "type": "single",
            "label": "Équipé ?",
            "required": "on",
            "options": "oui | Oui\nnon | Non",
            "allow_other": "on",
        },
    )
    assert response.status_code == 302
    page = client.post(
        f"/enquetes/sections/{section.pk}/questions/nouvelle/",
        {
            "code": "A2",
            "type": "integer",
            "label": "Combien ?",
            "min_value": "0",
            "max_value": "10",
            "show_if": '{"q": "A1", "op": "equals", "value": "oui"}',
        },
    )
    assert page.status_code == 302
    bad = client.post(
        f"/enquetes/sections/{section.pk}/questions/nouvelle/",
        {
            "code": "A3",
            "type": "text",
            "label": "Texte",
            "show_if": '{"q": "ZZ", "op": "equals", "value": "oui"}',
        },
    )
    assert "pas une question précédente" in bad.content.decode()
    assert 'value="A3"' in bad.content.decode()  # the form keeps what was typed
    bad = client.post(
        f"/enquetes/sections/{section.pk}/questions/nouvelle/",
        {"code": "A4", "type": "single", "label": "Sans options", "options": "pas de barre"},
    )
    assert "Ligne 1" in bad.content.decode()
    assert list(version.questions.values_list("code", flat=True)) == ["A1", "A2"]
    preview = client.get(f"/enquetes/versions/{version.pk}/apercu/").content.decode()
    assert "Équipé ?" in preview and "data-show-if" in preview
    client.post(f"/enquetes/versions/{version.pk}/publier/")
    version.refresh_from_db()
    assert version.status == "published"
    frozen = client.post(
        f"/enquetes/sections/{section.pk}/questions/nouvelle/",
        {"code": "A9", "type": "text", "label": "Trop tard"},
    )
    assert "figée" in frozen.content.decode()
    response = client.post(f"/enquetes/versions/{version.pk}/nouvelle-version/")
    draft = QuestionnaireVersion.objects.get(number=2)
    assert response["Location"] == f"/enquetes/versions/{draft.pk}/"
    assert draft.questions.get(code="A2").show_if == {"q": "A1", "op": "equals", "value": "oui"}


def test_import_and_export_json(pm):
    client = login(pm)
    upload = SimpleUploadedFile(
        "q.json", json.dumps(questionnaire_data()).encode(), content_type="application/json"
    )
    response = client.post("/enquetes/questionnaires/importer/", {"file": upload})
    version = QuestionnaireVersion.objects.get()
    assert response["Location"] == f"/enquetes/versions/{version.pk}/"
    exported = client.get(f"/enquetes/versions/{version.pk}/exporter/")
    assert json.loads(exported.content)["sections"][0]["questions"][0]["code"] == "Q1"
    broken = SimpleUploadedFile("q.json", b"{not json", content_type="application/json")
    page = client.post("/enquetes/questionnaires/importer/", {"file": broken})
    assert "pas un JSON valide" in page.content.decode()
    wrong = SimpleUploadedFile("q.json", b'{"format": "x"}', content_type="application/json")
    page = client.post("/enquetes/questionnaires/importer/", {"file": wrong})
    assert "pas un questionnaire exporté" in page.content.decode()
    assert Questionnaire.objects.count() == 1


def test_campaign_creation_roles_and_invitations(
    pm, campaign, centre_a, centre_b, django_capture_on_commit_callbacks
):
    client = login(pm)
    response = client.post(
        "/enquetes/campagnes/nouvelle/",
        {
            "title": "Vague 2027",
            "version": campaign.version.pk,
            "opens_on": "2026-01-01",
            "closes_on": "2030-01-31",
            "unit": "centre",
            "reminder_every_days": "7",
            "centres": [centre_a.pk, centre_b.pk],
        },
    )
    new = Campaign.objects.get(title="Vague 2027")
    assert response["Location"] == f"/enquetes/campagnes/{new.pk}/"
    client.post(
        f"/enquetes/campagnes/{new.pk}/modifier/",
        {
            "title": "Vague 2027",
            "opens_on": "2026-01-01",
            "closes_on": "2030-01-31",
            "unit": "centre",
            "reminder_every_days": "7",
            "centres": [centre_a.pk],
            "role_S2": Role.PHYSICIST,
        },
    )
    new.refresh_from_db()
    assert new.section_roles == {"S2": Role.PHYSICIST}
    make_user("ref_a", Role.REFERENT, centre_a)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(
            f"/enquetes/campagnes/{new.pk}/invitations/",
            {
                "centres": [centre_a.pk],
                "roles": [Role.REFERENT],
                "emails": "phys@example.org",
                "role": Role.PHYSICIST,
                "days": "30",
            },
            follow=True,
        )
    assert "2 invitations envoyées." in page.content.decode()
    assert sorted(m.to[0] for m in mail.outbox) == ["phys@example.org", "ref_a@example.org"]
    assert Invitation.objects.get(email="phys@example.org").role == Role.PHYSICIST
    detail = client.get(f"/enquetes/campagnes/{new.pk}/").content.decode()
    assert "Non ouverte" in detail and "phys@example.org" in detail
    bad = client.post(
        "/enquetes/campagnes/nouvelle/",
        {
            "title": "Dates",
            "version": campaign.version.pk,
            "opens_on": "2026-05-01",
            "closes_on": "2026-01-01",
            "unit": "centre",
            "reminder_every_days": "7",
        },
    )
    assert "antérieure à la date d&#x27;ouverture" in bad.content.decode()


def test_dashboard_tile_and_menu(campaign, pm, oncologist_a):
    home = login(pm).get("/").content.decode()
    assert "campagnes ouvertes" in home and "0 / 2" in home
    assert 'href="/enquetes/questionnaires/"' in home
    home = login(oncologist_a).get("/").content.decode()
    assert 'href="/enquetes/"' in home and 'href="/enquetes/questionnaires/"' not in home
