"""Overlay readability: colour-blind-safe colours with line styles, full legend, 5 cm bar."""

from __future__ import annotations

import io
import itertools

import numpy as np
from PIL import Image

from contouring import overlays
from contouring.overlays import (
    REFERENCE_COLOUR,
    SOLUTION_COLOURS,
    Layer,
    overlay_image,
    render_overlay,
    solution_style,
)
from tests.contouring.conftest import create_case, submit

OKABE_ITO = {
    (230, 159, 0),
    (86, 180, 233),
    (0, 158, 115),
    (240, 228, 66),
    (0, 114, 178),
    (213, 94, 0),
    (204, 121, 167),
}


def _distance(a, b) -> float:
    return float(np.linalg.norm(np.subtract(a, b)))


def test_palette_is_okabe_ito_and_no_solution_looks_like_the_reference():
    assert REFERENCE_COLOUR in OKABE_ITO
    coloured = [c for c in SOLUTION_COLOURS if c not in ((255, 255, 255), (170, 170, 170))]
    assert set(coloured) <= OKABE_ITO
    for colour in SOLUTION_COLOURS:
        assert _distance(colour, REFERENCE_COLOUR) >= 80, colour
    styles = [solution_style(i) for i in range(len(SOLUTION_COLOURS))]
    assert len(set(styles)) == len(styles)
    # Neighbouring solutions differ by their line as well as their colour.
    for (_c1, d1), (_c2, d2) in itertools.pairwise(styles):
        assert d1 != d2
    # Orange, the closest hue to the reference's yellow, is never a solid line.
    orange = SOLUTION_COLOURS.index((230, 159, 0))
    assert solution_style(orange)[1] is not None


def test_legend_is_never_cut():
    image = Image.new("RGB", (300, 200), (0, 0, 0))
    label = "AutoContour Deep Learning Enterprise Edition 12.4.1-rc3 · Centre hospitalier X"
    layers = [
        Layer("Référence (Parotid_L)", REFERENCE_COLOUR, [np.zeros((3, 2))], 3),
        Layer(label, *solution_style(1)[:1], [], 2, solution_style(1)[1]),
    ]
    canvas = overlays._with_legend(image, layers, 12.25)
    font = overlays._font(13)
    needed = 42 + font.getlength(label + " — aucun contour sur cette coupe")
    assert canvas.width >= needed
    legend = np.asarray(canvas)[image.height :, :, :]
    lit = np.where(legend.max(axis=2) > 150)[1]
    assert lit.max() < canvas.width - 4  # the text ends before the edge


def test_overlay_has_a_5_cm_scale_bar_and_dashed_solutions(head_neck_files, pm, centre_a):
    case = create_case(head_neck_files, pm)
    first, _w = submit(case, head_neck_files, 1, centre_a, pm)
    second, _w = submit(case, head_neck_files, 2, centre_a, pm)
    structure = case.structures.get(name="Parotid_L")
    k = len(case.ct_files) // 2
    result = overlay_image(case, structure, [first, second], k)
    x0, x1, y = result.scale_bar
    assert x1 - x0 == round(50 * result.pixels_per_mm)
    assert x1 < result.image.width
    row = np.asarray(result.image)[y, x0 : x1 + 1]
    assert (row == 255).all()
    png = render_overlay(case, structure, [first, second], k)
    colours = {
        tuple(int(v) for v in p)
        for p in np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    }
    assert REFERENCE_COLOUR in colours
    assert SOLUTION_COLOURS[0] in colours and SOLUTION_COLOURS[1] in colours
