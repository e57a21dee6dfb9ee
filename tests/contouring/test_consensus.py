"""Consensus of the solutions: majority vote and STAPLE (SimpleITK), from three solutions."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from contouring import services
from contouring.engine.raster import Mask
from contouring.models import ResultKind
from tests.contouring.conftest import create_case, submit


class _Grid:
    spacing = (2.0, 1.0, 1.0)
    shape = (10, 20, 20)


def _mask(array: np.ndarray, offset=(0, 0, 0)) -> Mask:
    return Mask.from_array(array, _Grid.spacing, offset=offset, grid_shape=_Grid.shape)


def test_staple_is_simpleitks_estimate_on_the_union_box():
    rng = np.random.default_rng(3)
    truth = np.zeros((6, 12, 12), bool)
    truth[1:5, 3:9, 3:9] = True
    arrays = []
    for _ in range(4):
        noisy = truth.copy()
        flip = rng.random(truth.shape) < 0.05
        noisy[flip] = ~noisy[flip]
        arrays.append(noisy)
    masks = [_mask(a, offset=(2, 4, 4)) for a in arrays]
    result = services.staple(masks, 4, _Grid)
    estimator = sitk.STAPLEImageFilter()
    estimator.SetForegroundValue(1.0)
    expected = (
        sitk.GetArrayFromImage(
            estimator.Execute([sitk.GetImageFromArray(a.astype(np.uint8)) for a in arrays])
        )
        >= 0.5
    )
    dense = np.zeros(_Grid.shape, bool)
    z, y, x = result.offset
    dense[
        z : z + result.data.shape[0], y : y + result.data.shape[1], x : x + result.data.shape[2]
    ] = result.data
    expected_dense = np.zeros(_Grid.shape, bool)
    expected_dense[2:8, 4:16, 4:16] = expected
    assert np.array_equal(dense, expected_dense)
    assert (dense[2:8, 4:16, 4:16] == truth).mean() > 0.98  # it recovers the truth


def test_majority_vote_of_three():
    a = np.zeros((2, 2, 2), bool)
    a[0, 0, 0] = True
    b = a.copy()
    c = np.zeros_like(a)
    c[1, 1, 1] = True
    vote = services.majority_vote([_mask(a), _mask(b), _mask(c)], 3, _Grid)
    assert vote.data.sum() == 1 and vote.data[0, 0, 0]


@pytest.mark.parametrize("count", [2, 3])
def test_consensus_only_from_three_solutions(
    count, head_neck_files, pm, centre_a, django_capture_on_commit_callbacks
):
    case = create_case(head_neck_files, pm)
    for index in range(count):
        submit(case, head_neck_files, index, centre_a, pm)
    with django_capture_on_commit_callbacks(execute=True):
        services.comparison_run_start(case=case, user=pm, include_consensus=True)
    n = case.structures.filter(is_compared=True).count()
    expected = n if count >= 3 else 0
    assert case.results.filter(kind=ResultKind.CONSENSUS).count() == expected
    assert case.results.filter(kind=ResultKind.STAPLE).count() == expected
    if count >= 3:
        parotid = case.results.get(kind=ResultKind.STAPLE, structure__name="Parotid_L")
        assert parotid.status == "ok" and parotid.dsc > 0.8


def _dense(mask: Mask, shape) -> np.ndarray:
    out = np.zeros(shape, bool)
    if not mask.is_empty:
        out[tuple(slice(o, o + n) for o, n in zip(mask.offset, mask.data.shape, strict=True))] = (
            mask.data
        )
    return out


def test_consensus_exported_as_an_rtstruct_the_engine_reads_back(
    head_neck_files, pm, oncologist_a, centre_a, django_capture_on_commit_callbacks, tmp_path
):
    from django.urls import reverse

    from contouring.engine.raster import rasterise
    from contouring.engine.rtstruct import read_rtstruct
    from tests.conftest import login

    case = create_case(head_neck_files, pm)
    for index in range(3):
        submit(case, head_neck_files, index, centre_a, pm)
    with django_capture_on_commit_callbacks(execute=True):
        services.comparison_run_start(case=case, user=pm, include_consensus=True)
    url = reverse("contouring:consensus-rtstruct", args=[case.pk, "staple"])
    response = login(pm).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/dicom"
    path = tmp_path / "consensus.dcm"
    path.write_bytes(response.content)
    exported = read_rtstruct(path)
    geometry = services.case_geometry(case)
    with services.local_paths([case.reference_file.name]) as (ref_path,):
        reference = read_rtstruct(ref_path)
    parotid = case.structures.get(name="Parotid_L")
    stored = case.results.get(kind=ResultKind.STAPLE, structure=parotid)
    roi = next(r for r in exported.rois if r.name == "Parotid_L_staple")
    ref_roi = next(r for r in reference.rois if r.number == parotid.roi_number)
    a = _dense(rasterise(ref_roi, geometry), geometry.shape)
    b = _dense(rasterise(roi, geometry), geometry.shape)
    dsc = 2 * np.count_nonzero(a & b) / (a.sum() + b.sum())
    # The exported polygons give back the consensus the metrics were computed on.
    assert dsc == pytest.approx(stored.dsc, abs=0.03)
    assert {r.name for r in exported.rois} >= {"Parotid_L_staple", "Parotid_R_staple"}

    assert login(oncologist_a).get(url).status_code == 403
    bad = reverse("contouring:consensus-rtstruct", args=[case.pk, "autre"])
    assert login(pm).get(bad).status_code == 404
