"""The comparison job: demo cases give the expected metric directions; reruns replace.

The simulated solutions of the pelvis phantom have known deviations (contouring.phantoms):
A +3 mm margin, B 6 mm lateral shift, C two end slices missing, D swapped femoral heads /
missing rectum / empty prostate, E an extra island in the bladder.
"""

from __future__ import annotations

import pytest

from contouring import services
from contouring.models import ComparisonResult, ResultKind
from onco_hdf.models import JobStatus
from tests.contouring.conftest import create_case, submit


def _run(case, user, captured):
    with captured(execute=True):
        run = services.comparison_run_start(case=case, user=user, include_consensus=True)
    run.job.refresh_from_db()
    return run


def _vs_reference(case, submission, structure):
    return ComparisonResult.objects.get(
        case=case, kind=ResultKind.VS_REFERENCE, test=submission, structure__name=structure
    )


@pytest.fixture
def pelvis_compared(pelvis_files, pm, centre_a, centre_b, django_capture_on_commit_callbacks):
    case = create_case(pelvis_files, pm)
    submissions = [
        submit(case, pelvis_files, i, centre_a if i % 2 == 0 else centre_b, pm)[0]
        for i in range(len(pelvis_files.solutions))
    ]
    run = _run(case, pm, django_capture_on_commit_callbacks)
    return case, submissions, run


def test_demo_pelvis_results_follow_the_known_deviations(pelvis_compared):
    case, (margin, shift, ends, mislabelled, island), run = pelvis_compared
    assert run.job.status == JobStatus.DONE, run.job.message
    assert run.job.progress == 100
    organs = ["Bladder", "Rectum", "Prostate", "Femur_Head_L", "Femur_Head_R"]
    for organ in organs:
        grown = _vs_reference(case, margin, organ)
        assert grown.volume_ratio > 1.2, organ
        assert grown.status == "ok"
        # 3 mm margin on a 3 mm grid: every distance is about one voxel. The platform's
        # area-weighted surface elements sit on voxel corners, where the staircase of the
        # grown mask sometimes meets the original's (distance 0): the mean is below 3 mm.
        assert 1.5 <= grown.msd_mm <= 4.0, (organ, grown.msd_mm)
        assert 2.5 <= grown.hd95_mm <= 4.5, (organ, grown.hd95_mm)
        assert grown.sensitivity == pytest.approx(1.0)

        moved = _vs_reference(case, shift, organ)
        assert moved.volume_ratio == pytest.approx(1.0, abs=0.03), organ
        assert moved.centroid_distance_mm == pytest.approx(6.0, abs=0.8), organ
        assert moved.dsc < 0.95

        assert _vs_reference(case, island, organ).dsc == pytest.approx(
            1.0 if organ != "Bladder" else 0.99, abs=0.01
        )
    for organ in ["Bladder", "Rectum", "Prostate"]:
        shortened = _vs_reference(case, ends, organ)
        assert shortened.volume_ratio < 1.0 and shortened.false_positive_cc == pytest.approx(0)
        # The contour of the dropped slices must be drawn again: APL counts it.
        assert shortened.apl_2mm > 0 and shortened.surface_dsc_2mm < 1

    # Mislabelled femoral heads: no overlap at all; missing rectum and empty prostate: no
    # distance figure, never a fake number.
    assert _vs_reference(case, mislabelled, "Femur_Head_L").dsc == 0
    missing = _vs_reference(case, mislabelled, "Rectum")
    assert missing.status == "test_missing" and missing.dsc is None and missing.hd95_mm is None
    empty = _vs_reference(case, mislabelled, "Prostate")
    assert empty.status == "test_empty" and empty.hd95_mm is None and empty.volume_ratio == 0

    # The island: the Hausdorff distance sees it, HD95 barely.
    bladder = _vs_reference(case, island, "Bladder")
    assert bladder.hausdorff_mm > 20 and bladder.hd95_mm < 3 and bladder.volume_ratio > 1

    n_structures, n_solutions = 6, 5
    assert case.results.filter(kind=ResultKind.VS_REFERENCE).count() == n_structures * n_solutions
    assert case.results.filter(kind=ResultKind.PAIR).count() == n_structures * 10
    consensus = {r.structure.name: r for r in case.results.filter(kind=ResultKind.CONSENSUS)}
    assert len(consensus) == n_structures
    # Three of five solutions match the reference bladder exactly: so does the consensus.
    assert consensus["Bladder"].dsc > 0.97
    staple = {r.structure.name: r for r in case.results.filter(kind=ResultKind.STAPLE)}
    assert len(staple) == n_structures and staple["Bladder"].dsc > 0.97
    pair = case.results.get(
        kind=ResultKind.PAIR, structure__name="Body", other=mislabelled, test=island
    )
    assert pair.dsc == pytest.approx(1.0)


def test_rerun_replaces_results_instead_of_duplicating(
    pelvis_compared, pm, django_capture_on_commit_callbacks
):
    case, submissions, first_run = pelvis_compared
    before = {(r.structure_id, r.pair_key): (r.dsc, r.hd95_mm) for r in case.results.all()}
    # A submission withdrawn from the comparison (replaced) drops its rows on the rerun.
    submissions[4].is_current = False
    submissions[4].save(update_fields=["is_current"])
    second = _run(case, pm, django_capture_on_commit_callbacks)
    assert second.job.status == JobStatus.DONE
    after = {(r.structure_id, r.pair_key): (r.dsc, r.hd95_mm) for r in case.results.all()}
    assert set(after) < set(before)
    assert len(after) == 6 * 4 + 6 * 6 + 6 + 6  # + majority vote and STAPLE
    for key, value in after.items():
        if key[1] not in ("consensus", "staple"):  # the consensus lost a voter
            assert value == before[key]
    # The rerun's own rows replaced the first run's, which are gone.
    assert all(r.run_id == second.pk for r in case.results.all())

    # Delivering a structure's task again (a duplicate message) does nothing.
    from contouring.tasks import comparison_structure_compute_task

    part = second.parts.first()
    comparison_structure_compute_task.apply(
        kwargs={"job_id": part.job_id, "run_id": second.pk, "structure_id": part.structure_id}
    )
    second.job.refresh_from_db()
    assert second.job.status == JobStatus.DONE and case.results.count() == len(after)


def test_nothing_to_compare_is_refused(pelvis_files, pm, centre_a):
    from django.core.exceptions import ValidationError

    case = create_case(pelvis_files, pm)
    submit(case, pelvis_files, 0, centre_a, pm, confirm=False)
    with pytest.raises(ValidationError) as error:
        services.comparison_run_start(case=case, user=pm)
    assert error.value.code == "nothing_to_compare"
