"""Dose-volume histograms of structures on one reference RTDOSE.

The dose differences between two contour sets then come from the contours only. Two
methods, named in every result:

- ``grid="ct"`` (the platform's): the structure mask is the one the geometric metrics use
  (CT grid, pixel centre inside, even-odd rule); the dose is interpolated trilinearly at
  each CT voxel centre. A voxel counts whole (no partial-volume weighting). Voxels whose
  centre lies outside the dose grid have no dose: their volume is reported apart ("dose not
  available for 12 % of the volume"), never counted as 0 Gy.
- ``grid="dose"`` (dicompyler-core's method): each contour plane is rasterised on the dose
  grid's pixel centres (even-odd), on the dose plane at that z (nearest plane within 0.5 mm,
  else linear interpolation between the two planes around it); a voxel's volume is the
  dose pixel area times the structure's plane spacing (the smallest gap between its planes).

Statistics are computed on the voxel doses themselves (no binning): Dmean, Dmin, Dmax as
D0.03 cm³ (the dose the hottest 0.03 cm³ receives at least), D2 %, D50 %, D95 %, D98 %
and V(x Gy). The cumulative curve is binned at ``bin_width`` Gy for plotting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import EngineError, EngineIssue
from .geometry import CTGeometry
from .raster import Mask, fill_polygons
from .rtstruct import ROI

RT_DOSE_STORAGE = "1.2.840.10008.5.1.4.1.1.481.2"
DEFAULT_BIN_WIDTH_GY = 0.01
DMAX_VOLUME_CC = 0.03
D_PERCENTS = (2.0, 50.0, 95.0, 98.0)
# dicompyler-core takes the nearest dose plane when it is this close (mm), else interpolates.
_PLANE_SNAP_MM = 0.5
_AXIAL = np.array([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])


@dataclass(frozen=True)
class PlanDVH:
    """A DVH the planning system stored in the RTDOSE (``DVHSequence``), cumulative, Gy."""

    roi_number: int
    dose_edges: np.ndarray = field(repr=False)  # Gy, len n + 1
    cumulative_cc: np.ndarray = field(repr=False)  # volume receiving >= each lower edge
    volume_units: str
    minimum: float | None
    maximum: float | None
    mean: float | None

    @property
    def volume_cc(self) -> float:
        return float(self.cumulative_cc[0]) if self.cumulative_cc.size else 0.0

    @property
    def curve_mean(self) -> float | None:
        """The mean dose read on the curve itself (``DVHData``, bin centres), in Gy.

        Some planning systems write DVHMinimumDose, DVHMaximumDose and DVHMeanDose in
        percent of the prescription while the curve is in Gy: the curve is what to compare.
        """
        if self.cumulative_cc.size < 2 or self.cumulative_cc[0] <= 0:
            return None
        differential = -np.diff(np.append(self.cumulative_cc, 0.0))
        centres = (self.dose_edges[:-1] + self.dose_edges[1:]) / 2.0
        return float((differential * centres[: differential.size]).sum() / self.cumulative_cc[0])


@dataclass(frozen=True, eq=False)
class DoseGrid:
    """A 3D dose in Gy on a rectilinear axial grid; arrays indexed (z, y, x)."""

    dose: np.ndarray = field(repr=False)
    z: np.ndarray = field(repr=False)  # ascending plane positions (mm)
    y: np.ndarray = field(repr=False)  # row centres (mm), ascending or descending
    x: np.ndarray = field(repr=False)  # column centres (mm)
    frame_of_reference_uid: str | None
    dose_type: str
    summation_type: str
    source: str
    plan_dvhs: tuple[PlanDVH, ...] = ()

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.dose.shape)

    @property
    def spacing(self) -> tuple[float, float, float]:
        dz = float(np.min(np.diff(self.z))) if self.z.size > 1 else 0.0
        return dz, abs(float(self.y[1] - self.y[0])), abs(float(self.x[1] - self.x[0]))

    @property
    def max_dose(self) -> float:
        return float(self.dose.max()) if self.dose.size else 0.0

    def describe(self) -> dict[str, object]:
        return {
            "source": self.source,
            "shape_zyx": list(self.shape),
            "spacing_zyx_mm": [round(s, 6) for s in self.spacing],
            "x_range_mm": [float(self.x.min()), float(self.x.max())],
            "y_range_mm": [float(self.y.min()), float(self.y.max())],
            "z_range_mm": [float(self.z[0]), float(self.z[-1])],
            "max_dose_gy": round(self.max_dose, 4),
            "dose_type": self.dose_type,
            "summation_type": self.summation_type,
            "frame_of_reference_uid": self.frame_of_reference_uid,
        }

    def plane_at(self, z: float) -> np.ndarray | None:
        """The dose plane at ``z`` as dicompyler-core takes it, or None outside the grid."""
        distance = np.abs(self.z - z)
        nearest = int(np.argmin(distance))
        if distance[nearest] < _PLANE_SNAP_MM:
            return self.dose[nearest]
        if z < self.z[0] or z > self.z[-1]:
            return None
        upper = int(np.searchsorted(self.z, z))
        lower = upper - 1
        fraction = (z - self.z[lower]) / (self.z[upper] - self.z[lower])
        return fraction * self.dose[upper] + (1.0 - fraction) * self.dose[lower]

    def on_ct_grid(self, geometry: CTGeometry) -> np.ndarray:
        """The dose interpolated trilinearly at every CT voxel centre (NaN outside), float32.

        Trilinear interpolation on a rectilinear grid is linear along each axis in turn:
        the two planes around each CT slice are mixed, then each row and each column takes
        its two neighbours (gathered, four operations per voxel, plane by plane).
        """
        nz, ny, nx = geometry.shape
        z_ct = np.asarray(geometry.slice_positions, dtype=float)
        y_ct = geometry.origin[1] + geometry.signs[1] * geometry.spacing[1] * np.arange(ny)
        x_ct = geometry.origin[2] + geometry.signs[2] * geometry.spacing[2] * np.arange(nx)
        wz, wy, wx = (
            _linear_weights(self.z, z_ct),
            _linear_weights(self.y, y_ct),
            _linear_weights(self.x, x_ct),
        )
        out = np.empty((nz, ny, nx), dtype=np.float32)  # each plane written once below
        wy_known, wx_known = np.isfinite(wy).all(axis=1), np.isfinite(wx).all(axis=1)
        y_pairs = _neighbour_pairs(wy[wy_known])
        x_pairs = _neighbour_pairs(wx[wx_known])
        dose = self.dose.astype(np.float32)
        window = np.ix_(wy_known, wx_known)
        for k in range(nz):
            out[k] = np.nan
            if not np.isfinite(wz[k]).all():
                continue
            (planes,) = np.nonzero(wz[k])
            plane = np.tensordot(wz[k, planes].astype(np.float32), dose[planes], axes=1)
            out[k][window] = _interpolate_rows(_interpolate_rows(plane, y_pairs).T, x_pairs).T
        return out


def _neighbour_pairs(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The (at most two, adjacent) source points of each row of a linear-weight matrix:
    (first index, second index, first weight, second weight), float32 weights."""
    first = np.argmax(weights > 0, axis=1)
    second = np.minimum(first + 1, weights.shape[1] - 1)
    rows = np.arange(weights.shape[0])
    w_first = weights[rows, first]
    w_second = np.where(second > first, weights[rows, second], 0.0)
    return first, second, w_first.astype(np.float32), w_second.astype(np.float32)


def _interpolate_rows(plane: np.ndarray, pairs) -> np.ndarray:
    """``weights @ plane`` for a linear-weight matrix, by gathering its two neighbours per
    row (a dense product costs the full matrix; this is four operations per output)."""
    first, second, w_first, w_second = pairs
    return w_first[:, None] * plane[first] + w_second[:, None] * plane[second]


def _linear_weights(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(len(target), len(source)) linear-interpolation weights; NaN rows outside ``source``."""
    weights = np.zeros((target.size, source.size))
    ascending = source[0] <= source[-1]
    src = source if ascending else source[::-1]
    tolerance = 1e-6 * max(1.0, float(np.abs(src).max()))
    if src.size == 1:
        inside = np.abs(target - src[0]) <= tolerance
        weights[inside, 0] = 1.0
    else:
        upper = np.clip(np.searchsorted(src, target), 1, src.size - 1)
        lower = upper - 1
        fraction = np.clip((target - src[lower]) / (src[upper] - src[lower]), 0.0, 1.0)
        rows = np.arange(target.size)
        weights[rows, lower] = 1.0 - fraction
        weights[rows, upper] += fraction
        inside = (target >= src[0] - tolerance) & (target <= src[-1] + tolerance)
    if not ascending:
        weights = weights[:, ::-1]
    weights[~inside] = np.nan
    return weights


def read_rtdose(path_or_dataset, source: str | None = None) -> DoseGrid:
    """Read an RTDOSE (physical or effective dose in Gy, axial grid) or raise EngineError."""
    from pydicom.dataset import Dataset

    from .dicomfile import read_dicom

    if isinstance(path_or_dataset, Dataset):
        ds = path_or_dataset
        source = source or "RTDOSE"
    else:
        source = source or str(path_or_dataset)
        ds = read_dicom(Path(path_or_dataset))
    modality = str(getattr(ds, "Modality", "") or "")
    sop_class = str(getattr(ds, "SOPClassUID", "") or "")
    if modality != "RTDOSE" and sop_class != RT_DOSE_STORAGE:
        raise EngineError("not_rtdose", source, modality=modality or "?")
    units = str(getattr(ds, "DoseUnits", "") or "").upper()
    if units != "GY":
        raise EngineError("dose_units", source, units=units or "?")
    summation = str(getattr(ds, "DoseSummationType", "") or "").upper()
    if summation not in ("PLAN", "MULTI_PLAN", "PLAN_OVERVIEW", "RECORD", "FRACTION", "BEAM"):
        raise EngineError("dose_summation", source, summation=summation or "?")
    try:
        orientation = np.array([float(v) for v in ds.ImageOrientationPatient])
        position = np.array([float(v) for v in ds.ImagePositionPatient])
        row_spacing, col_spacing = (float(v) for v in ds.PixelSpacing)
        rows, cols = int(ds.Rows), int(ds.Columns)
        frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
        offsets = np.array([float(v) for v in ds.GridFrameOffsetVector], dtype=float)
        scaling = float(ds.DoseGridScaling)
        pixels = ds.pixel_array
    except (AttributeError, KeyError, TypeError, ValueError, NotImplementedError) as exc:
        raise EngineError("dose_grid_invalid", source, detail=type(exc).__name__) from exc
    if orientation.shape != (6,) or position.shape != (3,):
        raise EngineError("dose_grid_invalid", source, detail="orientation")
    if not np.allclose(np.abs(orientation), _AXIAL, atol=1e-3):
        raise EngineError("dose_not_axial", source)
    values_ok = np.isfinite([row_spacing, col_spacing, scaling]).all() and scaling > 0
    if not values_ok or row_spacing <= 0 or col_spacing <= 0 or offsets.size != frames:
        raise EngineError("dose_grid_invalid", source, detail="spacing/offsets")
    pixels = np.asarray(pixels, dtype=float).reshape(frames, rows, cols) * scaling
    # GridFrameOffsetVector runs along the slice normal (feet-first: towards -z), relative to
    # the first frame, or absolute when its first value is the first frame's z (C.8.8.3.2).
    normal_z = float(np.cross(orientation[:3], orientation[3:])[2])
    absolute = offsets[0] != 0 and offsets[0] == position[2]
    z = offsets if absolute else position[2] + normal_z * offsets
    order = np.argsort(z)
    if z.size > 1 and np.any(np.diff(z[order]) <= 0):
        raise EngineError("dose_grid_invalid", source, detail="GridFrameOffsetVector")
    x = position[0] + orientation[0] * col_spacing * np.arange(cols)
    y = position[1] + orientation[4] * row_spacing * np.arange(rows)
    return DoseGrid(
        dose=pixels[order],
        z=z[order],
        y=y,
        x=x,
        frame_of_reference_uid=str(getattr(ds, "FrameOfReferenceUID", "") or "") or None,
        dose_type=str(getattr(ds, "DoseType", "") or ""),
        summation_type=summation,
        source=source,
        plan_dvhs=_plan_dvhs(ds),
    )


def _plan_dvhs(ds) -> tuple[PlanDVH, ...]:
    """The planning system's DVHs, as cumulative curves in Gy and cm³ (unreadable ones skipped)."""
    found = []
    for item in getattr(ds, "DVHSequence", None) or ():
        try:
            roi_number = int(item.DVHReferencedROISequence[0].ReferencedROINumber)
            data = np.array([float(v) for v in item.DVHData], dtype=float)
            scaling = float(getattr(item, "DVHDoseScaling", 1.0) or 1.0)
            units = str(getattr(item, "DoseUnits", "GY")).upper()
            kind = str(getattr(item, "DVHType", "CUMULATIVE")).upper()
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            continue
        if data.size < 2 or data.size % 2 or units not in ("GY", "CGY"):
            continue
        widths, volumes = data[0::2] * scaling, data[1::2]
        if units == "CGY":
            widths = widths / 100.0
        edges = np.concatenate([[0.0], np.cumsum(widths)])
        cumulative = volumes if kind == "CUMULATIVE" else volumes[::-1].cumsum()[::-1]

        def optional(keyword: str, item=item) -> float | None:
            value = getattr(item, keyword, None)
            try:
                return float(value) if value is not None else None
            except (TypeError, ValueError):
                return None

        found.append(
            PlanDVH(
                roi_number=roi_number,
                dose_edges=edges,
                cumulative_cc=cumulative,
                volume_units=str(getattr(item, "DVHVolumeUnits", "")),
                minimum=optional("DVHMinimumDose"),
                maximum=optional("DVHMaximumDose"),
                mean=optional("DVHMeanDose"),
            )
        )
    return tuple(found)


@dataclass(frozen=True)
class DVHResult:
    """One structure's DVH on the reference dose; doses in Gy, volumes in cm³."""

    name: str
    method: str  # "ct" or "dose"
    volume_cc: float  # the whole structure, with or without dose
    volume_without_dose_cc: float
    mean: float | None
    minimum: float | None
    maximum: float | None  # D0.03 cm³ (or the hottest voxel if the structure is smaller)
    peak: float | None  # the hottest voxel
    d_percent: Mapping[float, float | None]
    v_gy: Mapping[float, tuple[float, float]]  # dose level -> (cm³, % of the dosed volume)
    dose_edges: np.ndarray = field(repr=False)
    cumulative_cc: np.ndarray = field(repr=False)
    warnings: tuple[EngineIssue, ...] = ()

    @property
    def is_empty(self) -> bool:
        return self.volume_cc == 0

    @property
    def fraction_without_dose(self) -> float:
        return self.volume_without_dose_cc / self.volume_cc if self.volume_cc else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "structure": self.name,
            "method": self.method,
            "volume_cc": self.volume_cc,
            "volume_without_dose_cc": self.volume_without_dose_cc,
            "dmean_gy": self.mean,
            "dmin_gy": self.minimum,
            "dmax_gy": self.maximum,
            "dpeak_gy": self.peak,
            **{f"d{_percent_key(p)}_gy": v for p, v in self.d_percent.items()},
            **{f"v{_percent_key(d)}gy_cc": v[0] for d, v in self.v_gy.items()},
            **{f"v{_percent_key(d)}gy_pct": v[1] for d, v in self.v_gy.items()},
            "warnings": [w.code for w in self.warnings],
        }


def _percent_key(value: float) -> str:
    return f"{value:g}".replace(".", "_")


def dvh_from_doses(
    name: str,
    doses: np.ndarray,
    voxel_cc: float | np.ndarray,
    *,
    method: str,
    volume_without_dose_cc: float = 0.0,
    dose_levels: Iterable[float] = (),
    bin_width: float = DEFAULT_BIN_WIDTH_GY,
    warnings: tuple[EngineIssue, ...] = (),
) -> DVHResult:
    """Statistics and cumulative curve of a structure whose voxels received ``doses``."""
    doses = np.asarray(doses).ravel()
    if doses.dtype not in (np.float32, np.float64):
        doses = doses.astype(float)  # float32 doses (the CT-grid path) stay float32: exact
    figures = dict(method=method, volume_without_dose_cc=volume_without_dose_cc, warnings=warnings)
    if np.ndim(voxel_cc) == 0:
        return _dvh_of_parts(
            name,
            [_Part(doses, bin_width)],
            float(voxel_cc),
            dose_levels=dose_levels,
            bin_width=bin_width,
            **figures,
        )
    weights = np.broadcast_to(np.asarray(voxel_cc, dtype=float), doses.shape)
    dosed_cc = float(weights.sum())
    levels = tuple(float(d) for d in dose_levels)
    if dosed_cc <= 0:
        return _result(name, dosed_cc, levels, None, **figures)
    peak, lowest = float(doses.max()), float(doses.min())
    edges = _edges(peak, bin_width)
    order = np.argsort(doses)[::-1]  # hottest first
    hot_doses = doses[order]
    hot_cc = np.cumsum(weights[order])  # volume receiving at least hot_doses[i]

    def dose_to_hottest(volume_cc: float) -> float:
        index = int(np.searchsorted(hot_cc, volume_cc - 1e-12 * dosed_cc))
        return float(hot_doses[min(index, hot_doses.size - 1)])

    counts, _ = np.histogram(doses, bins=edges, weights=weights)
    cc_at_least = {level: float(weights[doses >= level].sum()) for level in levels}
    stats = _Statistics(
        mean=float(np.average(doses, weights=weights)),
        lowest=lowest,
        peak=peak,
        hottest={v: dose_to_hottest(v) for v in _volumes(dosed_cc)},
        cc_at_least=cc_at_least,
        edges=edges,
        counts=counts,
    )
    return _result(name, dosed_cc, levels, stats, **figures)


@dataclass(frozen=True)
class _Statistics:
    mean: float
    lowest: float
    peak: float
    hottest: Mapping[float, float]  # volume (cm³) -> the dose its hottest voxels receive
    cc_at_least: Mapping[float, float]  # level (Gy) -> volume receiving at least it
    edges: np.ndarray
    counts: np.ndarray  # cm³ per bin


def _volumes(dosed_cc: float) -> list[float]:
    """The volumes whose hottest dose is wanted: D0.03 cm³, then each Dx %."""
    return [DMAX_VOLUME_CC] + [p / 100.0 * dosed_cc for p in D_PERCENTS]


def _edges(peak: float, bin_width: float) -> np.ndarray:
    return np.arange(int(np.ceil(peak / bin_width)) + 2) * bin_width


def _result(
    name: str,
    dosed_cc: float,
    levels: tuple[float, ...],
    stats: _Statistics | None,
    *,
    method: str,
    volume_without_dose_cc: float,
    warnings: tuple[EngineIssue, ...],
) -> DVHResult:
    """The DVHResult of the statistics (None: no dosed voxel)."""
    common = dict(
        name=name,
        method=method,
        volume_cc=dosed_cc + volume_without_dose_cc,
        volume_without_dose_cc=volume_without_dose_cc,
        warnings=warnings,
    )
    if stats is None:
        return DVHResult(
            **common,
            mean=None,
            minimum=None,
            maximum=None,
            peak=None,
            d_percent={p: None for p in D_PERCENTS},
            v_gy={d: (0.0, 0.0) for d in levels},
            dose_edges=np.zeros(1),
            cumulative_cc=np.zeros(1),
        )
    volumes = _volumes(dosed_cc)
    maximum = stats.hottest[volumes[0]] if dosed_cc > DMAX_VOLUME_CC else stats.peak
    return DVHResult(
        **common,
        mean=stats.mean,
        minimum=stats.lowest,
        maximum=float(maximum),
        peak=stats.peak,
        d_percent={p: stats.hottest[v] for p, v in zip(D_PERCENTS, volumes[1:], strict=True)},
        v_gy={
            level: (stats.cc_at_least[level], 100.0 * stats.cc_at_least[level] / dosed_cc)
            for level in levels
        },
        dose_edges=stats.edges,
        cumulative_cc=stats.counts[::-1].cumsum()[::-1],
    )


def _dvh_of_parts(
    name: str,
    parts: list[_Part],
    cell: float,
    *,
    dose_levels: Iterable[float],
    bin_width: float,
    **figures,
) -> DVHResult:
    """The DVH of equal voxels (``cell`` cm³ each) whose doses are the union of ``parts``.

    Every figure comes from the parts' histograms, without sorting the doses: the dose to
    the hottest v cm³ is an order statistic, whose bin the histogram gives, and only that
    bin's doses are looked at (see :class:`_Histogram`).
    """
    parts = [part for part in parts if part.size]
    size = sum(part.size for part in parts)
    dosed_cc = size * cell
    levels = tuple(float(d) for d in dose_levels)
    if dosed_cc <= 0:
        return _result(name, dosed_cc, levels, None, **figures)
    peak = float(max(part.high for part in parts))
    edges = _edges(peak, bin_width)
    histogram = _Histogram(parts, edges.size - 1, bin_width)

    def rank_of(volume_cc: float) -> int:
        rank = int(np.ceil((volume_cc - 1e-12 * dosed_cc) / cell - 1e-9)) - 1
        return min(max(rank, 0), size - 1)  # 0: the hottest voxel

    volumes = _volumes(dosed_cc)
    ranked, below = histogram.lookup([size - 1 - rank_of(v) for v in volumes], levels)
    stats = _Statistics(
        mean=sum(part.total for part in parts) / size,
        lowest=float(min(part.low for part in parts)),
        peak=peak,
        hottest=dict(zip(volumes, ranked, strict=True)),
        cc_at_least={level: float(size - n) * cell for level, n in zip(levels, below, strict=True)},
        edges=edges,
        counts=histogram.counts * cell,
    )
    return _result(name, dosed_cc, levels, stats, **figures)


class _Part:
    """Doses of some voxels of a structure, counted per bin: a dose's bin (its key) is its
    quotient by the bin width, computed in the doses' type, truncated. Histograms of
    disjoint parts add up: the voxels several contour sets share are counted once."""

    def __init__(self, doses: np.ndarray, bin_width: float) -> None:
        self.doses, self.size = doses, int(doses.size)
        self._members: dict[int, np.ndarray] = {}
        self._read: set[int] = set()
        self._fine: dict[tuple[int, ...], tuple[int, np.ndarray] | None] = {}
        if not self.size:
            self.first, self.last, self.histogram = 0, -1, np.zeros(0, np.int64)
            return
        self.low, self.high = doses.min(), doses.max()
        # The division is monotone: the extremes' keys are the lowest and highest.
        self.first, self.last = (_key(v, bin_width) for v in (self.low, self.high))
        quotients = doses / bin_width
        if self.first < 0:  # truncating towards 0 is flooring for the non-negative doses
            np.floor(quotients, out=quotients)
            quotients -= self.first
        self.first = min(self.first, 0)  # from 0: empty low bins cost less than a subtraction
        # 16-bit keys (below 655 Gy in 0.01 Gy bins) convert and gather fastest.
        narrow = self.last - self.first < 1 << 16
        self.keys = quotients.astype(np.uint16 if narrow else np.int64)
        self.histogram = np.bincount(self.keys, minlength=self.last - self.first + 1)
        self.total = float(doses.sum(dtype=np.float64))

    def members(self, keys: Iterable[int]) -> np.ndarray:
        """This part's doses in the bins ``keys``.

        The bins not yet read are read in one pass, with their neighbours up to
        ``_NEIGHBOURS`` doses, and kept: the sets of a structure share this part and want
        the same bins or bins nearby (their D2 % differ by a few voxels).
        """
        keys = [k for k in keys if self.first <= k <= self.last]
        missing = {k - self.first for k in keys if k not in self._members}
        if missing:
            indices = sorted({i for k in missing for i in self._around(k)} - self._read)
            # Small bins are sorted out by key together, big ones (a plateau) apart.
            big = [i for i in indices if self.histogram[i] > _NEIGHBOURS]
            small = [i for i in indices if self.histogram[i] <= _NEIGHBOURS]
            codes = np.zeros(self.histogram.size, dtype=np.int8)
            codes[small], codes[big] = 1, 2
            picked = codes[self.keys]
            if small:
                chosen = picked == 1
                doses, found = self.doses[chosen], self.keys[chosen]
                order = np.argsort(found, kind="stable")
                doses, found = doses[order], found[order]
                bounds = np.searchsorted(found, np.array(small + [self.histogram.size]))
                for index, lo, hi in zip(small, bounds[:-1], bounds[1:], strict=True):
                    self._members[index + self.first] = doses[lo:hi]
            if big:
                chosen = picked == 2
                doses = self.doses[chosen]
                found = self.keys[chosen] if len(big) > 1 else None
                for index in big:
                    self._members[index + self.first] = (
                        doses if found is None else doses[found == index]
                    )
            self._read.update(indices)
        chosen = [self._members[k] for k in keys]
        return np.concatenate(chosen) if chosen else self.doses[:0]

    def _around(self, index: int) -> range:
        """Bin ``index`` and its neighbours on both sides while they hold (together) at
        most ``_NEIGHBOURS`` doses."""
        counts = self.histogram
        lo = hi = index
        total = int(counts[index])
        while True:
            grown = False
            if lo > 0 and total + counts[lo - 1] <= _NEIGHBOURS:
                lo -= 1
                total += int(counts[lo])
                grown = True
            if hi < counts.size - 1 and total + counts[hi + 1] <= _NEIGHBOURS:
                hi += 1
                total += int(counts[hi])
                grown = True
            if not grown:
                return range(lo, hi + 1)

    def fine(self, keys: tuple[int, ...]) -> tuple[int, np.ndarray] | None:
        """(lowest bit pattern, count per pattern) of the doses of these bins; None when
        they are not all non-negative within ``_SELECT_PATTERNS`` patterns."""
        if keys not in self._fine:
            self._fine[keys] = _pattern_counts(self.members(keys))
        return self._fine[keys]


def _key(dose, bin_width: float) -> int:
    """A dose's bin, computed as for an array of the dose's type."""
    return int(np.floor((np.array([dose]) / bin_width)[0]))


class _Histogram:
    """A set's doses (the union of parts) per bin of ``bin_width`` Gy, with what a full
    ascending sort would give.

    Bins run from 0 to ``n_bins - 1``, the last taking the rounding overflow; doses below 0
    fall into bins of their own, before the curve's. The division and the truncation are
    monotone, so the sorted doses run through the bins in order: the dose at a sorted
    position lies in the bin where the cumulative count passes the position, at a rank
    found among that bin's doses only.
    """

    def __init__(self, parts: list[_Part], n_bins: int, bin_width: float) -> None:
        self.parts, self.n_bins, self.bin_width = parts, n_bins, bin_width
        self.dtype = parts[0].doses.dtype
        self.first = min(min(part.first for part in parts), 0)
        self.top = n_bins - 1
        self.histogram = np.zeros(n_bins - self.first, dtype=np.int64)
        for part in parts:
            kept = max(min(part.histogram.size, self.top - part.first + 1), 0)
            start = part.first - self.first
            self.histogram[start : start + kept] += part.histogram[:kept]
            self.histogram[-1] += part.histogram[kept:].sum()
        self.cumulative = np.cumsum(self.histogram)

    @property
    def counts(self) -> np.ndarray:
        """Doses per curve bin (0 to n_bins - 1)."""
        return self.histogram[-self.first :]

    def _bins(self, key: int) -> tuple[int, ...]:
        """The part keys a bin holds: the last bin holds every key above it too."""
        if key < self.top:
            return (key,)
        return tuple(range(self.top, max(part.last for part in self.parts) + 1))

    def _before(self, key: int) -> int:
        index = key - self.first
        return int(self.cumulative[index - 1]) if index > 0 else 0

    def lookup(
        self, positions: list[int], levels: tuple[float, ...]
    ) -> tuple[list[float], list[int]]:
        """The doses at these ascending sorted positions, and how many doses lie below each
        level (``doses < level`` in the doses' type: the complement of ``doses >= level``)."""
        keys = [
            int(np.searchsorted(self.cumulative, p, side="right")) + self.first for p in positions
        ]
        ranks: dict[int, list[int]] = {}
        for position, key in zip(positions, keys, strict=True):
            ranks.setdefault(key, []).append(position - self._before(key))
        found = {key: self._ranked(key, wanted) for key, wanted in ranks.items()}
        ranked = [found[k][p - self._before(k)] for p, k in zip(positions, keys, strict=True)]
        below = []
        for level in levels:
            key = min(_key(self.dtype.type(level), self.bin_width), self.top)
            if key < self.first:
                below.append(0)
                continue
            threshold = self.dtype.type(level)
            inside = sum(
                int(np.count_nonzero(part.members(self._bins(key)) < threshold))
                for part in self.parts
            )
            below.append(self._before(key) + inside)
        return ranked, below

    def _ranked(self, key: int, ranks: list[int]) -> dict[int, float]:
        """The doses at ``ranks`` among bin ``key``'s (sorted), from the parts' counts per
        bit pattern when they have them, else from the doses themselves."""
        bins = self._bins(key)
        fine = [part.fine(bins) for part in self.parts]
        if all(f is not None for f in fine):
            fine = [f for f in fine if f[1].size]
            low = min(f[0] for f in fine)
            counts = np.zeros(max(f[0] + f[1].size for f in fine) - low, dtype=np.int64)
            for start, part_counts in fine:
                counts[start - low : start - low + part_counts.size] += part_counts
            patterns = np.searchsorted(np.cumsum(counts), ranks, side="right") + low
            values = _as_floats(patterns, self.dtype)
        else:
            doses = np.concatenate([part.members(bins) for part in self.parts])
            values = [_select(doses, rank) for rank in ranks]
        return dict(zip(ranks, values, strict=True))


_NEIGHBOURS = 1 << 18
_SELECT_DIRECTLY = 4096
_SELECT_BINS = 1024
_SELECT_PATTERNS = 1 << 22


def _pattern_type(dtype: np.dtype) -> type:
    return np.int32 if dtype == np.float32 else np.int64


def _as_floats(patterns: np.ndarray, dtype: np.dtype) -> list[float]:
    return [float(v) for v in patterns.astype(_pattern_type(dtype)).view(dtype)]


def _pattern_counts(values: np.ndarray) -> tuple[int, np.ndarray] | None:
    """Non-negative floats sort as their bit patterns read as integers: (lowest pattern,
    count per pattern from it) when the values span few patterns (a 0.01 Gy bin above a few
    cGy spans at most a few hundred thousand), else None."""
    if not values.size:
        return 0, np.zeros(0, np.int64)
    patterns = values.view(_pattern_type(values.dtype))
    low, high = int(patterns.min()), int(patterns.max())
    if low < 0 or high - low >= _SELECT_PATTERNS:
        return None
    return low, np.bincount(patterns - low, minlength=high - low + 1)


def _select(values: np.ndarray, rank: int) -> float:
    """The value a full ascending sort of ``values`` puts at ``rank``.

    ``np.partition`` is very slow on a plateau of (nearly) equal doses, such as the body's
    low-dose bath: finer histograms between the values' extremes (a monotone scaling)
    narrow the rank down first, and a run of equal values is answered at once.
    """
    while values.size > _SELECT_DIRECTLY:
        low, high = values.min(), values.max()
        if low == high:
            return float(low)
        keys = (values - low) * (_SELECT_BINS / (high - low))
        keys = np.minimum(keys.astype(np.int64), _SELECT_BINS - 1)
        cumulative = np.cumsum(np.bincount(keys, minlength=_SELECT_BINS))
        key = int(np.searchsorted(cumulative, rank, side="right"))
        rank -= int(cumulative[key - 1]) if key else 0
        values = values[keys == key]
    return float(np.partition(values, rank)[rank])


def _without_dose_warning(name: str, source: str, fraction: float) -> tuple[EngineIssue, ...]:
    if fraction <= 0:
        return ()
    return (
        EngineIssue(
            "dose_partly_outside", source, {"roi": name, "percent": f"{100 * fraction:.0f}"}
        ),
    )


def dvh_on_ct_grid(
    mask: Mask,
    dose_on_ct: np.ndarray,
    *,
    voxel_cc: float,
    source: str = "",
    dose_levels: Iterable[float] = (),
    bin_width: float = DEFAULT_BIN_WIDTH_GY,
) -> DVHResult:
    """DVH of a CT-grid mask on the dose already interpolated at CT voxel centres."""
    return dvhs_on_ct_grid(
        [mask],
        dose_on_ct,
        voxel_cc=voxel_cc,
        source=source,
        dose_levels=dose_levels,
        bin_width=bin_width,
    )[0]


def dvhs_on_ct_grid(
    masks: list[Mask],
    dose_on_ct: np.ndarray,
    *,
    voxel_cc: float,
    source: str = "",
    dose_levels: Iterable[float] = (),
    bin_width: float = DEFAULT_BIN_WIDTH_GY,
) -> list[DVHResult]:
    """The DVHs of several masks of one structure (its contour sets), in their order.

    The voxels every mask holds (nearly all of a body's) are read and counted once; each
    mask then adds its own voxels: the same figures as one mask at a time.
    """
    levels = tuple(float(d) for d in dose_levels)
    present = [m for m in masks if m.data.size]
    common_box = _common_box(present)
    common = None
    if common_box is not None:
        common = np.ones(tuple(hi - lo for lo, hi in common_box), dtype=bool)
        for mask in present:
            common &= mask.data[_within(common_box, mask.offset)]
    shared = _ct_part(dose_on_ct, common_box, common, bin_width) if common is not None else None
    results = []
    for mask in masks:
        box = tuple((o, o + s) for o, s in zip(mask.offset, mask.data.shape, strict=True))
        own = mask.data
        if shared is not None and mask.data.size:
            own = mask.data.copy()
            own[_within(common_box, mask.offset)] &= ~common
        mine = _ct_part(dose_on_ct, box, own, bin_width)
        parts = [p for p in (shared, mine) if p is not None and mask.data.size]
        missing_cc = float(sum(p[1] for p in parts)) * voxel_cc
        total_cc = float(sum(p[0].size + p[1] for p in parts)) * voxel_cc
        fraction = missing_cc / total_cc if total_cc else 0.0
        results.append(
            _dvh_of_parts(
                mask.name,
                [p[0] for p in parts] or [_Part(np.zeros(0, np.float32), bin_width)],
                voxel_cc,
                method="ct",
                volume_without_dose_cc=missing_cc,
                dose_levels=levels,
                bin_width=bin_width,
                warnings=_without_dose_warning(mask.name, source, fraction),
            )
        )
    return results


def _common_box(masks: list[Mask]) -> tuple[tuple[int, int], ...] | None:
    """The intersection of the masks' bounding boxes, None when empty (or no mask)."""
    if not masks:
        return None
    box = tuple(
        (
            max(m.offset[axis] for m in masks),
            min(m.offset[axis] + m.data.shape[axis] for m in masks),
        )
        for axis in range(3)
    )
    return box if all(lo < hi for lo, hi in box) else None


def _within(box: tuple[tuple[int, int], ...], offset: tuple[int, ...]) -> tuple[slice, ...]:
    """``box`` (grid indices) as slices of an array starting at ``offset``."""
    return tuple(slice(lo - o, hi - o) for (lo, hi), o in zip(box, offset, strict=True))


def _ct_part(dose_on_ct, box, inside, bin_width) -> tuple[_Part, int]:
    """The dosed voxels of ``inside`` (a boolean array on ``box``) as a part, and how many
    voxels have no dose (NaN: outside the dose grid)."""
    values = dose_on_ct[tuple(slice(lo, hi) for lo, hi in box)][inside]
    known = np.isfinite(values)
    missing = values.size - int(np.count_nonzero(known))
    return _Part(values[known] if missing else values, bin_width), missing


def _planes(roi: ROI) -> dict[float, list]:
    """Contours grouped by plane, z rounded to 0.01 mm (exported z carry float noise, and an
    inner contour written at -104.44000000000001 belongs to the plane at -104.44)."""
    planes: dict[float, list] = {}
    for contour in roi.contours:
        planes.setdefault(round(contour.z, 2), []).append(contour)
    return planes


def structure_thickness(roi: ROI) -> float:
    """dicompyler-core's plane thickness: the smallest gap between the ROI's contour planes."""
    gaps = np.diff(sorted(_planes(roi)))
    return float(gaps.min()) if gaps.size else 0.0


def dvh_on_dose_grid(
    roi: ROI,
    dose: DoseGrid,
    *,
    thickness: float | None = None,
    dose_levels: Iterable[float] = (),
    bin_width: float = DEFAULT_BIN_WIDTH_GY,
) -> DVHResult:
    """DVH with the structure rasterised on the dose grid planes (dicompyler-core's method)."""
    thickness = structure_thickness(roi) if thickness is None else thickness
    _dz, dy, dx = dose.spacing
    voxel_cc = dx * dy * thickness / 1000.0
    step_y = float(dose.y[1] - dose.y[0]) if dose.y.size > 1 else 1.0
    step_x = float(dose.x[1] - dose.x[0]) if dose.x.size > 1 else 1.0
    values: list[np.ndarray] = []
    missing_voxels = 0
    shape = (dose.y.size, dose.x.size)
    for z, contours in sorted(_planes(roi).items()):
        polygons = [
            np.column_stack(
                [(c.points[:, 1] - dose.y[0]) / step_y, (c.points[:, 0] - dose.x[0]) / step_x]
            )
            for c in contours
        ]
        inside = fill_polygons(polygons, (0, 0), shape, "evenodd")
        plane = dose.plane_at(z)
        if plane is None:
            missing_voxels += int(inside.sum())
        else:
            values.append(plane[inside])
    doses = np.concatenate(values) if values else np.zeros(0)
    missing_cc = missing_voxels * voxel_cc
    total_cc = (doses.size + missing_voxels) * voxel_cc
    fraction = missing_cc / total_cc if total_cc else 0.0
    return dvh_from_doses(
        roi.name,
        doses,
        voxel_cc,
        method="dose",
        volume_without_dose_cc=missing_cc,
        dose_levels=dose_levels,
        bin_width=bin_width,
        warnings=_without_dose_warning(roi.name, dose.source, fraction),
    )


def check_dose_matches_ct(dose: DoseGrid, geometry: CTGeometry) -> list[EngineIssue]:
    """Raise when the dose cannot belong to the CT; warn when it covers only part of it."""
    if (
        dose.frame_of_reference_uid
        and geometry.frame_of_reference_uid
        and dose.frame_of_reference_uid != geometry.frame_of_reference_uid
    ):
        raise EngineError("dose_frame_of_reference", dose.source)
    nz, ny, nx = geometry.shape
    ct_x = sorted(
        (
            geometry.origin[2],
            geometry.origin[2] + geometry.signs[2] * geometry.spacing[2] * (nx - 1),
        )
    )
    ct_y = sorted(
        (
            geometry.origin[1],
            geometry.origin[1] + geometry.signs[1] * geometry.spacing[1] * (ny - 1),
        )
    )
    ct_z = (geometry.slice_positions[0], geometry.slice_positions[-1])
    ranges = (
        (float(dose.x.min()), float(dose.x.max()), *ct_x),
        (float(dose.y.min()), float(dose.y.max()), *ct_y),
        (float(dose.z.min()), float(dose.z.max()), *ct_z),
    )
    if any(d_hi < c_lo or d_lo > c_hi for d_lo, d_hi, c_lo, c_hi in ranges):
        raise EngineError("dose_outside_ct", dose.source)
    if any(d_lo > c_lo or d_hi < c_hi for d_lo, d_hi, c_lo, c_hi in ranges):
        return [EngineIssue("dose_partial_ct", dose.source, {})]
    return []


def dvh_structure_set(
    rois: Iterable[ROI],
    dose: DoseGrid,
    *,
    geometry: CTGeometry | None = None,
    grid: str = "ct",
    dose_levels: Mapping[str, Iterable[float]] | Iterable[float] = (),
    bin_width: float = DEFAULT_BIN_WIDTH_GY,
    source: str = "",
) -> list[DVHResult]:
    """The DVH of every ROI; ``dose_levels`` is one list for all or a list per ROI name."""
    from .raster import rasterise

    def levels_for(name: str) -> Iterable[float]:
        if isinstance(dose_levels, Mapping):
            return dose_levels.get(name, ())
        return dose_levels

    if grid not in ("ct", "dose"):
        raise EngineError("invalid_argument", None, detail=f"grid={grid!r}")
    results = []
    if grid == "dose":
        for roi in rois:
            results.append(
                dvh_on_dose_grid(roi, dose, dose_levels=levels_for(roi.name), bin_width=bin_width)
            )
        return results
    if geometry is None:
        raise EngineError("invalid_argument", None, detail="grid='ct' needs the CT geometry")
    dose_on_ct = dose.on_ct_grid(geometry)
    voxel_cc = geometry.voxel_volume_mm3 / 1000.0
    for roi in rois:
        mask = rasterise(roi, geometry, source=source or None)
        results.append(
            dvh_on_ct_grid(
                mask,
                dose_on_ct,
                voxel_cc=voxel_cc,
                source=source,
                dose_levels=levels_for(roi.name),
                bin_width=bin_width,
            )
        )
    return results


@dataclass(frozen=True)
class PlanComparison:
    """Our DVH of a structure beside the planning system's own (RTDOSE ``DVHSequence``)."""

    name: str
    ours: DVHResult
    plan: PlanDVH
    dose_scale: float | None  # plan mean / our mean: 1 when both use the same dose

    def as_dict(self) -> dict[str, object]:
        return {
            "structure": self.name,
            "volume_cc": self.ours.volume_cc,
            "plan_volume_cc": self.plan.volume_cc,
            "dmean_gy": self.ours.mean,
            "plan_dmean_gy": self.plan.mean,
            "dpeak_gy": self.ours.peak,
            "plan_dmax_gy": self.plan.maximum,
            "plan_curve_dmean_gy": self.plan.curve_mean,
            "dose_scale": self.dose_scale,
        }


def compare_with_plan(
    results: Iterable[DVHResult], rois: Iterable[ROI], dose: DoseGrid
) -> list[PlanComparison]:
    """Pair each result with the planning system's DVH of the same ROI number, if stored."""
    by_number = {plan.roi_number: plan for plan in dose.plan_dvhs}
    numbers = {roi.name: roi.number for roi in rois}
    pairs = []
    for result in results:
        plan = by_number.get(numbers.get(result.name, -1))
        if plan is None or result.mean is None:
            continue
        scale = plan.mean / result.mean if plan.mean and result.mean else None
        pairs.append(PlanComparison(result.name, result, plan, scale))
    return pairs
