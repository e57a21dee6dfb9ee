"""Slice overlays: the PNG, its legend and the slices chosen over the structure."""

from __future__ import annotations

import io

import numpy as np
import pydicom
from PIL import Image

from contouring.engine.rtstruct import read_rtstruct
from contouring.overlays import REFERENCE_COLOUR, SOLUTION_COLOURS, render_overlay, slice_choices
from tests.contouring.conftest import create_case, submit


def _colours(png: bytes) -> set[tuple[int, int, int]]:
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    return {tuple(int(v) for v in pixel) for pixel in image.reshape(-1, 3)}


def test_overlay_draws_reference_and_solutions(head_neck_files, pm, centre_a, monkeypatch):
    case = create_case(head_neck_files, pm)
    submission, _warnings = submit(case, head_neck_files, 1, centre_a, pm)  # shifted 4 mm
    structure = case.structures.get(name="Parotid_L")
    choice = slice_choices(case, structure, [submission])
    slices = choice.slices
    assert len(slices) == 3 and slices == sorted(slices) and choice.middle in slices
    png = render_overlay(case, structure, [submission], slices[1])
    colours = _colours(png)
    assert REFERENCE_COLOUR in colours and SOLUTION_COLOURS[0] in colours

    # A slice whose pixels cannot be decoded still gets its contours and legend.
    def undecodable(self):
        raise NotImplementedError("no JPEG decoder")

    monkeypatch.setattr(pydicom.dataset.Dataset, "pixel_array", property(undecodable))
    png = render_overlay(case, structure, [submission], slices[1])
    assert REFERENCE_COLOUR in _colours(png)


def test_slices_follow_the_disagreement(head_neck_files, pm, centre_a):
    """Solution C misses two end slices of each parotid: an end slice is chosen."""
    case = create_case(head_neck_files, pm)
    submission, _warnings = submit(case, head_neck_files, 2, centre_a, pm)
    structure = case.structures.get(name="Parotid_L")
    reference = next(
        r for r in read_rtstruct(head_neck_files.reference).rois if r.number == structure.roi_number
    )
    ct = sorted(
        (pydicom.dcmread(p, stop_before_pixels=True) for p in head_neck_files.ct_files),
        key=lambda ds: float(ds.ImagePositionPatient[2]),
    )
    z0 = float(ct[0].ImagePositionPatient[2])
    spacing = float(ct[1].ImagePositionPatient[2]) - z0
    lo, hi = (round((z - z0) / spacing) for z in reference.z_range)
    dropped = {lo, lo + 1, hi - 1, hi}

    choice = slice_choices(case, structure, [submission])
    # Only the dropped end slices differ from the reference, by the reference's own area.
    assert set(choice.disagreement) == set(range(lo, hi + 1))
    assert {k for k, area in choice.disagreement.items() if area > 0} == dropped
    assert choice.worst in dropped
    assert choice.middle == round((lo + hi) / 2) and choice.middle in choice.slices
    chosen_ends = set(choice.slices) & dropped
    assert chosen_ends, choice
    assert all(b - a >= 3 for a, b in zip(choice.slices, choice.slices[1:], strict=False))
    # Without solutions there is no disagreement: the middle and the 25 % / 75 % slices.
    plain = slice_choices(case, structure)
    assert plain.worst is None and plain.middle in plain.slices and len(plain.slices) == 3
