"""Metrics on analytic phantoms with known answers, and against a brute-force reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial.distance import cdist

from contouring.engine.errors import EngineError
from contouring.engine.metrics import CONVENTIONS, compare_masks, percentile95
from contouring.engine.raster import Mask
from tests.contouring.engine_phantoms import ball, box

SHAPE = (30, 40, 40)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_identical_cubes_are_perfect(convention):
    cube = box(SHAPE, (5, 5, 5), (25, 25, 25))
    m = compare_masks(cube, cube, spacing=(1.0, 1.0, 1.0), convention=convention)
    assert m.status == "ok"
    assert m.dsc == 1.0 and m.jaccard == 1.0
    assert m.hausdorff_mm == 0.0 and m.hd95_mm == 0.0 and m.mean_surface_distance_mm == 0.0
    assert m.surface_dsc == {1.0: 1.0, 2.0: 1.0, 3.0: 1.0}
    assert m.added_path_length_mm == {1.0: 0.0, 2.0: 0.0, 3.0: 0.0}
    assert m.centroid_distance_mm == 0.0
    assert m.reference_volume_cc == pytest.approx(8.0)
    if convention == "plastimatch":  # boundary voxels
        assert m.reference_surface_voxels == 20**3 - 18**3
    else:  # voxel corners on the surface of the 20-voxel cube
        assert m.reference_surface_voxels == 21**3 - 19**3


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (2.5, 0.98, 0.98), (3.0, 1.0, 0.5)])
def test_cube_shifted_along_x(spacing):
    """A 20-voxel cube moved by 3 voxels: every figure has a closed form."""
    a = box(SHAPE, (5, 5, 5), (25, 25, 25))
    b = box(SHAPE, (5, 5, 8), (25, 25, 28))
    m = compare_masks(a, b, spacing=spacing)
    dx = spacing[2]
    voxel_cc = np.prod(spacing) / 1000
    assert m.dsc == pytest.approx(17 / 20)
    assert m.jaccard == pytest.approx(17 / 23)
    assert m.sensitivity == pytest.approx(17 / 20) and m.precision == pytest.approx(17 / 20)
    assert m.false_positive_cc == pytest.approx(3 * 400 * voxel_cc)
    assert m.false_negative_cc == pytest.approx(3 * 400 * voxel_cc)
    assert m.volume_ratio == pytest.approx(1.0)
    assert m.hausdorff_mm == pytest.approx(3 * dx)
    assert m.centroid_distance_mm == pytest.approx(3 * dx)


def test_shift_across_slices_uses_slice_spacing():
    spacing = (2.5, 0.98, 0.98)
    a = box(SHAPE, (5, 5, 5), (15, 25, 25))
    b = box(SHAPE, (7, 5, 5), (17, 25, 25))
    m = compare_masks(a, b, spacing=spacing)
    assert m.hausdorff_mm == pytest.approx(5.0)
    assert m.centroid_distance_mm == pytest.approx(5.0)
    assert m.dsc == pytest.approx(8 / 10)
    # Two slices of the reference have no test contour at all: their whole perimeter is
    # added path length, whatever τ; on shared slices the in-plane contours coincide.
    perimeter_pixels = 4 * (20 - 1)
    assert m.added_path_length_mm[3.0] == pytest.approx(2 * perimeter_pixels * 0.98)


def test_surface_dsc_and_apl_thresholds():
    """Shift by one 1-mm voxel: every surface voxel is within 1 mm, none within 0.5 mm
    on the moved faces."""
    a = box(SHAPE, (5, 5, 5), (25, 25, 25))
    b = box(SHAPE, (5, 5, 6), (25, 25, 26))
    m = compare_masks(a, b, spacing=(1.0, 1.0, 1.0), taus=(0.5, 1.0))
    assert m.surface_dsc[1.0] == 1.0
    assert m.surface_dsc[0.5] < 1.0
    assert m.added_path_length_mm[1.0] == 0.0
    # Per slice: the reference's left column (20 pixels) lies on no test boundary pixel;
    # of its right column only the two corners lie on the test's top and bottom rows.
    assert m.added_path_length_mm[0.5] == pytest.approx(20 * (20 + 18))


def test_concentric_spheres_within_half_a_voxel():
    spacing = (1.0, 1.0, 1.0)
    centre = (15.0, 20.0, 20.0)
    a = ball(SHAPE, spacing, centre, 8.0)
    b = ball(SHAPE, spacing, centre, 11.0)
    m = compare_masks(a, b, spacing=spacing)
    assert m.reference_volume_cc * 1000 == pytest.approx(4 / 3 * math.pi * 8**3, rel=0.03)
    assert m.dsc == pytest.approx(2 * 8**3 / (8**3 + 11**3), abs=0.02)
    assert m.hausdorff_mm == pytest.approx(3.0, abs=0.5 * math.sqrt(3))
    assert m.hd95_mm == pytest.approx(3.0, abs=0.5 * math.sqrt(3))
    assert m.mean_surface_distance_mm == pytest.approx(3.0, abs=0.5)
    assert m.centroid_distance_mm == pytest.approx(0.0, abs=1e-9)


def test_scaled_copy_volume_ratio():
    spacing = (1.0, 1.0, 1.0)
    a = box(SHAPE, (5, 10, 10), (15, 20, 20))
    b = box(SHAPE, (5, 10, 10), (15, 30, 20))
    m = compare_masks(a, b, spacing=spacing)
    assert m.volume_ratio == pytest.approx(2.0)
    assert m.dsc == pytest.approx(2 / 3)
    assert m.sensitivity == 1.0 and m.precision == pytest.approx(0.5)
    assert m.hausdorff_mm == pytest.approx(10.0)


def test_shell_with_hole_and_the_three_hd95_definitions():
    """Shell (R=10, r=5) against the full ball: only the inner surface is far.

    Surface voxel centres lie half a voxel inside the outer sphere and half a voxel
    outside the hole, so the expected distance is R - r - 1 = 4 mm (± half a diagonal).
    """
    spacing = (1.0, 1.0, 1.0)
    centre = (15.0, 20.0, 20.0)
    full = ball(SHAPE, spacing, centre, 10.0)
    shell = full & ~ball(SHAPE, spacing, centre, 5.0)
    results = {
        method: compare_masks(shell, full, spacing=spacing, hd95=method, convention="plastimatch")
        for method in ("max", "mean", "pooled")
    }
    m = results["max"]
    assert m.reference_volume_cc * 1000 == pytest.approx(4 / 3 * math.pi * (1000 - 125), rel=0.03)
    assert m.hausdorff_mm == pytest.approx(4.0, abs=0.5 * math.sqrt(3))
    assert m.hd95_test_to_reference_mm == 0.0  # the ball's surface is the shell's outside
    assert m.hd95_reference_to_test_mm == pytest.approx(4.0, abs=0.5 * math.sqrt(3))
    assert results["max"].hd95_mm == m.hd95_reference_to_test_mm
    assert results["mean"].hd95_mm == pytest.approx(m.hd95_reference_to_test_mm / 2)
    # Inner-surface voxels are >5 % of the pooled set too, so pooled P95 is also ≈4 mm.
    assert results["pooled"].hd95_mm == pytest.approx(4.0, abs=0.5 * math.sqrt(3))
    assert m.sensitivity == 1.0 and m.precision < 1.0


def _brute_force(a: np.ndarray, b: np.ndarray, spacing) -> tuple[np.ndarray, np.ndarray]:
    """Independent surface distances: ndimage erosion (6-connectivity) and all-pairs cdist.

    Beyond the grid is outside (border_value=0), as in every peer tool."""
    structure = ndimage.generate_binary_structure(3, 1)

    def surface(x):
        return np.argwhere(x & ~ndimage.binary_erosion(x, structure, border_value=0)) * spacing

    sa, sb = surface(a), surface(b)
    d = cdist(sa, sb)
    return d.min(axis=1), d.min(axis=0)


def test_random_blobs_match_brute_force():
    rng = np.random.default_rng(7)
    spacing = np.array([2.0, 0.9, 1.1])
    noise = ndimage.gaussian_filter(rng.standard_normal(SHAPE), 3)
    a = noise > 0.05
    b = np.roll(noise, (1, 2, -1), axis=(0, 1, 2)) > 0.08
    d_ab, d_ba = _brute_force(a, b, spacing)
    m = compare_masks(a, b, spacing=tuple(spacing), hd95="pooled", convention="plastimatch")
    assert m.hausdorff_mm == pytest.approx(max(d_ab.max(), d_ba.max()))
    assert m.mean_reference_to_test_mm == pytest.approx(d_ab.mean())
    assert m.mean_test_to_reference_mm == pytest.approx(d_ba.mean())
    pooled = np.concatenate([d_ab, d_ba])
    # plastimatch's "average": the mean of the two directed means, not of the pooled set.
    assert m.mean_surface_distance_mm == pytest.approx((d_ab.mean() + d_ba.mean()) / 2)
    assert m.hd95_mm == pytest.approx(np.sort(pooled)[int(np.floor(0.95 * len(pooled))) - 1])
    assert m.surface_dsc[2.0] == pytest.approx(
        (np.sum(d_ab <= 2.0) + np.sum(d_ba <= 2.0)) / len(pooled)
    )
    assert m.dsc == pytest.approx(2 * np.sum(a & b) / (a.sum() + b.sum()))


def test_beyond_the_grid_is_outside():
    """A slab filling the grid in x has its x faces: the grid border is a surface."""
    slab = box((10, 10, 10), (2, 2, 0), (8, 8, 10))
    m = compare_masks(slab, slab, spacing=(1.0, 1.0, 1.0), convention="plastimatch")
    assert m.reference_surface_voxels == 6 * 6 * 10 - 4 * 4 * 8
    assert not m.touches_scan_end  # slices 2..7 of 10: the scan's ends are not reached


@pytest.mark.parametrize("spacing", [(3.0, 1.0, 1.0), (2.5, 0.98, 0.98)])
def test_test_one_slice_short_at_the_scan_end(spacing):
    """Reference to the last CT slice, test stopping one slice before: every peer gives HD =
    the slice spacing (the reference's end face is a surface, one slice from the test's)."""
    shape = (20, 30, 30)
    reference = box(shape, (5, 5, 5), (20, 25, 25))
    test = box(shape, (5, 5, 5), (19, 25, 25))
    m = compare_masks(reference, test, spacing=spacing)
    assert m.hausdorff_mm == pytest.approx(spacing[0])
    assert m.hd95_mm <= spacing[0] + 1e-9
    assert m.reference_touches_scan_end and not m.test_touches_scan_end
    assert m.touches_scan_end
    assert "bornées par l'étendue du CT" in m.scan_end_note("fr")
    assert m.scan_end_note("en").endswith("bounded by the CT extent")
    clear = compare_masks(test, test, spacing=spacing)
    assert not clear.touches_scan_end and clear.scan_end_note() == ""


@pytest.mark.parametrize(
    ("a_empty", "b_empty", "status"),
    [(True, False, "reference_empty"), (False, True, "test_empty"), (True, True, "both_empty")],
)
def test_empty_side_has_no_distance(a_empty, b_empty, status):
    cube = box(SHAPE, (5, 5, 5), (10, 10, 10))
    empty = np.zeros(SHAPE, dtype=bool)
    m = compare_masks(empty if a_empty else cube, empty if b_empty else cube, (1.0, 1.0, 1.0))
    assert m.status == status
    assert not m.has_distances
    for value in (
        m.hausdorff_mm,
        m.hd95_mm,
        m.mean_surface_distance_mm,
        m.surface_dsc,
        m.added_path_length_mm,
        m.centroid_distance_mm,
    ):
        assert value is None
    assert m.reason("fr").startswith("structure vide")
    if status == "both_empty":
        assert m.dsc is None
    else:
        assert m.dsc == 0.0


def test_bbox_masks_give_the_same_result_as_full_grids():
    spacing = (2.0, 1.0, 1.0)
    a = ball(SHAPE, spacing, (30.0, 20.0, 18.0), 9.0)
    b = ball(SHAPE, spacing, (32.0, 21.0, 20.0), 8.0)
    full = compare_masks(a, b, spacing=spacing)
    cropped = compare_masks(Mask.from_array(a, spacing), Mask.from_array(b, spacing))
    assert cropped == full
    assert Mask.from_array(a, spacing).data.shape != a.shape


def test_results_are_frozen():
    cube = box(SHAPE, (5, 5, 5), (10, 10, 10))
    m = compare_masks(cube, cube, spacing=(1.0, 1.0, 1.0))
    with pytest.raises(AttributeError):
        m.dsc = 0.5  # type: ignore[misc]


def test_percentile_rule_is_plastimatchs():
    values = np.arange(1, 21, dtype=float)  # floor(0.95 * 20) = 19th smallest
    assert percentile95(values) == 19.0
    assert percentile95(np.array([4.0])) == 4.0


def test_bad_arguments_raise_engine_errors():
    cube = box(SHAPE, (5, 5, 5), (10, 10, 10))
    with pytest.raises(EngineError) as info:
        compare_masks(cube, cube)
    assert info.value.code == "invalid_argument"
    with pytest.raises(EngineError):
        compare_masks(cube, cube, spacing=(1.0, 1.0, 1.0), hd95="median")  # type: ignore[arg-type]
