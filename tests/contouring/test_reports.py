"""The comparison report: context numbers, and the PDF's text (method and figures)."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from contouring import overlays, services
from contouring.models import ResultKind
from contouring.overlays import slice_choices
from contouring.reports import build_comparison_report_context
from onco_hdf.jobs import JobInputError, job_create
from onco_hdf.models import Job, JobStatus
from tests.conftest import login
from tests.contouring.conftest import create_case, submit


@pytest.fixture
def two_cases(
    pelvis_files, head_neck_files, pm, centre_a, centre_b, django_capture_on_commit_callbacks
):
    cases = []
    for files, title in ((pelvis_files, "Cas pelvien"), (head_neck_files, "Cas ORL")):
        case = create_case(files, pm, title=title)
        submit(case, files, 0, centre_a, pm)  # +3 mm margin
        submit(case, files, 3, centre_b, pm)  # mislabelled / missing
        with django_capture_on_commit_callbacks(execute=True):
            services.comparison_run_start(case=case, user=pm)
        cases.append(case)
    return cases


def _pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_report_pdf_contains_the_method_and_the_figures(
    two_cases, pm, django_capture_on_commit_callbacks
):
    client = login(pm)
    ids = ",".join(str(c.pk) for c in two_cases)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("onco_hdf:report-start", args=["contouring.comparison_report"]),
            {"p_cases": ids},
        )
    assert response.status_code == 302
    job = Job.objects.filter(kind="report").get()
    assert job.status == JobStatus.DONE, job.message
    download = client.get(reverse("onco_hdf:job-result", args=[job.pk]))
    content = b"".join(download.streaming_content)
    assert content.startswith(b"%PDF")
    text = " ".join(_pdf_text(content).split())

    for heading in (
        "Comparaison des solutions de contourage automatique",
        "Les cas cliniques",
        "Méthode",
        "Définition des métriques",
        "Rastérisation",
        "Solution par solution",
        "Limites",
        "Résultats : Cas pelvien",
        "Résultats : Cas ORL",
        "Structures les moins concordantes",
    ):
        assert heading in text, heading
    assert "95e centile de la réunion des deux ensembles orientés" in text  # HD95 stated
    assert "aucune retouche manuelle" in text
    assert "pair-impair" in text
    for case in two_cases:
        assert case.ct_sha256[:20] in text.replace(" ", "")
        margin = case.results.get(
            kind=ResultKind.VS_REFERENCE,
            structure__name="Body",
            test__solution__product__startswith="AutoContour A",
        )
        assert f"{margin.dsc:.3f}".replace(".", ",") in text
    assert "structure absente de cette solution" in text
    assert "AutoContour A (simulé)" in text


def test_report_context_numbers(two_cases):
    job = job_create(kind="report", label="r", params={"p_cases": str(two_cases[0].pk)})
    spec = build_comparison_report_context(job=job, report=lambda *args: None)
    (section,) = spec.context["sections"]
    results = section["results"]
    assert [s.name for s in results.structures][:2] == ["Body", "Bladder"]
    assert len(results.submissions) == 2
    # Solution D swapped the femoral heads: among the lowest agreement.
    assert {s.name for s in results.lowest_agreement(2)} <= {
        "Femur_Head_L",
        "Femur_Head_R",
        "Prostate",
        "Rectum",
    }
    assert len(section["lowest"]) == 2
    assert section["lowest"][0]["image"].startswith("data:image/png;base64,")
    # The overlay shown is the slice where the solutions disagree most with the reference.
    for item in section["lowest"]:
        choice = slice_choices(section["case"], item["structure"], section["submissions"])
        assert choice.worst is not None and choice.disagreement[choice.worst] > 0
        assert item["slice"] == choice.worst + 1
        assert choice.disagreement[choice.worst] == max(choice.disagreement.values())
    summary = {row["submission"].solution.product: row for row in section["summary"]}
    assert summary["AutoContour D (simulé)"]["missing"] == 2  # rectum missing, prostate empty
    assert summary["AutoContour A (simulé)"]["missing"] == 0
    assert (
        summary["AutoContour A (simulé)"]["median_dsc"]
        > summary["AutoContour D (simulé)"]["median_dsc"]
    )
    overview = spec.context["overview"]
    assert {row["solution"].product for row in overview} == {
        "AutoContour A (simulé)",
        "AutoContour D (simulé)",
    }


def test_report_parses_each_rtstruct_once_and_queries_a_bounded_number_of_times(
    two_cases, monkeypatch, django_assert_max_num_queries
):
    """The overlays of the two lowest-agreement structures used to parse the reference and
    every submission again for each structure, twice (slice choice, then drawing): 12
    parses for a case of 2 submissions. Each stored file is parsed once per case now."""
    parsed, parse = [], overlays.read_rtstruct

    def counting(path):
        parsed.append(path)
        return parse(path)

    monkeypatch.setattr(overlays, "read_rtstruct", counting)
    job = job_create(kind="report", label="r", params={"p_cases": str(two_cases[0].pk)})
    with django_assert_max_num_queries(40):
        spec = build_comparison_report_context(job=job, report=lambda *args: None)
    (section,) = spec.context["sections"]
    assert len(section["lowest"]) == 2
    assert len(parsed) == 1 + len(section["submissions"]) == 3
    assert len(set(parsed)) == 3
    # Outside a report, nothing is kept: the slice viewer parses the files again.
    structure = section["lowest"][0]["structure"]
    parsed.clear()
    overlays.slice_choices(section["case"], structure, section["submissions"])
    assert len(parsed) == 3


def test_report_without_results_fails_with_a_message(pelvis_files, pm):
    case = create_case(pelvis_files, pm)
    job = job_create(kind="report", label="r", params={"p_cases": str(case.pk)})
    with pytest.raises(JobInputError):
        build_comparison_report_context(job=job, report=lambda *args: None)
