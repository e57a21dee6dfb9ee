"""Slice overlays: a CT slice (site window/level) with the reference and each solution's
contour drawn in its colour, and a legend, as a PNG (Pillow)."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pydicom
from django.utils.translation import gettext as _
from PIL import Image, ImageDraw, ImageFont

from contouring.engine.rtstruct import read_rtstruct
from contouring.models import CaseStructure, ClinicalCase, Submission

logger = logging.getLogger(__name__)

REFERENCE_COLOUR = (255, 215, 0)
# Okabe–Ito colours without yellow (kept for the reference).
SOLUTION_COLOURS = (
    (0, 114, 178),
    (230, 159, 0),
    (0, 158, 115),
    (204, 121, 167),
    (86, 180, 233),
    (213, 94, 0),
    (255, 255, 255),
    (170, 170, 170),
)
TARGET_SIZE = 420
MARGIN_MM = 20.0
FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
)


@dataclass(frozen=True)
class Layer:
    label: str
    colour: tuple[int, int, int]
    polygons: list[np.ndarray]  # (n, 2) x, y in mm
    width: int


@cache
def _font(size: int):
    for path in FONT_FILES:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def slice_choices(case: ClinicalCase, structure: CaseStructure, count: int = 3) -> list[int]:
    """Slice indices spread over the reference structure (25 %, 50 %, 75 % of its extent)."""
    from contouring.services import local_paths

    with local_paths([case.reference_file.name]) as (path,):
        structure_set = read_rtstruct(path)
    roi = next((r for r in structure_set.rois if r.number == structure.roi_number), None)
    if roi is None or roi.z_range is None or not case.ct_files:
        return []
    z0, spacing = _z_axis(case)
    lo, hi = (round((z - z0) / spacing) for z in roi.z_range)
    picks = sorted({int(round(lo + (hi - lo) * f)) for f in (0.25, 0.5, 0.75)[:count]})
    return [k for k in picks if 0 <= k < len(case.ct_files)]


def _z_axis(case: ClinicalCase) -> tuple[float, float]:
    from contouring.services import local_paths

    names = [case.ct_files[0], case.ct_files[-1]]
    with local_paths(names) as paths:
        first, last = (pydicom.dcmread(p, stop_before_pixels=True) for p in paths)
    z0 = float(first.ImagePositionPatient[2])
    z1 = float(last.ImagePositionPatient[2])
    spacing = (z1 - z0) / max(len(case.ct_files) - 1, 1) or float(first.SliceThickness or 1)
    return z0, spacing


def layers_for(
    case: ClinicalCase,
    structure: CaseStructure,
    submissions: list[Submission],
    z: float,
    tolerance: float,
) -> list[Layer]:
    from contouring.services import local_paths

    def polygons(path, roi_number):
        structure_set = read_rtstruct(path)
        roi = next((r for r in structure_set.rois if r.number == roi_number), None)
        if roi is None:
            return []
        return [c.points for c in roi.contours if abs(c.z - z) <= tolerance]

    layers = []
    with local_paths([case.reference_file.name]) as (path,):
        layers.append(
            Layer(
                _("Reference (%(name)s)") % {"name": structure.name},
                REFERENCE_COLOUR,
                polygons(path, structure.roi_number),
                3,
            )
        )
    for index, submission in enumerate(submissions):
        mapping = next(
            (m for m in submission.mappings.all() if m.structure_id == structure.pk), None
        )
        colour = SOLUTION_COLOURS[index % len(SOLUTION_COLOURS)]
        if mapping is None or mapping.roi is None:
            layers.append(
                Layer(_("%(label)s (absent)") % {"label": submission.short_label}, colour, [], 2)
            )
            continue
        with local_paths([submission.file.name]) as (path,):
            layers.append(
                Layer(
                    f"{submission.short_label} ({mapping.roi.name})",
                    colour,
                    polygons(path, mapping.roi.roi_number),
                    2,
                )
            )
    return layers


def render_overlay(
    case: ClinicalCase, structure: CaseStructure, submissions: list[Submission], k: int
) -> bytes:
    """PNG of slice ``k`` of the case with every contour of ``structure``."""
    from contouring.services import local_paths

    with local_paths([case.ct_files[k]]) as (path,):
        ds = pydicom.dcmread(path)
    try:
        pixels = ds.pixel_array.astype(np.float32)
    except (NotImplementedError, RuntimeError, ValueError) as error:
        # A compressed transfer syntax without its decoder: contours on a blank slice.
        logger.warning("CT slice %s of case %s not decoded: %s", k, case.pk, error)
        pixels = np.full((int(ds.Rows), int(ds.Columns)), -1000.0, dtype=np.float32)
        ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    hu = pixels * float(ds.get("RescaleSlope", 1) or 1) + float(ds.get("RescaleIntercept", 0) or 0)
    width, level = case.window
    grey = np.clip((hu - (level - width / 2)) / width * 255, 0, 255).astype(np.uint8)
    x0, y0, z = (float(v) for v in ds.ImagePositionPatient)
    dy, dx = (float(v) for v in ds.PixelSpacing)
    orientation = [float(v) for v in ds.ImageOrientationPatient]
    sx = 1 if orientation[0] >= 0 else -1
    sy = 1 if orientation[4] >= 0 else -1
    tolerance = 0.4 * float(ds.get("SliceThickness") or 1.0)
    layers = layers_for(case, structure, submissions, z, tolerance)

    def to_index(points: np.ndarray) -> np.ndarray:
        cols = (points[:, 0] - x0) / (sx * dx)
        rows = (points[:, 1] - y0) / (sy * dy)
        return np.column_stack([cols, rows])

    all_points = [to_index(p) for layer in layers for p in layer.polygons]
    rows, cols = grey.shape
    if all_points:
        stacked = np.concatenate(all_points)
        pad_c, pad_r = MARGIN_MM / dx, MARGIN_MM / dy
        c0 = int(max(0, np.floor(stacked[:, 0].min() - pad_c)))
        c1 = int(min(cols, np.ceil(stacked[:, 0].max() + pad_c) + 1))
        r0 = int(max(0, np.floor(stacked[:, 1].min() - pad_r)))
        r1 = int(min(rows, np.ceil(stacked[:, 1].max() + pad_r) + 1))
    else:
        c0, c1, r0, r1 = 0, cols, 0, rows
    crop = grey[r0:r1, c0:c1]
    # Square pixels on screen: scale each axis by its spacing.
    scale = TARGET_SIZE / max((c1 - c0) * dx, (r1 - r0) * dy)
    size = (max(1, round((c1 - c0) * dx * scale)), max(1, round((r1 - r0) * dy * scale)))
    image = Image.fromarray(crop, mode="L").resize(size, Image.Resampling.BILINEAR).convert("RGB")
    draw = ImageDraw.Draw(image)
    for layer in layers:
        for polygon in layer.polygons:
            index = to_index(polygon)
            xy = [
                (float((c - c0 + 0.5) * dx * scale), float((r - r0 + 0.5) * dy * scale))
                for c, r in index
            ]
            if len(xy) >= 2:
                draw.line(xy + [xy[0]], fill=layer.colour, width=layer.width, joint="curve")
    return _with_legend(image, layers, z)


def _with_legend(image: Image.Image, layers: list[Layer], z: float) -> bytes:
    font = _font(13)
    line_h = 20
    legend_h = 10 + line_h * (len(layers) + 1)
    width = max(image.width, 360)
    canvas = Image.new("RGB", (width, image.height + legend_h), (20, 20, 20))
    canvas.paste(image, (0, 0))
    draw = ImageDraw.Draw(canvas)
    y = image.height + 6
    draw.text((8, y), f"z = {z:.1f} mm", fill=(230, 230, 230), font=font)
    for layer in layers:
        y += line_h
        draw.line([(8, y + 8), (34, y + 8)], fill=layer.colour, width=layer.width + 1)
        suffix = "" if layer.polygons else " — " + _("no contour on this slice")
        draw.text((42, y), layer.label + suffix, fill=(230, 230, 230), font=font)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
