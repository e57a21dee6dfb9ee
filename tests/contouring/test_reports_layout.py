"""Every table of the comparison PDF fits its A4 page: each value of the context is in
the text a reader sees (pdftotext keeps only what is inside the page, unlike pypdf)."""

from __future__ import annotations

import subprocess

import pytest

from contouring import services
from contouring.reports import build_comparison_report_context
from onco_hdf.jobs import job_create
from onco_hdf.numbers import format_number
from onco_hdf.pdf import render_pdf
from tests.contouring.conftest import create_case, submit


def visible_text(content: bytes) -> str:
    """The text inside the pages (characters drawn off the page are dropped)."""
    result = subprocess.run(
        ["pdftotext", "-q", "-", "-"], input=content, capture_output=True, check=True
    )
    return result.stdout.decode()


@pytest.fixture
def four_cases(
    pelvis_files, head_neck_files, pm, centre_a, centre_b, django_capture_on_commit_callbacks
):
    cases = []
    for index, files in enumerate((pelvis_files, head_neck_files, pelvis_files, head_neck_files)):
        case = create_case(files, pm, title=f"Cas clinique numéro {index + 1} ({files.spec.site})")
        submit(case, files, 0, centre_a, pm)
        submit(case, files, 1, centre_b, pm)
        with django_capture_on_commit_callbacks(execute=True):
            services.comparison_run_start(case=case, user=pm, include_consensus=False)
        cases.append(case)
    return cases


def test_every_value_of_a_four_case_report_is_on_the_page(four_cases):
    job = job_create(
        kind="report", label="r", params={"p_cases": ",".join(str(c.pk) for c in four_cases)}
    )
    spec = build_comparison_report_context(job=job, report=lambda *args: None)
    text = visible_text(render_pdf(spec.template_name, spec.context))
    compact = "".join(text.split())  # a hash may wrap, never be cut

    for section in spec.context["sections"]:
        case = section["case"]
        for digest in (case.ct_sha256, case.reference_sha256):
            assert digest in compact, (case.title, digest)
        for submission in section["submissions"]:
            assert submission.sha256 in compact, submission
        for _structure, cells in section["results"].rows:
            for cell in cells:
                for _name, value, _css, written in cell.values:
                    if value is not None:
                        assert written in text, (case.title, cell.submission, _name)
        # The annex: every metric of every solution, each value on the page.
        assert [len(g["headers"]) for g in section["annex"]] == [7, 4, 6]
        for group in section["annex"]:
            for _structure, cells in group["rows"]:
                for cell in cells:
                    for name, value, _css, written in cell.values:
                        if value is not None:
                            assert written in text, (case.title, cell.submission, name)
    overview = spec.context["overview"]
    assert len(overview) == 2
    for row in overview:
        assert format_number(row["median_hd95"], 1) in text, row["solution"]
        assert format_number(row["median_dsc"], 3) in text, row["solution"]
        for item in row["cases"]:
            assert item is None or format_number(item["median_dsc"], 3) in text
    # The column headers of the overview are all there.
    flowing = " ".join(text.split())
    assert "HD95 médian (mm)" in flowing and "DSC médian par cas" in flowing
    assert "Annexe : toutes les métriques" in flowing
    for heading in ("Recouvrement et volumes", "Distances", "Accord de surface à chaque tolérance"):
        assert heading in flowing
    assert "Jaccard" in flowing and "APL@3 mm" in flowing and "sDSC@1 mm" in flowing
