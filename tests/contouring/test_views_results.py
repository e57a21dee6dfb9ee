"""The results page: the same figure, written the same way, in the table and the charts."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from contouring import services
from contouring.models import ResultKind
from onco_hdf.numbers import format_number
from tests.conftest import login
from tests.contouring.conftest import create_case, submit


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def compared_case(pelvis_files, pm, centre_a, centre_b, django_capture_on_commit_callbacks):
    case = create_case(pelvis_files, pm, title="Cas pelvien")
    submit(case, pelvis_files, 0, centre_a, pm)
    submit(case, pelvis_files, 1, centre_b, pm)
    with django_capture_on_commit_callbacks(execute=True):
        services.comparison_run_start(case=case, user=pm)
    return case


def test_table_and_heatmap_write_each_dsc_the_same(compared_case, pm):
    page = text(login(pm).get(reverse("contouring:case-results", args=[compared_case.pk])))
    table = page.split('id="results-table"')[1].split("</table>")[0]
    charts = page.split("</table>")[1]
    rows = compared_case.results.filter(kind=ResultKind.VS_REFERENCE, status="ok")
    assert rows.count() >= 10
    for row in rows:
        written = format_number(row.dsc, 3)
        assert f">{written}<" in table, row
        assert f">{written}</text>" in charts, row  # heatmap cell text: same digits
        assert f">{format_number(row.hd95_mm, 1)}</text>" in charts
    # No dot decimals and no truncated two-digit DSC left in the charts.
    assert not re.search(r">0\.\d+</text>", charts)


def test_a_new_upload_marks_the_results_out_of_date_until_relaunched(
    compared_case, pelvis_files, pm, copil, centre_a, django_capture_on_commit_callbacks
):
    client = login(pm)
    results_url = reverse("contouring:case-results", args=[compared_case.pk])
    detail_url = reverse("contouring:case-detail", args=[compared_case.pk])
    assert "Résultats périmés" not in text(client.get(results_url))

    submit(compared_case, pelvis_files, 2, centre_a, pm, confirm=False)
    for url in (results_url, detail_url):
        page = text(client.get(url))
        assert "Résultats périmés — relancer" in page, url
        assert "Relancer la comparaison" in page
    # A COPIL member sees the banner but no relaunch button.
    page = text(login(copil).get(results_url))
    assert "Résultats périmés" in page and "Relancer la comparaison" not in page

    submission = compared_case.submissions.get(is_current=True, mapping_confirmed_at=None)
    services.mapping_confirm(
        submission=submission,
        user=pm,
        choices={m.structure_id: m.roi_id for m in submission.mappings.all()},
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("contouring:comparison-start", args=[compared_case.pk]),
            {"include_consensus": "on"},
        )
    assert response.status_code == 302
    assert "Résultats périmés" not in text(client.get(results_url))


def _header_cells(page: str) -> str:
    return page.split('id="results-table"')[1].split("</thead>")[0]


def test_every_metric_can_be_shown_and_the_choice_is_kept_per_user(compared_case, pm, copil):
    from contouring.results import METRICS

    client = login(pm)
    url = reverse("contouring:case-results", args=[compared_case.pk])
    header = _header_cells(text(client.get(url)))
    assert "DSC" in header and "Jaccard" not in header  # the default columns
    response = client.post(
        reverse("contouring:results-columns", args=[compared_case.pk]),
        {"columns": [m.field for m in METRICS], "query": "structure=&solution=x"},
    )
    assert response.status_code == 302 and response["Location"] == url
    page = text(client.get(url))
    header = _header_cells(page)
    for label in (
        "Jaccard",
        "Sensibilité",
        "Volume faux positif (cm³)",
        "Distance des centroïdes (mm)",
        "sDSC@1 mm",
        "sDSC@3 mm",
        "APL@1 mm (mm)",
        "APL@3 mm (mm)",
    ):
        assert label in header, label
    row = compared_case.results.filter(kind=ResultKind.VS_REFERENCE, status="ok").first()
    table = page.split('id="results-table"')[1].split("</table>")[0]
    for field in ("jaccard", "centroid_distance_mm", "surface_dsc_3mm", "sensitivity"):
        metric = next(m for m in METRICS if m.field == field)
        assert f">{format_number(getattr(row, field), metric.decimals)}<" in table, field
    # Another user still has the default columns; the choice survives a new session.
    assert "Jaccard" not in _header_cells(text(login(copil).get(url)))
    assert "Jaccard" in _header_cells(text(login(pm).get(url)))

    # Only DSC: one metric column; nothing chosen is refused with a French message.
    client.post(
        reverse("contouring:results-columns", args=[compared_case.pk]), {"columns": ["dsc"]}
    )
    assert _header_cells(text(client.get(url))).count("sort-button") == 3
    refused = client.post(
        reverse("contouring:results-columns", args=[compared_case.pk]), {}, follow=True
    )
    assert "Choisissez au moins une métrique" in text(refused)
    assert _header_cells(text(refused)).count("sort-button") == 3


def test_results_filter_by_structure_and_solution(compared_case, pm):
    client = login(pm)
    url = reverse("contouring:case-results", args=[compared_case.pk])
    bladder = compared_case.structures.get(name="Bladder")
    solution = compared_case.submissions.first().solution
    page = text(client.get(url, {"structure": bladder.pk, "solution": solution.pk}))
    body = page.split('id="results-table"')[1].split("</table>")[0].split("<tbody>")[1]
    assert body.count("<tr>") == 1
    assert "Bladder" in body and solution.product in body
    page = text(client.get(url, {"structure": bladder.pk}))
    body = page.split('id="results-table"')[1].split("</table>")[0].split("<tbody>")[1]
    assert body.count("<tr>") == 2
    # Junk parameters are ignored, never a 500.
    assert client.get(url, {"structure": "abc", "solution": "-1"}).status_code == 200
