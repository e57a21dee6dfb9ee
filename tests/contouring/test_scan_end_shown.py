"""A structure that reaches the first or last CT slice is flagged with its results: stored
with the row, exported, marked in the results page and the comparison report, with the
note that near the scan's end the CT extent bounds the distances."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from django.urls import reverse
from pypdf import PdfReader

from contouring import services
from contouring.models import ComparisonResult, ResultKind
from contouring.reports import build_comparison_report_context
from onco_hdf.jobs import job_create
from onco_hdf.pdf import render_pdf
from tests.conftest import login
from tests.contouring.conftest import create_case, submit

NOTE = "Les distances près de l’extrémité du scanner sont bornées par l’étendue du CT."


@pytest.fixture
def compared(pelvis_files, pm, centre_a, django_capture_on_commit_callbacks):
    # The phantom's Body is a cylinder through every slice; the organs stay inside.
    case = create_case(pelvis_files, pm, title="Cas pelvien")
    submission, _warnings = submit(case, pelvis_files, 0, centre_a, pm)
    with django_capture_on_commit_callbacks(execute=True):
        services.comparison_run_start(case=case, user=pm)
    return case, submission


def _rows(case) -> dict[str, ComparisonResult]:
    results = ComparisonResult.objects.filter(case=case, kind=ResultKind.VS_REFERENCE)
    return {row.structure.name: row for row in results.select_related("structure")}


@pytest.mark.django_db
def test_the_scan_end_flag_is_stored_with_each_result(compared):
    case, _submission = compared
    rows = _rows(case)
    assert {"Body", "Bladder", "Prostate"} <= set(rows)
    assert rows["Body"].reference_touches_scan_end and rows["Body"].test_touches_scan_end
    assert [name for name, row in rows.items() if row.touches_scan_end] == ["Body"]


@pytest.mark.django_db
def test_results_page_marks_the_structure_and_prints_the_note(compared, pm):
    case, submission = compared
    page = html.unescape(
        login(pm).get(reverse("contouring:case-results", args=[case.pk])).content.decode()
    )
    table = page.split('id="results-table"')[1].split("</table>")[0]
    marked = re.findall(r"<th scope=\"row\"[^>]*>.*?</th>", table, flags=re.S)
    body = [cell for cell in marked if ">Body</a>" in cell]
    others = [cell for cell in marked if ">Body</a>" not in cell]
    assert body and all("bord du CT" in cell for cell in body)
    assert others and not any("bord du CT" in cell for cell in others)
    note = page.split('id="scan-end-note"')[1].split("</p>")[0]
    assert "Structures qui touchent la première ou la dernière coupe du CT" in note
    assert ": Body." in note and "Bladder" not in note
    assert NOTE in note


@pytest.mark.django_db
def test_results_page_has_no_note_when_no_structure_reaches_the_ends(compared, pm):
    case, _submission = compared
    ComparisonResult.objects.filter(case=case).update(
        reference_touches_scan_end=False, test_touches_scan_end=False
    )
    page = html.unescape(
        login(pm).get(reverse("contouring:case-results", args=[case.pk])).content.decode()
    )
    assert "scan-end-note" not in page.split('id="results-table"')[1]
    assert "bord du CT" not in page and NOTE not in page


@pytest.mark.django_db
def test_the_comparison_report_marks_the_structure_and_prints_the_note(compared):
    case, _submission = compared
    job = job_create(kind="report", label="r", params={"p_cases": str(case.pk)})
    spec = build_comparison_report_context(job=job, report=lambda *args: None)
    content = render_pdf(spec.template_name, spec.context)
    text = " ".join(
        " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages).split()
    )
    assert "Body (bord du CT)" in text
    assert "Bladder (bord du CT)" not in text
    assert "Structures qui touchent la première ou la dernière coupe du CT" in text
    assert NOTE in text


@pytest.mark.django_db
def test_the_export_has_the_flags_of_each_side(compared, pm):
    case, _submission = compared
    response = login(pm).get(reverse("contouring:results-export", args=["csv"]), {"cas": case.pk})
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    flags = {
        row["structure"]: (row["reference_touches_scan_end"], row["test_touches_scan_end"])
        for row in rows
    }
    assert flags["Body"] == ("1", "1")
    assert flags["Bladder"] == ("0", "0")
