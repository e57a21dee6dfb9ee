"""Added path length measured on the reference polygons (DESIGN.md §6), against closed forms.

A disc of radius R and the same disc moved by s: a point of the reference circle at angle θ
lies at | sqrt(R² + s² − 2Rs·cos θ) − R | from the test circle, so the length farther than
τ is an arc length in closed form. The pixel-count variant (platipy's) is kept, named.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from contouring.engine.metrics import compare_prepared, polygon_added_path_length, prepare
from contouring.engine.raster import rasterise, slice_polygons
from tests.contouring.engine_phantoms import make_geometry, roi_from_polygons

R, SHIFT, SLICES = 20.0, 4.0, 5
TAUS = (1.0, 2.0, 3.0)


def _circle(cx: float, cy: float, radius: float, n: int = 720) -> list[tuple[float, float]]:
    angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
    return [(cx + radius * math.cos(a), cy + radius * math.sin(a)) for a in angles]


def _closed_form(tau: float) -> float:
    """Arc length of the reference circle farther than τ from the moved circle, per slice."""

    def arc_where_cos_below(c: float) -> float:  # length of {θ : cos θ < c}
        c = min(max(c, -1.0), 1.0)
        return 2 * R * (math.pi - math.acos(c))

    outside = (R**2 + SHIFT**2 - (R + tau) ** 2) / (2 * R * SHIFT)  # cos θ below: farther out
    inside = (R**2 + SHIFT**2 - (R - tau) ** 2) / (2 * R * SHIFT)  # cos θ above: farther in
    return arc_where_cos_below(outside) + (2 * math.pi * R - arc_where_cos_below(inside))


@pytest.fixture
def discs():
    geometry = make_geometry((SLICES + 2, 80, 80), spacing=(2.0, 0.977, 0.977))
    zs = [2.0 * k for k in range(1, SLICES + 1)]
    reference = roi_from_polygons({z: [_circle(38.0, 38.0, R)] for z in zs}, "A")
    test = roi_from_polygons({z: [_circle(38.0 + SHIFT, 38.0, R)] for z in zs}, "B")
    return [
        prepare(rasterise(roi, geometry), slice_polygons(roi, geometry))
        for roi in (reference, test)
    ]


def test_disc_apl_within_two_percent_of_the_closed_form(discs):
    m = compare_prepared(*discs, taus=TAUS)
    assert m.apl_method == "polygon"
    for tau in TAUS:
        expected = SLICES * _closed_form(tau)
        assert m.added_path_length_mm[tau] == pytest.approx(expected, rel=0.02), tau


def test_pixel_count_variant_is_kept_and_named(discs):
    pixels = compare_prepared(*discs, taus=TAUS, apl="pixels")
    polygon = compare_prepared(*discs, taus=TAUS)
    assert pixels.apl_method == "pixels"
    # Boundary pixels times the pixel size are not the polygon's length.
    for tau in TAUS:
        expected = SLICES * _closed_form(tau)
        pixel_error = abs(pixels.added_path_length_mm[tau] - expected) / expected
        polygon_error = abs(polygon.added_path_length_mm[tau] - expected) / expected
        assert polygon_error < pixel_error, (tau, polygon_error, pixel_error)


def test_whole_reference_contour_counts_on_slices_without_test_contour():
    square = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]
    apl = polygon_added_path_length({3: [np.array(square)]}, {4: [np.array(square)]}, TAUS)
    assert apl == pytest.approx(dict.fromkeys(TAUS, 40.0))
    same = polygon_added_path_length({3: [np.array(square)]}, {3: [np.array(square)]}, TAUS)
    assert same == dict.fromkeys(TAUS, 0.0)


def test_arrays_have_no_polygons_so_apl_counts_pixels():
    from contouring.engine.metrics import compare_masks

    a = np.zeros((5, 20, 20), bool)
    a[1:4, 5:15, 5:15] = True
    assert compare_masks(a, a, spacing=(1.0, 1.0, 1.0)).apl_method == "pixels"
