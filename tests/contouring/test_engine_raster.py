"""Rasterisation: pixel-centre rule, half-open ties, holes, union, bounding box, slices."""

from __future__ import annotations

import numpy as np
import pytest

from contouring.engine.errors import EngineError
from contouring.engine.raster import fill_polygons, rasterise
from tests.contouring.engine_phantoms import make_geometry, roi_from_polygons, square


def _point_in_polygon(x: float, y: float, polygon: np.ndarray) -> bool:
    """Textbook crossing test, written independently of the engine, same half-open rule."""
    inside = False
    n = len(polygon)
    for i in range(n):
        (x0, y0), (x1, y1) = polygon[i], polygon[(i + 1) % n]
        if (y0 <= y) != (y1 <= y):
            x_cross = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
            if x >= x_cross:
                inside = not inside
    return inside


def test_square_with_vertices_on_pixel_centres_is_half_open():
    """Vertices on pixel centres 0 and 4: columns/rows 0..3 are in, 4 is out."""
    geometry = make_geometry((1, 10, 10))
    mask = rasterise(roi_from_polygons({0.0: [square(0, 0, 4, 4)]}), geometry)
    assert mask.voxel_count == 16
    assert mask.offset == (0, 0, 0)
    assert mask.data.shape == (1, 4, 4)


def test_adjacent_polygons_neither_overlap_nor_leave_a_gap():
    geometry = make_geometry((1, 12, 12))
    left = rasterise(roi_from_polygons({0.0: [square(1, 1, 5, 9)]}), geometry).to_grid()
    right = rasterise(roi_from_polygons({0.0: [square(5, 1, 9, 9)]}), geometry).to_grid()
    both = rasterise(roi_from_polygons({0.0: [square(1, 1, 9, 9)]}), geometry).to_grid()
    assert not np.any(left & right)
    assert np.array_equal(left | right, both)


def test_inner_contour_makes_a_hole_with_evenodd_and_is_filled_with_union():
    geometry = make_geometry((1, 20, 20))
    outer, inner = square(2.5, 2.5, 12.5, 12.5), square(5.5, 5.5, 9.5, 9.5)
    roi = roi_from_polygons({0.0: [outer, inner]})
    assert rasterise(roi, geometry).voxel_count == 100 - 16
    assert rasterise(roi, geometry, rule="union").voxel_count == 100


def test_keyhole_contour_equals_outer_minus_inner():
    """DICOM keyhole: one polygon goes round the outside, in through a zero-width cut,
    round the hole backwards and out again."""
    geometry = make_geometry((1, 20, 20))
    keyhole = [
        (2.5, 2.5), (12.5, 2.5), (12.5, 12.5), (2.5, 12.5), (2.5, 7.5),
        (5.5, 7.5), (5.5, 9.5), (9.5, 9.5), (9.5, 5.5), (5.5, 5.5), (5.5, 7.5),
        (2.5, 7.5),
    ]  # fmt: skip
    mask = rasterise(roi_from_polygons({0.0: [keyhole]}), geometry)
    assert mask.voxel_count == 100 - 16


def test_overlapping_polygons_xor_or_union():
    geometry = make_geometry((1, 20, 20))
    roi = roi_from_polygons({0.0: [square(0.5, 0.5, 6.5, 6.5), square(3.5, 3.5, 9.5, 9.5)]})
    assert rasterise(roi, geometry).voxel_count == 36 + 36 - 2 * 9
    assert rasterise(roi, geometry, rule="union").voxel_count == 36 + 36 - 9


def test_random_polygons_match_an_independent_point_in_polygon_test():
    rng = np.random.default_rng(3)
    for _ in range(20):
        n = int(rng.integers(3, 12))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = rng.uniform(2, 9, n)
        polygon = np.column_stack([10 + radii * np.cos(angles), 10 + radii * np.sin(angles)])
        # Snap half of the vertices onto pixel centres to exercise the tie rules.
        snap = rng.random(n) < 0.5
        polygon[snap] = np.round(polygon[snap])
        got = fill_polygons([polygon[:, ::-1]], (0, 0), (21, 21), "evenodd")
        expected = np.array(
            [[_point_in_polygon(i, j, polygon) for i in range(21)] for j in range(21)]
        )
        assert np.array_equal(got, expected)


def test_mask_lives_in_its_bounding_box_on_an_anisotropic_grid():
    spacing = (2.5, 0.98, 0.98)
    geometry = make_geometry((40, 512, 512), spacing=spacing, origin=(-50.0, -250.0, -250.0))
    planes = {-50.0 + 2.5 * k: [square(-20, -10, 20, 10)] for k in range(10, 14)}
    mask = rasterise(roi_from_polygons(planes), geometry)
    assert mask.offset[0] == 10
    assert mask.data.shape[0] == 4
    assert mask.data.shape[1] < 30 and mask.data.shape[2] < 50
    # Area 40 x 20 mm on 0.98-mm pixels, 4 slices of 2.5 mm: within one pixel row/column.
    expected = 40 * 20 * 4 * 2.5 / 1000
    assert mask.volume_cc == pytest.approx(expected, rel=0.06)
    assert mask.slice_range == (10, 13)


def test_flipped_axes_map_to_the_same_physical_voxels():
    geometry = make_geometry((1, 20, 20), origin=(0.0, 19.0, 19.0), signs=(1, -1, -1))
    mask = rasterise(roi_from_polygons({0.0: [square(0, 0, 4, 4)]}), geometry)
    # x in (0, 4] maps to columns 15..19 under the flip; the half-open rule mirrors too.
    assert mask.voxel_count == 16
    assert mask.offset == (0, 15, 15)


def test_empty_roi_gives_an_empty_mask():
    geometry = make_geometry((3, 10, 10))
    mask = rasterise(roi_from_polygons({}), geometry)
    assert mask.is_empty and mask.volume_cc == 0.0 and mask.slice_range is None


def test_contour_outside_the_series_or_between_slices_is_an_error():
    geometry = make_geometry((3, 10, 10), spacing=(3.0, 1.0, 1.0))
    with pytest.raises(EngineError) as info:
        rasterise(roi_from_polygons({12.0: [square(1, 1, 4, 4)]}), geometry, source="rs.dcm")
    assert info.value.code == "contour_outside_ct"
    assert info.value.file == "rs.dcm"
    with pytest.raises(EngineError) as info:
        rasterise(roi_from_polygons({1.5: [square(1, 1, 4, 4)]}), geometry)
    assert info.value.code == "contour_off_slice"


def test_contour_beyond_the_field_of_view_is_clipped_with_a_warning():
    geometry = make_geometry((1, 10, 10))
    mask = rasterise(roi_from_polygons({0.0: [square(-5, -5, 3, 3)]}), geometry)
    assert mask.voxel_count == 9
    assert [w.code for w in mask.warnings] == ["contour_outside_grid"]
