"""Clinical objectives: seeded, listed, edited by the project manager with French validation."""

from __future__ import annotations

import pytest
from django.urls import reverse

from contouring.models import ClinicalObjective
from tests.conftest import login

CREATE = reverse("contouring:objective-create")
LIST = reverse("contouring:objective-list")


def test_common_objectives_are_seeded_for_the_four_sites(db):
    by_site = {
        site: ClinicalObjective.objects.filter(site=site).count()
        for site in ("breast", "prostate", "head_neck", "thorax")
    }
    assert all(count >= 4 for count in by_site.values()), by_site
    heart = ClinicalObjective.objects.get(site="breast", structure="Heart", metric="dmean")
    assert heart.label == "Heart Dmean <\u00a04\u00a0Gy"
    assert heart.is_met(3.9) is True and heart.is_met(4.0) is False and heart.is_met(None) is None
    lung = ClinicalObjective.objects.get(site="thorax", structure="Lungs", metric="v_gy")
    assert lung.label == "Lungs V20\u00a0Gy <\u00a030\u00a0%"
    ptv = ClinicalObjective.objects.get(site="breast", structure="PTV", metric="d_pct", level=95)
    assert ptv.goal_label == "≥\u00a047,5\u00a0Gy" and ptv.is_met(47.5) is True


def test_the_list_shows_the_objectives_and_edit_buttons_to_the_project_manager_only(
    pm, oncologist_a
):
    page = login(pm).get(LIST).content.decode()
    assert "Parotid_L" in page and "V70\u00a0Gy" in page and "95 % de 78 Gy" in page
    assert "Ajouter un objectif" in page
    other = login(oncologist_a).get(LIST)
    assert other.status_code == 200 and "Ajouter un objectif" not in other.content.decode()


def test_the_project_manager_adds_changes_and_deletes_an_objective(pm):
    client = login(pm)
    data = {
        "structure": " Heart ",
        "site": "breast",
        "metric": "v_gy",
        "level": "25",
        "comparator": "lt",
        "threshold": "10,5",
        "note": "QUANTEC",
    }
    assert client.post(CREATE, data).status_code == 302
    objective = ClinicalObjective.objects.get(structure="Heart", metric="v_gy", level=25)
    assert objective.threshold == 10.5 and objective.site == "breast"
    url = reverse("contouring:objective-update", args=[objective.pk])
    assert client.post(url, {**data, "threshold": "8"}).status_code == 302
    objective.refresh_from_db()
    assert objective.threshold == 8
    assert objective.history.count() == 2
    response = client.post(reverse("contouring:objective-delete", args=[objective.pk]))
    assert response.status_code == 302
    assert not ClinicalObjective.objects.filter(pk=objective.pk).exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"level": ""}, "level", "Indiquez le x de cette métrique"),
        ({"metric": "dmean"}, "level", "ne prennent pas de x"),
        ({"threshold": "150"}, "threshold", "pourcentage du volume (0–100)"),
        ({"threshold": "-1"}, "threshold", "ne peut pas être négatif"),
        ({"metric": "d_pct", "level": "120"}, "level", "entre 0 et 100"),
        ({"structure": "  "}, "structure", "Ce champ est obligatoire"),
        ({"threshold": "beaucoup"}, "threshold", "Saisissez un nombre"),
    ],
)
def test_bad_input_gets_a_french_message_and_keeps_what_was_typed(pm, change, field, message):
    data = {
        "structure": "Rectum",
        "site": "prostate",
        "metric": "v_gy",
        "level": "60",
        "comparator": "lt",
        "threshold": "35",
        "note": "ma note à garder",
        **change,
    }
    before = ClinicalObjective.objects.count()
    response = login(pm).post(CREATE, data)
    assert response.status_code == 200
    form = response.context["form"]
    assert field in form.errors and message in " ".join(form.errors[field]), form.errors
    assert "ma note à garder" in response.content.decode()
    assert ClinicalObjective.objects.count() == before


def test_permissions(anonymous, oncologist_a, copil, pm):
    objective = ClinicalObjective.objects.first()
    urls = [
        ("get", CREATE),
        ("get", reverse("contouring:objective-update", args=[objective.pk])),
        ("post", reverse("contouring:objective-delete", args=[objective.pk])),
    ]
    assert anonymous.get(LIST)["Location"].startswith("/compte/connexion/")
    for method, url in urls:
        assert getattr(anonymous, method)(url)["Location"].startswith("/compte/connexion/")
        assert getattr(login(oncologist_a), method)(url).status_code == 403
        assert getattr(login(copil), method)(url).status_code == 403
    assert login(copil).get(LIST).status_code == 200
    missing = reverse("contouring:objective-update", args=[987654])
    assert login(pm).get(missing).status_code == 404
    assert login(pm).post(reverse("contouring:objective-delete", args=[987654])).status_code == 404
    assert ClinicalObjective.objects.filter(pk=objective.pk).exists()
