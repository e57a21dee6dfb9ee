"""Slice overlays: the PNG, its legend and the slices chosen over the structure."""

from __future__ import annotations

import io

import numpy as np
import pydicom
from PIL import Image

from contouring.overlays import REFERENCE_COLOUR, SOLUTION_COLOURS, render_overlay, slice_choices
from tests.contouring.conftest import create_case, submit


def _colours(png: bytes) -> set[tuple[int, int, int]]:
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    return {tuple(int(v) for v in pixel) for pixel in image.reshape(-1, 3)}


def test_overlay_draws_reference_and_solutions(head_neck_files, pm, centre_a, monkeypatch):
    case = create_case(head_neck_files, pm)
    submission, _warnings = submit(case, head_neck_files, 1, centre_a, pm)  # shifted 4 mm
    structure = case.structures.get(name="Parotid_L")
    slices = slice_choices(case, structure)
    assert len(slices) == 3 and slices == sorted(slices)
    png = render_overlay(case, structure, [submission], slices[1])
    colours = _colours(png)
    assert REFERENCE_COLOUR in colours and SOLUTION_COLOURS[0] in colours

    # A slice whose pixels cannot be decoded still gets its contours and legend.
    def undecodable(self):
        raise NotImplementedError("no JPEG decoder")

    monkeypatch.setattr(pydicom.dataset.Dataset, "pixel_array", property(undecodable))
    png = render_overlay(case, structure, [submission], slices[1])
    assert REFERENCE_COLOUR in _colours(png)
