"""With a reference dose, each comparison run also stores the DVH of every contour set."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse

from contouring import services
from contouring.models import DoseSetKind, StructureDose
from onco_hdf.models import JobStatus
from onco_hdf.numbers import format_number
from tests.conftest import login
from tests.contouring.conftest import create_case, phantom_dose_file, run_comparison, submit


def _row(case, structure, key):
    return StructureDose.objects.get(case=case, structure__name=structure, set_key=key)


def test_every_contour_set_gets_its_dvh_on_the_one_reference_dose(
    dosed_case, pm, django_capture_on_commit_callbacks
):
    run = run_comparison(dosed_case, pm, django_capture_on_commit_callbacks)
    assert run.job.status == JobStatus.DONE, run.job.message
    compared = list(dosed_case.structures.filter(is_compared=True))
    submissions = {s.solution.product: s for s in dosed_case.submissions.all()}
    rows = StructureDose.objects.filter(case=dosed_case)
    # reference + consensus for every structure, each solution that has it (D has no rectum).
    assert rows.filter(kind=DoseSetKind.REFERENCE).count() == len(compared)
    assert rows.filter(kind=DoseSetKind.CONSENSUS).count() == len(compared)
    assert rows.filter(kind=DoseSetKind.SOLUTION).count() == 3 * len(compared) - 1
    prostate = _row(dosed_case, "Prostate", "reference")
    # Inside the PTV the phantom dose is the prescription, 78 Gy, everywhere.
    assert prostate.dmean_gy == pytest.approx(78.0, abs=0.01)
    assert prostate.d95_gy == pytest.approx(78.0, abs=0.01)
    assert prostate.dmin_gy <= prostate.d98_gy <= prostate.d95_gy <= prostate.d50_gy
    assert prostate.d50_gy <= prostate.d2_gy <= prostate.dmax_gy <= prostate.dpeak_gy
    assert prostate.volume_without_dose_cc == 0
    assert prostate.curve["volume"][0] == pytest.approx(100.0)
    # The levels of the prostate site's objectives: Rectum V50 and V70, Bladder V65.
    rectum = _row(dosed_case, "Rectum", "reference")
    assert set(rectum.v_gy) == {"50", "70"}
    assert set(_row(dosed_case, "Bladder", "reference").v_gy) == {"65"}
    assert _row(dosed_case, "Prostate", "reference").v_gy == {}
    # The +3 mm margin puts more rectum into the high dose than the reference contour.
    margin = submissions["AutoContour A (simulé)"]
    wide = _row(dosed_case, "Rectum", f"sub:{margin.pk}")
    assert wide.volume_cc > rectum.volume_cc
    assert wide.v_gy["70"][0] > rectum.v_gy["70"][0]
    # An empty prostate (solution D) has a row without any dose, never 0 Gy.
    empty = StructureDose.objects.get(
        case=dosed_case,
        structure__name="Prostate",
        submission__solution__product="AutoContour D (simulé)",
    )
    assert empty.dmean_gy is None and empty.volume_cc == 0
    # A rerun replaces the rows instead of adding to them.
    count = rows.count()
    run_comparison(dosed_case, pm, django_capture_on_commit_callbacks)
    assert StructureDose.objects.filter(case=dosed_case).count() == count


def test_a_structure_partly_outside_the_dose_is_reported_not_counted_as_zero(
    pelvis_files, pm, centre_a, django_capture_on_commit_callbacks
):
    case = create_case(pelvis_files, pm, title="Pelvis dose partielle")
    submit(case, pelvis_files, 0, centre_a, pm)
    # The dose grid stops at z = -70.5 + 2.5 × 29 = 2 mm: the bladder (z from -6 to 42 mm)
    # is mostly outside.
    services.case_dose_attach(
        case=case, dose_upload=phantom_dose_file(pelvis_files, keep_frames=30), user=pm
    )
    run_comparison(case, pm, django_capture_on_commit_callbacks)
    bladder = _row(case, "Bladder", "reference")
    assert 0.5 < bladder.fraction_without_dose < 1.0
    assert bladder.volume_cc == pytest.approx(
        case.structures.get(name="Bladder").volume_cc, rel=1e-6
    )
    # Statistics are those of the dosed part: the phantom dose is at least 5 % of 78 Gy.
    assert bladder.dmin_gy >= 0.05 * 78.0 - 0.01
    prostate = _row(case, "Prostate", "reference")
    assert prostate.volume_without_dose_cc == 0
    # The results page says it in words.
    page = login(pm).get(reverse("contouring:case-results", args=[case.pk])).content.decode()
    percent = format_number(bladder.percent_without_dose, 0)
    assert f"dose non disponible pour {percent} % du volume" in page


def test_without_a_dose_no_dvh_is_stored(
    pelvis_files, pm, centre_a, django_capture_on_commit_callbacks
):
    case = create_case(pelvis_files, pm, title="Pelvis sans dose")
    submit(case, pelvis_files, 0, centre_a, pm)
    run = run_comparison(case, pm, django_capture_on_commit_callbacks)
    assert run.job.status == JobStatus.DONE
    assert not StructureDose.objects.filter(case=case).exists()
    assert case.results.exists()


def _solution_masks(case, structure, geometry):
    """The solutions' masks of ``structure``, read back from the stored RTSTRUCTs."""
    from contouring.engine.raster import rasterise
    from contouring.engine.rtstruct import read_rtstruct

    masks = []
    for submission in case.submissions.order_by("pk"):
        mapping = submission.mappings.filter(structure__name=structure, roi__isnull=False).first()
        if mapping is None:
            continue
        with services.local_paths([submission.file.name]) as (path,):
            roi = next(r for r in read_rtstruct(path).rois if r.number == mapping.roi.roi_number)
        mask = rasterise(roi, geometry)
        if not mask.is_empty:
            masks.append(mask)
    return masks


def test_the_staple_consensus_gets_its_dvh_computed_on_its_own_mask(
    dosed_case, pm, django_capture_on_commit_callbacks
):
    from contouring.engine.dvh import read_rtdose

    run_comparison(dosed_case, pm, django_capture_on_commit_callbacks)
    compared = dosed_case.structures.filter(is_compared=True)
    rows = StructureDose.objects.filter(case=dosed_case)
    assert rows.filter(kind=DoseSetKind.STAPLE, set_key="staple").count() == compared.count()

    geometry = services.case_geometry(dosed_case)
    with services.local_paths([dosed_case.dose.file.name]) as (path,):
        dose_on_ct = read_rtdose(path).on_ct_grid(geometry)
    voxel_cc = geometry.voxel_volume_mm3 / 1000.0
    solutions = dosed_case.submissions.count()
    for name in ("Rectum", "Femur_Head_L"):
        consensus = services.staple(
            _solution_masks(dosed_case, name, geometry), solutions, geometry
        )
        box = consensus.box_slices()
        doses = dose_on_ct[box][consensus.data].astype(float)
        assert doses.size > 100 and np.isfinite(doses).all()
        row = _row(dosed_case, name, "staple")
        assert row.volume_cc == pytest.approx(doses.size * voxel_cc, rel=1e-9)
        assert row.dmean_gy == pytest.approx(doses.mean(), rel=1e-5)
        assert row.dpeak_gy == pytest.approx(doses.max(), rel=1e-6)
        assert row.dmin_gy == pytest.approx(doses.min(), rel=1e-6)
        for level, (cc, percent) in row.v_gy.items():
            inside = int(np.count_nonzero(doses >= float(level)))
            assert cc == pytest.approx(inside * voxel_cc, rel=1e-9)
            assert percent == pytest.approx(100.0 * inside / doses.size, rel=1e-9)
        # D95 %: the dose that the hottest 95 % of the voxels receive at least.
        hottest = np.sort(doses)[::-1]
        rank = int(np.ceil(0.95 * doses.size - 1e-9)) - 1
        assert row.d95_gy == pytest.approx(hottest[rank], rel=1e-6)
    # Not a copy of the majority vote: on the femoral heads STAPLE keeps more voxels.
    femur = _row(dosed_case, "Femur_Head_L", "staple")
    assert femur.volume_cc > _row(dosed_case, "Femur_Head_L", "consensus").volume_cc
