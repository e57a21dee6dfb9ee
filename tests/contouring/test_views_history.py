"""History links of the contouring pages (project manager) and the recorded mapping edits."""

from __future__ import annotations

import html

from django.urls import reverse

from contouring.models import MappingStatus
from tests.conftest import login
from tests.contouring.conftest import create_case, submit


def text(response) -> str:
    return html.unescape(response.content.decode())


def history_url(model_name: str, pk: int) -> str:
    return reverse("onco_hdf:object-history", args=["contouring", model_name, pk])


def test_project_manager_sees_history_links_and_mapping_edits(
    head_neck_files, pm, physicist_a, centre_a
):
    case = create_case(head_neck_files, pm)
    submission, _warnings = submit(case, head_neck_files, 1, centre_a, pm, confirm=False)
    solution = submission.solution
    mapping = submission.mappings.select_related("structure").filter(roi__isnull=False).first()
    assert mapping is not None and mapping.status == MappingStatus.SUGGESTED

    # The physicist confirms, leaving one structure without a match.
    data = {f"structure_{m.structure_id}": m.roi_id or "" for m in submission.mappings.all()}
    data[f"structure_{mapping.structure_id}"] = ""
    detail_url = reverse("contouring:submission-detail", args=[submission.pk])
    assert login(physicist_a).post(detail_url, data).status_code == 302
    mapping.refresh_from_db()
    assert mapping.status == MappingStatus.CONFIRMED and mapping.roi is None

    manager = login(pm)
    case_page = text(manager.get(reverse("contouring:case-detail", args=[case.pk])))
    assert history_url("clinicalcase", case.pk) in case_page and "Historique" in case_page
    solutions_page = text(manager.get(reverse("contouring:solution-list")))
    assert history_url("solution", solution.pk) in solutions_page
    submission_page = text(manager.get(detail_url))
    assert history_url("structuremapping", mapping.pk) in submission_page
    assert f"Historique de l'association de {mapping.structure.name}" in submission_page

    history = manager.get(history_url("structuremapping", mapping.pk))
    assert history.status_code == 200
    page = text(history)
    assert "Historique de" in page and "modification" in page
    assert "Statut" in page and "suggested" in page and "confirmed" in page
    assert physicist_a.username in page or physicist_a.get_full_name() in page
    assert mapping.history.count() == 2

    case_history = text(manager.get(history_url("clinicalcase", case.pk)))
    assert case.title in case_history and "création" in case_history


def test_physicist_sees_no_history_link(head_neck_files, pm, physicist_a, centre_a):
    case = create_case(head_neck_files, pm)
    submission, _warnings = submit(case, head_neck_files, 1, centre_a, pm)
    physicist = login(physicist_a)
    pages = [
        text(physicist.get(reverse("contouring:case-detail", args=[case.pk]))),
        text(physicist.get(reverse("contouring:solution-list"))),
        text(physicist.get(reverse("contouring:submission-detail", args=[submission.pk]))),
    ]
    for page in pages:
        assert "/historique/" not in page and "Historique" not in page
    mapping = submission.mappings.first()
    assert physicist.get(history_url("structuremapping", mapping.pk)).status_code == 403
