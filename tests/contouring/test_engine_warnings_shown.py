"""Engine warnings of a run: stored per submission, shown on its pages and in the PDF,
naming the file by its solution (never the stored copy's name) and in French."""

from __future__ import annotations

import html
import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from contouring import services
from contouring.reports import build_comparison_report_context
from onco_hdf.jobs import job_create
from onco_hdf.pdf import render_pdf
from tests.conftest import login
from tests.contouring.conftest import create_case, submit


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def warned(pelvis_files, pm, centre_a, centre_b, django_capture_on_commit_callbacks):
    case = create_case(pelvis_files, pm, title="Cas pelvien")
    clean, _w = submit(case, pelvis_files, 0, centre_a, pm)
    empty, _w = submit(case, pelvis_files, 3, centre_b, pm)  # its prostate is empty
    with django_capture_on_commit_callbacks(execute=True):
        run = services.comparison_run_start(case=case, user=pm)
    run.refresh_from_db()
    return case, clean, empty, run


def test_warnings_are_stored_with_their_submission(warned):
    case, clean, empty, run = warned
    mine = [w for w in run.warnings if w["submission"] == empty.pk]
    assert any(w["code"] == "empty_roi" for w in mine), run.warnings
    warning = next(w for w in mine if w["code"] == "empty_roi")
    assert "Prostate" in warning["message"]
    assert f"le RTSTRUCT de {empty.short_label}" in warning["message"]
    assert "RS_" not in warning["message"] and ".dcm" not in warning["message"]
    assert not [w for w in run.warnings if w["submission"] == clean.pk]


def test_warnings_are_shown_per_submission_and_in_the_report(warned, pm, oncologist_a):
    case, clean, empty, run = warned
    client = login(pm)
    page = text(client.get(reverse("contouring:case-results", args=[case.pk])))
    section = page.split('id="engine-warnings"')[1].split("</section>")[0]
    assert "Avertissements du moteur de contours" in page
    assert empty.short_label in section and "Prostate" in section
    assert clean.short_label not in section

    detail = text(client.get(reverse("contouring:submission-detail", args=[empty.pk])))
    assert "Avertissements du moteur de contours" in detail and "Prostate" in detail
    other = text(client.get(reverse("contouring:submission-detail", args=[clean.pk])))
    assert "Avertissements du moteur de contours" not in other

    # Centre A's oncologist does not see centre B's warnings.
    page_a = text(login(oncologist_a).get(reverse("contouring:case-results", args=[case.pk])))
    assert empty.short_label not in page_a

    job = job_create(kind="report", label="r", params={"p_cases": str(case.pk)})
    spec = build_comparison_report_context(job=job, report=lambda *args: None)
    content = render_pdf(spec.template_name, spec.context)
    pdf = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages).split())
    assert "Avertissements du moteur de contours" in pdf
    assert "ne contient aucun contour" in pdf
