"""The project manager edits a draft catalogue version and publishes it in the app."""

from __future__ import annotations

from django.urls import reverse

from habilitations.models import Activity, CatalogueStatus, CatalogueVersion
from tests.conftest import login


def test_project_manager_drafts_edits_and_publishes(pm, version):
    client = login(pm)
    response = client.post(reverse("habilitations:catalogue-create"), {"label": "Révision 2027"})
    draft = CatalogueVersion.objects.get(number=2)
    assert response["Location"] == reverse("habilitations:catalogue-detail", args=[draft.pk])
    domain = draft.domains.get()
    url = reverse("habilitations:activity-create", args=[draft.pk])
    data = {
        "domain": domain.pk,
        "code": "TECH-FLASH",
        "label": "Radiothérapie FLASH",
        "description": "Essais cliniques",
        "min_supervised_cases": "5",
        "order": "9",
        "evidence_in_training": "Cours",
        "evidence_supervised": "5 cas",
        "evidence_autonomous": "Évaluation",
        "evidence_referent": "Formateur",
    }
    bad = client.post(url, {**data, "code": "PLAN-3D"})
    assert "Ce code est déjà utilisé dans cette version." in bad.content.decode()
    assert "Radiothérapie FLASH" in bad.content.decode()
    assert client.post(url, data).status_code == 302
    assert client.post(url, {**data, "code": "flash minuscule"}).status_code == 200
    client.post(reverse("habilitations:catalogue-publish", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.status == CatalogueStatus.PUBLISHED
    assert Activity.objects.filter(version=draft, code="TECH-FLASH").exists()
    assert not Activity.objects.filter(version=version, code="TECH-FLASH").exists()

    page = client.get(reverse("habilitations:activity-create", args=[draft.pk]), follow=True)
    assert "Une version publiée ne peut plus être modifiée." in page.content.decode()
    listing = client.get(reverse("habilitations:catalogue-list")).content.decode()
    assert "v2" in listing and "en vigueur" in listing


def test_drafts_are_hidden_from_physicians(oncologist_a, pm, version):
    login(pm).post(reverse("habilitations:catalogue-create"), {"label": "Brouillon"})
    draft = CatalogueVersion.objects.get(number=2)
    client = login(oncologist_a)
    assert client.get(reverse("habilitations:catalogue-detail", args=[draft.pk])).status_code == 404
    page = client.get(reverse("habilitations:catalogue-detail", args=[version.pk]))
    assert "Activité CONT-SEIN" in page.content.decode()
