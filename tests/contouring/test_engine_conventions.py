"""Each surface convention against the tool it reproduces, on pairs derived from shared data.

``deepmind`` must give DeepMind's ``surface-distance`` figures to 1e-3 (its surface
elements, distances, robust Hausdorff, average distances and surface DSC), and
``default`` the platform's summaries (DESIGN.md §6) of those same area-weighted elements,
rebuilt here from ``surface-distance``'s own distances and areas. ``plastimatch`` is checked
against plastimatch itself in test_engine_plastimatch.py and test_engine_scan_end.py.

``surface-distance`` 0.1 uses ``np.Inf``, which numpy 2 removed: it only matters for empty
masks, and the shim for it stays here in the tests.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage

from contouring.engine.geometry import load_ct_series
from contouring.engine.metrics import compare_masks
from contouring.engine.raster import rasterise
from contouring.engine.rtstruct import read_rtstruct
from tests.requirements import need_shared_data

surface_distance = pytest.importorskip("surface_distance")

CASES = {
    "matrad": ("matrad-phantom", "matrad-phantom/RTstruct.dcm"),
    "sts1": ("ibsi-sts/STS_001/image", "ibsi-sts/STS_001/mask/RS.dcm"),
    "sts4": ("ibsi-sts/STS_004/image", "ibsi-sts/STS_004/mask/RS.dcm"),
    "breast": ("dicompyler-core-breast/ct-rebuilt", "dicompyler-core-breast/rtss.dcm"),
}

# (case, reference structure, test: another structure or a derivation of the reference)
PAIRS = [
    ("matrad", "Volume1", "Volume2"),
    ("matrad", "Volume2", "Volume3"),
    ("matrad", "Volume1", "shift(1,2,-1)"),
    ("sts1", "GTV_Mass_CT", "shift(1,3,-2)"),
    ("sts1", "GTV_Mass_CT", "dilate"),
    ("sts4", "GTV_Mass_CT", "erode"),
    ("sts4", "GTV_Mass_CT", "shift(0,2,2)"),
    ("breast", "Heart", "Breast"),
    ("breast", "Nodes", "Scar"),
    ("breast", "Tumor Bed", "Tumor Bed Block"),
    ("breast", "Lt Lung", "shift(0,-3,4)"),
    ("breast", "BODY", "one slice short"),  # reaches both ends of the scan
]
TAUS = (1.0, 2.0, 3.0)


@pytest.fixture(scope="module")
def loaded():
    cache = {}

    def load(case):
        if case not in cache:
            ct, rs = CASES[case]
            cache[case] = (
                load_ct_series(need_shared_data(ct)),
                read_rtstruct(need_shared_data(rs)),
            )
        return cache[case]

    return load


def _pair(loaded, case, first, second):
    geometry, structures = loaded(case)
    reference = rasterise(structures.get(first), geometry).to_grid()
    if second.startswith("shift"):
        shift = tuple(int(v) for v in second[6:-1].split(","))
        test = np.roll(reference, shift, axis=(0, 1, 2))
    elif second == "dilate":
        test = ndimage.binary_dilation(reference)
    elif second == "erode":
        test = ndimage.binary_erosion(reference)
    elif second == "one slice short":
        roi = structures.get(first)
        last = max(c.z for c in roi.contours) - 0.5 * geometry.spacing[0]
        short = replace(roi, contours=tuple(c for c in roi.contours if c.z < last))
        test = rasterise(short, geometry).to_grid()
    else:
        test = rasterise(structures.get(second), geometry).to_grid()
    return reference, test, geometry.spacing


def _weighted_p95(distances, areas):
    order = np.argsort(distances, kind="stable")
    cumulated = np.cumsum(areas[order]) / areas.sum()
    return distances[order][min(np.searchsorted(cumulated, 0.95), len(order) - 1)]


@pytest.mark.parametrize(("case", "first", "second"), PAIRS)
def test_deepmind_and_default_conventions_match_surface_distance(loaded, case, first, second):
    reference, test, spacing = _pair(loaded, case, first, second)
    theirs = surface_distance.compute_surface_distances(reference, test, spacing)
    deepmind = compare_masks(reference, test, spacing=spacing, taus=TAUS, convention="deepmind")
    default = compare_masks(reference, test, spacing=spacing, taus=TAUS)
    assert deepmind.convention == "deepmind" and default.convention == "default"

    d_ab, d_ba = theirs["distances_gt_to_pred"], theirs["distances_pred_to_gt"]
    a_ab, a_ba = theirs["surfel_areas_gt"], theirs["surfel_areas_pred"]
    assert deepmind.reference_surface_voxels == len(d_ab)
    assert deepmind.test_surface_voxels == len(d_ba)
    hausdorff = surface_distance.compute_robust_hausdorff(theirs, 100)
    assert deepmind.hausdorff_mm == pytest.approx(hausdorff, abs=1e-3)
    assert default.hausdorff_mm == pytest.approx(hausdorff, abs=1e-3)
    assert deepmind.hd95_mm == pytest.approx(
        surface_distance.compute_robust_hausdorff(theirs, 95), abs=1e-3
    )
    mean_ab, mean_ba = surface_distance.compute_average_surface_distance(theirs)
    assert deepmind.mean_reference_to_test_mm == pytest.approx(mean_ab, abs=1e-3)
    assert deepmind.mean_test_to_reference_mm == pytest.approx(mean_ba, abs=1e-3)
    assert deepmind.mean_surface_distance_mm == pytest.approx((mean_ab + mean_ba) / 2, abs=1e-3)
    for tau in TAUS:
        sdsc = surface_distance.compute_surface_dice_at_tolerance(theirs, tau)
        assert deepmind.surface_dsc[tau] == pytest.approx(sdsc, abs=1e-3), tau
        assert default.surface_dsc[tau] == pytest.approx(sdsc, abs=1e-3), tau

    # The platform's summaries of the same elements: the pooled, area-weighted set.
    pooled, areas = np.concatenate([d_ab, d_ba]), np.concatenate([a_ab, a_ba])
    assert default.hd95_mm == pytest.approx(_weighted_p95(pooled, areas), abs=1e-3)
    assert default.mean_surface_distance_mm == pytest.approx(
        np.dot(pooled, areas) / areas.sum(), abs=1e-3
    )
    assert default.dsc == deepmind.dsc  # overlap figures do not depend on the convention


def test_scan_end_body_gives_the_peers_figures(loaded):
    """The issue's case: a BODY one slice short at the CT's end. Before the scan-end rule
    the engine said HD 53.2 mm; every peer says a few mm, and so does every convention."""
    reference, test, spacing = _pair(loaded, "breast", "BODY", "one slice short")
    for convention in ("default", "deepmind", "plastimatch"):
        m = compare_masks(reference, test, spacing=spacing, convention=convention)
        assert m.touches_scan_end and m.hausdorff_mm < 12.0, convention
        assert m.hd95_mm <= spacing[0] + 1e-6, convention


def test_empty_masks_with_the_numpy2_shim(monkeypatch):
    """surface-distance on an empty mask needs np.Inf (gone in numpy 2): with the shim it
    gives infinite distances, where the engine gives no distance and says why."""
    monkeypatch.setattr(np, "Inf", np.inf, raising=False)
    cube = np.zeros((10, 10, 10), dtype=bool)
    cube[3:7, 3:7, 3:7] = True
    empty = np.zeros_like(cube)
    theirs = surface_distance.compute_surface_distances(cube, empty, (1.0, 1.0, 1.0))
    assert surface_distance.compute_robust_hausdorff(theirs, 95) == np.inf
    ours = compare_masks(cube, empty, spacing=(1.0, 1.0, 1.0), convention="deepmind")
    assert ours.status == "test_empty" and ours.hd95_mm is None and ours.dsc == 0.0
