"""The "Impact dosimétrique" chapter of the comparison report (PDF text parsed)."""

from __future__ import annotations

import io

import pydicom
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contouring import services
from contouring.models import CaseDose, Solution, StructureDose
from onco_hdf.models import Job, JobStatus
from onco_hdf.numbers import format_number
from tests.conftest import login
from tests.contouring.conftest import run_comparison, uploaded
from tests.contouring.test_reports import _pdf_text
from tests.requirements import need_shared_data


def _report_text(client, case, capture) -> str:
    with capture(execute=True):
        response = client.post(
            reverse("onco_hdf:report-start", args=["contouring.comparison_report"]),
            {"p_cases": str(case.pk)},
        )
    assert response.status_code == 302
    job = Job.objects.filter(kind="report").latest("pk")
    assert job.status == JobStatus.DONE, job.message
    content = b"".join(client.get(reverse("onco_hdf:job-result", args=[job.pk])).streaming_content)
    return " ".join(_pdf_text(content).split())


def _signed(value: float, decimals: int) -> str:
    return ("+" if value > 0 else "\u2212") + format_number(abs(value), decimals)


def test_the_report_has_the_dosimetric_impact_chapter(
    dosed_case, pm, django_capture_on_commit_callbacks
):
    run_comparison(dosed_case, pm, django_capture_on_commit_callbacks)
    text = _report_text(login(pm), dosed_case, django_capture_on_commit_callbacks)
    for heading in (
        "Impact dosimétrique",
        "Courbes HDV des structures aux plus grands écarts de dose",
        "Objectifs cliniques appliqués",
        "Méthodes de la dose",
    ):
        assert heading in text, heading
    rows = StructureDose.objects.filter(case=dosed_case, structure__name="Rectum")
    reference = rows.get(set_key="reference")
    margin = rows.get(submission__solution__product="AutoContour A (simulé)")
    delta = margin.dmean_gy - reference.dmean_gy
    assert f"{_signed(delta, 2)} Gy ({_signed(100 * delta / reference.dmean_gy, 1)} %)" in text
    assert f"{format_number(reference.dmean_gy, 2)}" in text
    # Both consensus have their row in each structure's table (and their curve).
    compared = dosed_case.structures.filter(is_compared=True).count()
    assert text.count("Consensus par vote majoritaire") >= compared
    assert text.count("Consensus STAPLE") >= compared
    # The prostate objectives are printed with their values.
    assert "Rectum V70 Gy < 20 % QUANTEC" in text
    assert "Bladder V65 Gy < 50 %" in text
    # Methods: the dose grid and how the voxels are counted.
    assert "grille 58 × 154 × 154" in text and "2.5 × 2.5 × 2.5 mm" in text
    assert "interpolée de façon trilinéaire" in text
    assert "compte en entier ou pas du tout" in text
    assert "par pas de 0,01 Gy" in text
    # At most three curves, those of the largest ΔD; the limitation now says what is done.
    assert 1 <= text.count("HDV cumulé — ") <= 3
    assert "L’impact dosimétrique est évalué sur le seul plan de référence" in text
    assert "Dosimetric impact is not evaluated" not in text


@pytest.fixture
def breast_with_dose(pm, centre_a):
    folder = need_shared_data("dicompyler-core-breast")
    case = services.case_create(
        title="Sein",
        site="breast",
        description="",
        ct_uploads=[uploaded(p) for p in sorted((folder / "ct-rebuilt").glob("*.dcm"))],
        reference_upload=uploaded(folder / "rtss.dcm"),
        user=pm,
    )
    services.case_dose_attach(
        case=case,
        dose_upload=uploaded(folder / "rtdose.dcm"),
        plan_upload=uploaded(folder / "rtplan.dcm"),
        user=pm,
    )
    # A "solution": the reference with the heart moved 5 mm to the left.
    ds = pydicom.dcmread(folder / "rtss.dcm")
    heart = next(r.ROINumber for r in ds.StructureSetROISequence if r.ROIName == "Heart")
    for item in ds.ROIContourSequence:
        if item.ReferencedROINumber == heart:
            for contour in item.ContourSequence:
                points = [float(v) for v in contour.ContourData]
                contour.ContourData = [v + 5.0 if i % 3 == 0 else v for i, v in enumerate(points)]
    ds.Manufacturer, ds.ManufacturerModelName, ds.SoftwareVersions = "V", "P", "1"
    buffer = io.BytesIO()
    ds.save_as(buffer)
    solution = Solution.objects.create(vendor="V", product="P", model_version="1")
    submission, _warnings = services.submission_create(
        case=case,
        solution=solution,
        centre=centre_a,
        upload=SimpleUploadedFile("rs_coeur.dcm", buffer.getvalue()),
        user=pm,
        attested=True,
    )
    services.mapping_confirm(
        submission=submission,
        user=pm,
        choices={m.structure_id: m.roi_id for m in submission.mappings.all()},
    )
    return case


def test_breast_case_with_the_planning_system_dvhs(
    breast_with_dose, pm, django_capture_on_commit_callbacks
):
    case = breast_with_dose
    run_comparison(case, pm, django_capture_on_commit_callbacks)
    plan_rows = {row["structure"]: row for row in CaseDose.objects.get(case=case).plan_comparison}
    assert "Heart" in plan_rows
    heart = plan_rows["Heart"]
    # The structure volumes agree. The stored minimum, maximum and mean are in percent of
    # the RTPLAN's 14 Gy prescription (7 fractions of 4 beams × 0.5 Gy), about 7.14 times
    # the grid's Gy, while the stored curve is in Gy: its mean is ours.
    assert CaseDose.objects.get(case=case).prescription_gy == pytest.approx(14.0)
    assert heart["volume_cc"] == pytest.approx(heart["plan_volume_cc"], rel=0.07)
    assert heart["dose_scale"] == pytest.approx(100 / 14.0, rel=0.02)
    assert heart["plan_dmean_gy"] * 14.0 / 100 == pytest.approx(
        heart["plan_curve_dmean_gy"], abs=0.01
    )
    assert heart["plan_curve_dmean_gy"] == pytest.approx(heart["dmean_gy"], rel=0.05)
    text = _report_text(login(pm), case, django_capture_on_commit_callbacks)
    assert "Comparaison avec les HDV du système de planification" in text
    assert format_number(heart["plan_dmean_gy"], 2) in text
    assert format_number(heart["plan_curve_dmean_gy"], 2) in text
    assert format_number(heart["dose_scale"], 3) in text
    assert "sur une autre échelle de dose que la grille" in text
    assert "est 100 / 14,00 Gy, la prescription du RTPLAN associé" in text
    assert "en pourcentage de la prescription" in text
    # Moving the heart changes its mean dose: the ΔDmean of the solution is in the table.
    rows = StructureDose.objects.filter(case=case, structure__name="Heart")
    moved = rows.get(submission__isnull=False).dmean_gy - rows.get(set_key="reference").dmean_gy
    assert abs(moved) > 0.01
    assert f"{_signed(moved, 2)} Gy" in text
