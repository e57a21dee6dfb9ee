"""RTSTRUCT reading: structures, their planar contours and the file's provenance.

Contours are kept in patient millimetres with their z; they are placed on the CT grid by
that z (see :mod:`.raster`), never through ReferencedSOPInstanceUID, because real files
reference images that are not in the series they were drawn on (IBSI data).
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from .dicomfile import read_fast, text
from .errors import EngineError, EngineIssue

# Contour points are written with ~0.01 mm precision; a contour whose z spreads more than
# this is not planar.
_PLANARITY_TOLERANCE_MM = 0.05
# A patient coordinate beyond 10 m is no patient's: refused before it overflows a grid index.
_COORDINATE_LIMIT_MM = 1.0e4


@dataclass(frozen=True)
class Contour:
    z: float
    points: np.ndarray = field(repr=False)  # (n, 2) patient (x, y) in mm

    @property
    def n_points(self) -> int:
        return len(self.points)


@dataclass(frozen=True)
class ROI:
    number: int
    name: str
    colour: tuple[int, int, int] | None
    algorithm: str | None
    contours: tuple[Contour, ...]
    frame_of_reference_uid: str | None = None

    @property
    def is_empty(self) -> bool:
        return not self.contours

    def contours_by_z(self) -> dict[float, list[Contour]]:
        planes: dict[float, list[Contour]] = {}
        for contour in self.contours:
            planes.setdefault(contour.z, []).append(contour)
        return planes

    @property
    def z_range(self) -> tuple[float, float] | None:
        if not self.contours:
            return None
        zs = [c.z for c in self.contours]
        return min(zs), max(zs)


@dataclass(frozen=True)
class Provenance:
    manufacturer: str | None
    model_name: str | None
    software_versions: str | None
    structure_set_label: str | None
    structure_set_date: str | None
    structure_set_time: str | None
    series_description: str | None
    sop_instance_uid: str | None


@dataclass(frozen=True)
class StructureSet:
    rois: tuple[ROI, ...]
    frame_of_reference_uid: str | None
    provenance: Provenance
    referenced_sop_uids: frozenset[str]
    file: str | None
    warnings: tuple[EngineIssue, ...] = ()

    @property
    def names(self) -> list[str]:
        return [roi.name for roi in self.rois]

    def get(self, name: str) -> ROI | None:
        """The first ROI called ``name``, compared case-insensitively."""
        key = name.strip().casefold()
        return next((roi for roi in self.rois if roi.name.strip().casefold() == key), None)


def read_rtstruct(path_or_dataset: str | Path | Dataset) -> StructureSet:
    """Read an RTSTRUCT file (or an already read dataset) into a :class:`StructureSet`."""
    if isinstance(path_or_dataset, Dataset):
        ds = path_or_dataset
        filename = getattr(ds, "filename", None)
        file = str(filename) if isinstance(filename, (str, Path)) else None
    else:
        file = str(path_or_dataset)
        ds = read_fast(path_or_dataset)
    modality = text(ds, "Modality")
    if modality != "RTSTRUCT":
        raise EngineError("not_rtstruct", file, modality=modality or "?")

    roi_headers = list(ds.get("StructureSetROISequence") or [])
    if not roi_headers:
        raise EngineError("no_roi", file)
    contours_by_number = {
        _roi_number(item.get("ReferencedROINumber"), "ReferencedROINumber", file): item
        for item in ds.get("ROIContourSequence") or []
        if "ReferencedROINumber" in item
    }
    warnings: list[EngineIssue] = []
    rois = []
    seen: set[str] = set()
    for header in roi_headers:
        number = _roi_number(header.get("ROINumber", 0), "ROINumber", file)
        name = text(header, "ROIName") or f"ROI {number}"
        if name.casefold() in seen:
            warnings.append(EngineIssue("duplicate_roi_name", file, {"roi": name}))
        seen.add(name.casefold())
        item = contours_by_number.get(number)
        contours = _read_contours(item, name, file, warnings) if item is not None else ()
        if not contours:
            warnings.append(EngineIssue("empty_roi", file, {"roi": name}))
        rois.append(
            ROI(
                number=number,
                name=name,
                colour=_colour(item),
                algorithm=text(header, "ROIGenerationAlgorithm"),
                contours=contours,
                frame_of_reference_uid=text(header, "ReferencedFrameOfReferenceUID"),
            )
        )

    return StructureSet(
        rois=tuple(rois),
        frame_of_reference_uid=_frame_of_reference(ds, rois),
        provenance=Provenance(
            manufacturer=text(ds, "Manufacturer"),
            model_name=text(ds, "ManufacturerModelName"),
            software_versions=text(ds, "SoftwareVersions"),
            structure_set_label=text(ds, "StructureSetLabel"),
            structure_set_date=text(ds, "StructureSetDate"),
            structure_set_time=text(ds, "StructureSetTime"),
            series_description=text(ds, "SeriesDescription"),
            sop_instance_uid=text(ds, "SOPInstanceUID"),
        ),
        referenced_sop_uids=_referenced_images(ds),
        file=file,
        warnings=tuple(warnings),
    )


def _roi_number(value: object, keyword: str, file: str | None) -> int:
    """An ROI number (IS) as an int; anything else is a clear error, not a traceback."""
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError) as exc:
        shown = "\\".join(map(str, value)) if isinstance(value, list | tuple) else value
        raise EngineError(
            "invalid_attribute", file, attribute=keyword, value=str(shown)[:40]
        ) from exc
    return number


def _frame_of_reference(ds: Dataset, rois: list[ROI]) -> str | None:
    for item in ds.get("ReferencedFrameOfReferenceSequence") or []:
        uid = text(item, "FrameOfReferenceUID")
        if uid:
            return uid
    return next((roi.frame_of_reference_uid for roi in rois if roi.frame_of_reference_uid), None)


def _referenced_images(ds: Dataset) -> frozenset[str]:
    uids = set()
    for frame in ds.get("ReferencedFrameOfReferenceSequence") or []:
        for study in frame.get("RTReferencedStudySequence") or []:
            for series in study.get("RTReferencedSeriesSequence") or []:
                for image in series.get("ContourImageSequence") or []:
                    if uid := text(image, "ReferencedSOPInstanceUID"):
                        uids.add(uid)
    for roi in ds.get("ROIContourSequence") or []:
        for contour in roi.get("ContourSequence") or []:
            for image in contour.get("ContourImageSequence") or []:
                if uid := text(image, "ReferencedSOPInstanceUID"):
                    uids.add(uid)
    return frozenset(uids)


def _colour(item: Dataset | None) -> tuple[int, int, int] | None:
    if item is None:
        return None
    value = item.get("ROIDisplayColor")
    try:
        red, green, blue = (int(v) for v in value)
    except (TypeError, ValueError, OverflowError):
        return None
    return red, green, blue


def _read_contours(
    item: Dataset, roi: str, file: str | None, warnings: list[EngineIssue]
) -> tuple[Contour, ...]:
    ignored: Counter[str] = Counter()
    kept: list[tuple[int, np.ndarray]] = []  # (1-based index, (n, 3) points)
    pending: EngineError | None = None  # the first parse error, raised in sequence order
    for index, contour in enumerate(item.get("ContourSequence") or [], start=1):
        kind = text(contour, "ContourGeometricType") or "CLOSED_PLANAR"
        if kind != "CLOSED_PLANAR":
            ignored[kind] += 1
            continue
        try:
            data = _contour_data(contour)
        except (TypeError, ValueError, OverflowError, NotImplementedError) as exc:
            pending = EngineError(
                "invalid_contour", file, index=index, roi=roi, detail="non-numeric ContourData"
            )
            pending.__cause__ = exc
            break
        if data.size == 0 or data.size % 3:
            pending = EngineError(
                "invalid_contour",
                file,
                index=index,
                roi=roi,
                detail=f"{data.size} values, not a list of (x, y, z) points",
            )
            break
        kept.append((index, data.reshape(-1, 3)))

    # The per-contour checks on all points at once (a few NumPy calls, not a few per
    # contour); the first failing contour is reported, as a one-by-one check would.
    contours = []
    if kept:
        lengths = np.array([len(xyz) for _, xyz in kept])
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        points = np.concatenate([xyz for _, xyz in kept])
        finite = np.logical_and.reduceat(np.isfinite(points).all(axis=1), starts)
        near = ~(np.abs(points) > _COORDINATE_LIMIT_MM).any(axis=1)  # NaN: the finite check
        within = np.logical_and.reduceat(near, starts)
        z_min = np.minimum.reduceat(points[:, 2], starts)
        z_max = np.maximum.reduceat(points[:, 2], starts)
        for position, (index, xyz) in enumerate(kept):
            if not finite[position]:
                raise EngineError("invalid_contour", file, index=index, roi=roi, detail="NaN/inf")
            if not within[position]:
                detail = f"coordinates beyond ±{_COORDINATE_LIMIT_MM:g} mm"
                raise EngineError("invalid_contour", file, index=index, roi=roi, detail=detail)
            low, high = float(z_min[position]), float(z_max[position])
            if high - low > _PLANARITY_TOLERANCE_MM:
                raise EngineError(
                    "non_planar_contour", file, index=index, roi=roi, z_min=low, z_max=high
                )
            if len(xyz) < 3:
                ignored["CLOSED_PLANAR with fewer than 3 points"] += 1
                continue
            contours.append(Contour(z=float(np.mean(xyz[:, 2])), points=xyz[:, :2].copy()))
    if pending is not None:
        raise pending
    for kind, count in ignored.items():
        warnings.append(
            EngineIssue("contour_ignored", file, {"count": count, "kind": kind, "roi": roi})
        )
    return tuple(contours)


def _contour_data(contour: Dataset) -> np.ndarray:
    """ContourData as floats, parsed from the raw bytes when possible.

    pydicom converts each DS value through Python's Decimal checks, which takes seconds
    on a large RTSTRUCT; numpy parses the backslash-separated text directly.
    """
    if "ContourData" not in contour:
        return np.zeros(0)
    element = contour.get_item("ContourData")
    raw = getattr(element, "value", None)
    if isinstance(raw, bytes):
        text = raw.decode("ascii").strip(" \x00")
        if not text:
            return np.zeros(0)
        # NumPy's C parser (correctly rounded, like float()) is twice as fast as the split;
        # it stops at the first bad value, so a short result means one: let float() raise.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            values = np.fromstring(text, sep="\\")
        if len(values) == text.count("\\") + 1:
            return values
        return np.array(text.split("\\"), dtype=float)
    return np.asarray([float(v) for v in contour.ContourData], dtype=float)
