"""CT series geometry: the voxel grid every structure is rasterised on.

Arrays are indexed ``[z, y, x]`` (slice, row, column) everywhere in the engine, so every
tuple here is given in that order: ``shape = (nz, ny, nx)``, ``spacing = (dz, dy, dx)`` in
mm and ``origin = (z, y, x)`` the patient position in mm of the centre of voxel ``[0, 0, 0]``.
The patient position of voxel ``[k, j, i]`` is ``origin + signs * (k, j, i) * spacing``:
slices are sorted by increasing z, and ``signs`` records rows or columns that run towards
negative y or x (feet-first or prone acquisitions).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .dicomfile import read_fast, text
from .errors import EngineError, EngineIssue

# Direction cosines are written with 5-7 decimals; 1e-3 rad is far below a voxel at 50 cm.
_ORIENTATION_TOLERANCE = 1e-3
# Relative tolerance on slice spacing before we call it non-uniform.
_SPACING_TOLERANCE = 0.01
# Rounding of written slice positions tolerated in the spacing (mm), on top of 1 %.
_POSITION_ROUNDING_MM = 0.0105
# Spacing variation worth a warning even when within tolerance (mm).
_JITTER_REPORT_MM = 1e-3
_IMAGE_MODALITIES = frozenset({"CT"})


@dataclass(frozen=True)
class CTGeometry:
    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    signs: tuple[int, int, int]
    slice_positions: tuple[float, ...]
    frame_of_reference_uid: str
    orientation: tuple[float, ...]
    series_instance_uid: str | None
    sop_instance_uids: frozenset[str]
    files: tuple[str, ...]
    source: str
    warnings: tuple[EngineIssue, ...] = ()

    @property
    def voxel_volume_mm3(self) -> float:
        return float(np.prod(self.spacing))

    def slice_index(self, z: float) -> float:
        """Fractional slice index of patient position ``z`` (mm)."""
        return (z - self.origin[0]) / self.spacing[0]

    def xy_to_index(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Continuous (row, column) indices of patient positions, pixel centres at integers."""
        col = (x - self.origin[2]) / (self.signs[2] * self.spacing[2])
        row = (y - self.origin[1]) / (self.signs[1] * self.spacing[1])
        return row, col

    def describe(self) -> dict[str, object]:
        """Plain summary for the CLI and the web app."""
        return {
            "source": self.source,
            "shape_zyx": list(self.shape),
            "spacing_zyx_mm": [round(s, 6) for s in self.spacing],
            "origin_zyx_mm": [round(o, 6) for o in self.origin],
            "z_range_mm": [self.slice_positions[0], self.slice_positions[-1]],
            "frame_of_reference_uid": self.frame_of_reference_uid,
            "orientation": list(self.orientation),
            "series_instance_uid": self.series_instance_uid,
        }


def load_ct_series(paths_or_dir: str | Path | Iterable[str | Path]) -> CTGeometry:
    """Read a CT series (a folder, or a list of files in any order) and check its grid.

    In a folder, files that are not DICOM or not CT images (an RTSTRUCT stored alongside,
    a README) are skipped with a warning; in an explicit list they are errors.
    """
    warnings: list[EngineIssue] = []
    if isinstance(paths_or_dir, (str, Path)) and Path(paths_or_dir).is_dir():
        source = str(paths_or_dir)
        datasets = _read_folder(Path(paths_or_dir), warnings)
    elif isinstance(paths_or_dir, (str, Path)):
        source = str(paths_or_dir)
        datasets = _read_files([Path(paths_or_dir)])
    else:
        files = [Path(p) for p in paths_or_dir]
        source = str(files[0].parent) if files else "?"
        datasets = _read_files(files)
    if not datasets:
        raise EngineError("no_ct_images", source)
    return _build_geometry(datasets, source, warnings)


def _read_folder(folder: Path, warnings: list[EngineIssue]) -> list[tuple[Path, object]]:
    datasets = []
    skipped = []
    with os.scandir(folder) as entries:
        names = sorted(e.name for e in entries if e.is_file() and not e.name.startswith("."))
    for path in (folder / name for name in names):
        try:
            ds = read_fast(path)
        except EngineError as exc:
            if exc.code != "not_dicom":
                raise
            skipped.append(path.name)
            continue
        if text(ds, "Modality") not in _IMAGE_MODALITIES:
            skipped.append(path.name)
            continue
        datasets.append((path, ds))
    if skipped:
        names = ", ".join(skipped[:5]) + (" …" if len(skipped) > 5 else "")
        warnings.append(
            EngineIssue("skipped_files", str(folder), {"count": len(skipped), "names": names})
        )
    return datasets


def _read_files(files: list[Path]) -> list[tuple[Path, object]]:
    datasets = []
    for path in files:
        ds = read_fast(path)
        modality = text(ds, "Modality")
        if modality not in _IMAGE_MODALITIES:
            raise EngineError("not_ct_image", path, modality=modality or "?")
        datasets.append((path, ds))
    return datasets


# A patient position or pixel size beyond these is no CT's (and would overflow indices).
_POSITION_LIMIT_MM = 1.0e4
_PIXEL_SPACING_LIMIT_MM = 1.0e3


def _floats(ds, keyword: str, path: Path, count: int) -> np.ndarray:
    value = ds.get(keyword)
    try:
        array = np.array([float(v) for v in value], dtype=float)
    except (TypeError, ValueError, OverflowError) as exc:
        raise EngineError("missing_geometry", path, attribute=keyword) from exc
    if array.shape != (count,):
        raise EngineError("missing_geometry", path, attribute=keyword)
    if keyword == "PixelSpacing":
        valid = np.all((array > 0) & (array < _PIXEL_SPACING_LIMIT_MM))
    else:
        valid = np.all(np.abs(array) < _POSITION_LIMIT_MM)  # False for NaN
    if not valid:
        shown = "\\".join(f"{v:g}" for v in array)
        raise EngineError("invalid_attribute", path, attribute=keyword, value=shown)
    return array


def _axis_sign(vector: np.ndarray, axis: int) -> int | None:
    """+1/-1 when ``vector`` is the patient axis ``axis`` (or its opposite), else None."""
    target = np.zeros(3)
    target[axis] = 1.0
    for sign in (1, -1):
        if np.allclose(vector, sign * target, atol=_ORIENTATION_TOLERANCE):
            return sign
    return None


def _check_orientation(orientation: np.ndarray, source: str) -> tuple[int, int]:
    row, col = orientation[:3], orientation[3:]
    sx, sy = _axis_sign(row, 0), _axis_sign(col, 1)
    if sx is not None and sy is not None:
        return sx, sy
    shown = "[" + ", ".join(f"{v:.4g}" for v in orientation) + "]"
    axis_aligned = np.all(
        np.isclose(np.abs(orientation), 0, atol=_ORIENTATION_TOLERANCE)
        | np.isclose(np.abs(orientation), 1, atol=_ORIENTATION_TOLERANCE)
    )
    raise EngineError(
        "unsupported_orientation" if axis_aligned else "oblique_series", source, orientation=shown
    )


def _build_geometry(datasets: list, source: str, warnings: list[EngineIssue]) -> CTGeometry:
    first_path, first = datasets[0]
    series = {text(ds, "SeriesInstanceUID") for _, ds in datasets}
    if len(series) > 1:
        raise EngineError("multiple_series", source, count=len(series))

    # One check on stacked arrays rather than np.allclose per file; the first offending
    # file in reading order is the one named, as with the check file by file.
    orientations = []
    for path, ds in datasets:
        try:
            orientations.append(_floats(ds, "ImageOrientationPatient", path, 6))
        except EngineError:
            _check_same_orientation(orientations, datasets)  # an earlier file differs
            raise
    orientation = _check_same_orientation(orientations, datasets)
    sx, sy = _check_orientation(orientation, source)

    frame = text(first, "FrameOfReferenceUID")
    if frame is None:
        raise EngineError("missing_frame_of_reference", first_path)
    for path, ds in datasets[1:]:
        if text(ds, "FrameOfReferenceUID") != frame:
            raise EngineError("mixed_frame_of_reference", path)

    pixel_spacing = _floats(first, "PixelSpacing", first_path, 2)  # (row spacing, col spacing)
    matrix = (first.get("Rows"), first.get("Columns"))
    if None in matrix:
        raise EngineError("missing_geometry", first_path, attribute="Rows/Columns")
    if not all(isinstance(n, int) and n > 0 for n in matrix):
        shown = "\\".join(map(str, matrix))
        raise EngineError("invalid_attribute", first_path, attribute="Rows/Columns", value=shown)
    for path, ds in datasets[1:]:
        if (ds.get("Rows"), ds.get("Columns")) != matrix:
            raise EngineError("mixed_pixel_spacing", path)
        spacings = _floats(ds, "PixelSpacing", path, 2)
        # np.allclose(spacings, pixel_spacing, rtol=1e-4), without its per-call overhead
        if np.any(np.abs(spacings - pixel_spacing) > 1e-8 + 1e-4 * np.abs(pixel_spacing)):
            raise EngineError("mixed_pixel_spacing", path)

    positions = np.array([_floats(ds, "ImagePositionPatient", p, 3) for p, ds in datasets])
    order = np.argsort(positions[:, 2], kind="stable")
    positions = positions[order]
    paths = [datasets[i][0] for i in order]
    shift = np.abs(positions[:, :2] - positions[0, :2]).max(axis=1)
    worst = int(np.argmax(shift))
    # Half a pixel of in-plane shift would move every voxel centre: reject well before that.
    if shift[worst] > 0.01 * float(pixel_spacing.min()):
        raise EngineError("misaligned_slices", paths[worst], shift=round(float(shift[worst]), 4))

    z = positions[:, 2]
    thickness = _optional_float(first.get("SliceThickness"))
    dz = _slice_spacing(z, paths, source, thickness, warnings)

    return CTGeometry(
        shape=(len(z), int(matrix[0]), int(matrix[1])),
        spacing=(dz, float(pixel_spacing[0]), float(pixel_spacing[1])),
        origin=(float(z[0]), float(positions[0, 1]), float(positions[0, 0])),
        signs=(1, sy, sx),
        slice_positions=tuple(float(v) for v in z),
        frame_of_reference_uid=frame,
        orientation=tuple(float(v) for v in orientation),
        series_instance_uid=next(iter(series)),
        sop_instance_uids=frozenset(
            uid for _, ds in datasets if (uid := text(ds, "SOPInstanceUID")) is not None
        ),
        files=tuple(str(p) for p in paths),
        source=source,
        warnings=tuple(warnings),
    )


def _check_same_orientation(orientations: list[np.ndarray], datasets: list) -> np.ndarray | None:
    """The first orientation, after checking the others equal it (np.allclose's test)."""
    if not orientations:
        return None
    stacked = np.array(orientations)
    first = stacked[0]
    close = np.abs(stacked - first) <= _ORIENTATION_TOLERANCE + 1e-5 * np.abs(first)
    bad = ~np.all(close, axis=1)
    if bad.any():
        raise EngineError("mixed_orientation", datasets[int(np.argmax(bad))][0])
    return first


def _optional_float(value) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if result > 0 else None


def _slice_spacing(
    z: np.ndarray,
    paths: list[Path],
    source: str,
    thickness: float | None,
    warnings: list[EngineIssue],
) -> float:
    """The uniform slice spacing of sorted positions ``z``; gaps and irregularities raise."""
    if len(z) == 1:
        if thickness is None:
            raise EngineError("single_slice", source)
        warnings.append(EngineIssue("single_slice_thickness", source, {"thickness": thickness}))
        return thickness
    steps = np.diff(z)
    duplicate = int(np.argmin(steps))
    if steps[duplicate] < 1e-3:
        raise EngineError("duplicate_slice", paths[duplicate + 1], z=round(float(z[duplicate]), 3))
    spacing = float(statistics.median(steps))
    ratio = steps / spacing
    gap = int(np.argmax(ratio))
    if ratio[gap] > 1.5:
        raise EngineError(
            "missing_slice",
            paths[gap],
            count=int(round(ratio[gap])) - 1,
            z_from=round(float(z[gap]), 3),
            z_to=round(float(z[gap + 1]), 3),
            gap=round(float(steps[gap]), 3),
            spacing=round(spacing, 3),
        )
    spread = (float(steps.min()), float(steps.max()))
    # Positions are often written to 0.01 mm: each step can be off by twice that rounding
    # (a 0.625 mm series reads as steps of 0.62 and 0.63 mm), beyond 1 % of a thin slice.
    if spread[1] - spread[0] > max(_SPACING_TOLERANCE * spacing, 2 * _POSITION_ROUNDING_MM):
        raise EngineError(
            "nonuniform_spacing", source, min=round(spread[0], 4), max=round(spread[1], 4)
        )
    if spread[1] - spread[0] > _JITTER_REPORT_MM:
        warnings.append(
            EngineIssue(
                "spacing_jitter",
                source,
                {"min": round(spread[0], 4), "max": round(spread[1], 4), "spacing": spacing},
            )
        )
    # The positions are the truth: a mean step is exact for evenly spaced slices and
    # averages out the rounding in the written positions.
    spacing = float((z[-1] - z[0]) / (len(z) - 1))
    if thickness is not None and abs(thickness - spacing) > _SPACING_TOLERANCE * spacing:
        warnings.append(
            EngineIssue(
                "thickness_mismatch", source, {"thickness": thickness, "spacing": round(spacing, 4)}
            )
        )
    return spacing
