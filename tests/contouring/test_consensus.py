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
