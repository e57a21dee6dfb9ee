"""Consensus of the solutions: majority vote and STAPLE (SimpleITK), from three solutions."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from contouring import services
from contouring.engine.raster import Mask
from contouring.models import ResultKind
from contouring.services import consensus
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


def _simpleitk_staple(arrays: list[np.ndarray], voters: int) -> np.ndarray:
    images = [sitk.GetImageFromArray(a.astype(np.uint8)) for a in arrays]
    images += [sitk.GetImageFromArray(np.zeros_like(arrays[0], np.uint8))] * (voters - len(arrays))
    estimator = sitk.STAPLEImageFilter()
    estimator.SetForegroundValue(1.0)
    return sitk.GetArrayFromImage(estimator.Execute(images)) >= 0.5


def _noisy_raters(seed: int, count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = np.zeros((8, 16, 16), bool)
    truth[1:7, 3:13, 4:12] = True
    arrays = []
    for _ in range(count):
        noisy = truth.copy()
        flip = rng.random(truth.shape) < rng.uniform(0.01, 0.2)
        noisy[flip] = ~noisy[flip]
        arrays.append(noisy)
    return arrays


def test_staple_on_vote_patterns_gives_simpleitks_mask(monkeypatch):
    """The EM on vote patterns decides every voxel as SimpleITK does (absent solutions
    included), without running SimpleITK's filter on the voxels."""
    calls = []
    monkeypatch.setattr(
        consensus, "_staple_sitk", lambda *args: calls.append(args) or pytest.fail("voxels")
    )
    decided = 0
    for seed in range(40):
        count = 3 + seed % 5
        voters = count + seed % 3
        arrays = _noisy_raters(seed, count)
        masks = [_mask(a, offset=(1, 2, 3)) for a in arrays]
        lo, codes = consensus._vote_codes(masks)
        inside = consensus._staple_patterns(codes, count, voters)
        if inside is None:  # too close to call: SimpleITK decides (next test)
            continue
        decided += 1
        assert np.array_equal(inside, _simpleitk_staple(arrays, voters)), seed
    assert decided >= 30
    assert not calls


def test_staple_too_close_to_call_is_simpleitks(monkeypatch):
    """A pattern whose decision could change within the tolerance goes to SimpleITK."""
    arrays = _noisy_raters(5, 4)
    masks = [_mask(a, offset=(1, 2, 3)) for a in arrays]
    lo, codes = consensus._vote_codes(masks)
    assert consensus._staple_patterns(codes, 4, 5) is not None
    monkeypatch.setattr(consensus, "_STAPLE_TOLERANCE", 1.0)  # nothing is sure any more
    assert consensus._staple_patterns(codes, 4, 5) is None
    result = services.staple(masks, 5, _Grid)
    expected = np.zeros(_Grid.shape, bool)
    expected[1:9, 2:18, 3:19] = _simpleitk_staple(arrays, 5)
    assert np.array_equal(result.to_grid(), expected)
    assert result.voxel_count > 0


def test_majority_vote_counts_absent_solutions():
    arrays = _noisy_raters(1, 4)
    vote = services.majority_vote([_mask(a, offset=(1, 2, 3)) for a in arrays], 6, _Grid)
    expected = np.zeros(_Grid.shape, bool)
    expected[1:9, 2:18, 3:19] = np.sum(arrays, axis=0) * 2 > 6  # 4 of 6 needed
    assert np.array_equal(vote.to_grid(), expected)
    assert vote.voxel_count > 0


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
