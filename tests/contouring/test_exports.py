"""CSV and XLSX export of every metric: one row per compared pair, scoped, injection-safe."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from contouring import services
from contouring.models import ResultKind, Solution
from contouring.results import METRICS
from tests.conftest import login
from tests.contouring.conftest import create_case, submit


@pytest.fixture
def exported_case(pelvis_files, pm, centre_a, centre_b, django_capture_on_commit_callbacks):
    case = create_case(pelvis_files, pm, title="Cas pelvien")
    own, _w = submit(case, pelvis_files, 0, centre_a, pm)
    other, _w = submit(case, pelvis_files, 1, centre_b, pm)
    submit(case, pelvis_files, 4, centre_b, pm)  # three solutions: the consensus is offered
    Solution.objects.filter(pk=other.solution_id).update(vendor="=HYPERLINK(1)")
    with django_capture_on_commit_callbacks(execute=True):
        services.comparison_run_start(case=case, user=pm, include_consensus=True)
    return case, own, other


def _csv_rows(response) -> list[dict]:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    text = content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def test_csv_has_every_metric_of_every_pair(exported_case, pm):
    case, own, other = exported_case
    response = login(pm).get(reverse("contouring:results-export", args=["csv"]), {"cas": case.pk})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv_rows(response)
    assert len(rows) == case.results.count()  # reference, pairs and consensus rows
    kinds = {r["comparison"] for r in rows}
    assert kinds == {"Solution / référence", "Solution / solution",
                     "Consensus / référence", "Consensus STAPLE / référence"}  # fmt: skip
    assert {r["solution"] for r in rows if r["comparison"].startswith("Consensus")} == {
        "Consensus par vote majoritaire",
        "Consensus STAPLE",
    }
    result = case.results.get(kind=ResultKind.VS_REFERENCE, structure__name="Bladder", test=own)
    row = next(
        r for r in rows
        if r["structure"] == "Bladder" and r["comparison"] == "Solution / référence"
        and r["centre"] == own.centre.label
    )  # fmt: skip
    for metric in METRICS:
        value = getattr(result, metric.field)
        assert row[metric.field] == ("" if value is None else str(value)), metric.field
    assert row["hd95_convention"] == "pooled" and row["taus_mm"] == "1 / 2 / 3"
    assert row["engine_version"] == result.run.engine_version != ""
    assert row["case_pseudonym"] == case.pseudonym
    # A solution name that Excel would run as a formula is written as text.
    assert any(r["solution"].startswith("'=HYPERLINK(1)") for r in rows)


def test_xlsx_of_two_cases_and_scoping(exported_case, pelvis_files, pm, oncologist_a, centre_a):
    case, own, _other = exported_case
    second = create_case(pelvis_files, pm, title="Cas pelvien 2")
    client = login(pm)
    response = client.get(
        reverse("contouring:results-export", args=["xlsx"]), {"cas": [case.pk, second.pk]}
    )
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["case", "case_pseudonym", "structure"]
    assert {"jaccard", "centroid_distance_mm", "surface_dsc_3mm", "apl_1mm"} <= set(header)
    body = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(body) == case.results.count()
    dsc = header.index("dsc")
    assert all(isinstance(r[dsc], (int, float)) for r in body if r[header.index("status")] == "ok")

    # Centre A's oncologist gets only centre A's rows against the reference.
    mine = _csv_rows(
        login(oncologist_a).get(
            reverse("contouring:results-export", args=["csv"]), {"cas": case.pk}
        )
    )
    assert mine and all(r["centre"] == centre_a.label for r in mine)
    assert {r["comparison"] for r in mine} == {"Solution / référence"}
    assert client.get(reverse("contouring:results-export", args=["pdf"])).status_code == 404


@pytest.mark.django_db
def test_export_ignores_ids_beyond_64_bits(pm):
    from tests.conftest import login

    response = login(pm).get("/contourage/resultats/export/xlsx/", {"cas": "9" * 40})
    assert response.status_code == 200
