"""Rasterisation of planar contours on the CT grid.

A voxel belongs to the structure when its centre is inside the polygon, the rule
plastimatch uses. Inside is decided by the crossing number along each pixel row with a
half-open rule in both directions: an edge counts for rows ``y_low <= row < y_high`` and a
crossing at abscissa ``x`` flips every pixel whose centre has ``col >= x``. A vertex lying
exactly on a row is therefore counted once, and a pixel centre exactly on a left edge is in
while one exactly on a right edge is out, so two polygons sharing an edge never overlap.

Several polygons on one slice are combined with the even-odd rule (an inner contour cuts a
hole, as DICOM's keyhole and XOR conventions intend); ``rule="union"`` fills each polygon
separately and ORs them, which is what plastimatch does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np

from .errors import EngineError, EngineIssue
from .geometry import CTGeometry
from .rtstruct import ROI

Rule = Literal["evenodd", "union"]
# A contour more than this fraction of the slice spacing away from a slice is on no slice.
_SLICE_TOLERANCE = 0.1


@dataclass(frozen=True, eq=False)  # identity: comparing arrays element-wise is not equality
class Mask:
    """A boolean structure mask stored in its bounding box.

    ``data[k, j, i]`` is voxel ``(offset[0] + k, offset[1] + j, offset[2] + i)`` of a grid of
    ``grid_shape`` with voxel size ``spacing`` (dz, dy, dx) in mm. An empty mask has a data
    array of shape (0, 0, 0).
    """

    data: np.ndarray = field(repr=False)
    offset: tuple[int, int, int]
    grid_shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    name: str = ""
    warnings: tuple[EngineIssue, ...] = ()

    @classmethod
    def from_array(
        cls,
        array: np.ndarray,
        spacing: tuple[float, float, float],
        offset: tuple[int, int, int] = (0, 0, 0),
        grid_shape: tuple[int, int, int] | None = None,
        name: str = "",
        warnings: tuple[EngineIssue, ...] = (),
    ) -> Mask:
        """Wrap a boolean array (e.g. a whole-grid phantom), cropped to its bounding box."""
        array = np.asarray(array, dtype=bool)
        if grid_shape is None:
            grid_shape = tuple(o + s for o, s in zip(offset, array.shape, strict=True))
        box = bounding_box(array)
        if box is None:
            data, new_offset = np.zeros((0, 0, 0), dtype=bool), (0, 0, 0)
        else:
            data = np.ascontiguousarray(array[tuple(slice(lo, hi) for lo, hi in box)])
            new_offset = tuple(int(o + lo) for o, (lo, _) in zip(offset, box, strict=True))
        return cls(
            data=data,
            offset=new_offset,
            grid_shape=tuple(int(s) for s in grid_shape),
            spacing=tuple(float(s) for s in spacing),
            name=name,
            warnings=warnings,
        )

    @cached_property
    def voxel_count(self) -> int:
        return int(np.count_nonzero(self.data))

    @property
    def is_empty(self) -> bool:
        return self.voxel_count == 0

    @property
    def volume_mm3(self) -> float:
        return self.voxel_count * float(np.prod(self.spacing))

    @property
    def volume_cc(self) -> float:
        return self.volume_mm3 / 1000.0

    @property
    def slice_range(self) -> tuple[int, int] | None:
        """First and last slice index holding a voxel, None when empty."""
        if self.is_empty:
            return None
        return self.offset[0], self.offset[0] + self.data.shape[0] - 1

    @property
    def touches_scan_end(self) -> bool:
        """True when the structure reaches the first or last slice of the CT grid."""
        if self.is_empty:
            return False
        return self.offset[0] == 0 or self.offset[0] + self.data.shape[0] == self.grid_shape[0]

    def to_grid(self) -> np.ndarray:
        """The mask on the whole grid (for tests and export; costs a full-grid array)."""
        full = np.zeros(self.grid_shape, dtype=bool)
        if not self.is_empty:
            full[self.box_slices()] = self.data
        return full

    def box_slices(self) -> tuple[slice, slice, slice]:
        return tuple(slice(o, o + s) for o, s in zip(self.offset, self.data.shape, strict=True))


def bounding_box(array: np.ndarray) -> list[tuple[int, int]] | None:
    """Per axis (first, last + 1) of the True voxels, None when there is none."""
    box = []
    for axis in range(array.ndim):
        others = tuple(a for a in range(array.ndim) if a != axis)
        hits = np.flatnonzero(array.any(axis=others))
        if hits.size == 0:
            return None
        box.append((int(hits[0]), int(hits[-1]) + 1))
    return box


def rasterise(
    roi: ROI, geometry: CTGeometry, rule: Rule = "evenodd", source: str | None = None
) -> Mask:
    """Rasterise ``roi`` on the grid of ``geometry`` into a bounding-box :class:`Mask`.

    ``source`` names the RTSTRUCT in error messages. A contour whose z is outside the
    series or between slices raises; a contour partly outside the field of view is
    clipped with a warning.
    """
    if rule not in ("evenodd", "union"):
        raise EngineError("invalid_argument", None, detail=f"rule={rule!r}")
    nz, ny, nx = geometry.shape
    planes: dict[int, list[np.ndarray]] = {}
    slices = [_slice_of(contour.z, roi.name, geometry, source) for contour in roi.contours]
    if slices:
        # One conversion for all the points (element-wise, so the same numbers).
        xy = np.concatenate([contour.points for contour in roi.contours])
        row, col = geometry.xy_to_index(xy[:, 0], xy[:, 1])
        ends = np.cumsum([len(contour.points) for contour in roi.contours])
        pieces = np.split(np.column_stack([row, col]), ends[:-1])
        for k, polygon in zip(slices, pieces, strict=True):
            planes.setdefault(k, []).append(polygon)
    if not planes:
        return Mask.from_array(
            np.zeros((0, 0, 0), bool), geometry.spacing, grid_shape=geometry.shape, name=roi.name
        )

    # Only pixel centres within [ceil(min), floor(max)] of the polygons can be inside.
    points = np.concatenate([p for polygons in planes.values() for p in polygons])
    lo = np.ceil(points.min(axis=0))
    hi = np.floor(points.max(axis=0)) + 1
    # Clipped as floats, then converted: a vertex far off the grid must not overflow.
    clipped_lo = np.clip(lo, 0, (ny, nx)).astype(int)
    clipped_hi = np.clip(hi, 0, (ny, nx)).astype(int)
    warnings = ()
    if np.any(clipped_lo != lo) or np.any(clipped_hi != hi):
        warnings = (EngineIssue("contour_outside_grid", source, {"roi": roi.name}),)
    k0, k1 = min(planes), max(planes) + 1
    shape = (k1 - k0, *(int(v) for v in np.maximum(clipped_hi - clipped_lo, 0)))
    if shape[1] and shape[2]:
        data = _parity_box(planes, k0, (int(clipped_lo[0]), int(clipped_lo[1])), shape)
        if rule == "evenodd":
            overlapping = [
                k for k, polygons in sorted(planes.items())
                if len(polygons) > 1
                and _overlap_not_nested(polygons, tuple(clipped_lo), shape[1:])
            ]  # fmt: skip
            if overlapping:
                z = round(float(geometry.slice_positions[overlapping[0]]), 3)
                params = {"roi": roi.name, "count": len(overlapping), "z": z}
                warnings = (*warnings, EngineIssue("overlapping_contours", source, params))
        if rule == "union":  # slices with several polygons: OR of each polygon's own fill
            for k, polygons in planes.items():
                if len(polygons) > 1:
                    data[k - k0] = fill_polygons(polygons, tuple(clipped_lo), shape[1:], rule)
    else:
        data = np.zeros(shape, dtype=bool)
    return Mask.from_array(
        data,
        geometry.spacing,
        offset=(k0, int(clipped_lo[0]), int(clipped_lo[1])),
        grid_shape=geometry.shape,
        name=roi.name,
        warnings=warnings,
    )


def slice_polygons(roi: ROI, geometry: CTGeometry, source: str | None = None):
    """The ROI's polygons per CT slice index, (n, 2) patient (x, y) mm, for the polygon APL."""
    planes: dict[int, list[np.ndarray]] = {}
    for contour in roi.contours:
        k = _slice_of(contour.z, roi.name, geometry, source)
        planes.setdefault(k, []).append(contour.points)
    return planes


def _slice_of(z: float, roi: str, geometry: CTGeometry, source: str | None) -> int:
    position = geometry.slice_index(z)
    k = int(round(position))
    nz = geometry.shape[0]
    if abs(position - k) <= _SLICE_TOLERANCE and 0 <= k < nz:
        return k
    z_min, z_max = geometry.slice_positions[0], geometry.slice_positions[-1]
    if k < 0 or k >= nz:
        raise EngineError("contour_outside_ct", source, roi=roi, z=z, z_min=z_min, z_max=z_max)
    raise EngineError(
        "contour_off_slice", source, roi=roi, z=z, nearest=geometry.slice_positions[k]
    )


def _overlap_not_nested(
    polygons: list[np.ndarray], origin: tuple[int, int], shape: tuple[int, int]
) -> bool:
    """Whether two polygons of a slice share pixels without one containing the other: the
    even-odd rule then cuts their common part out, which a hole does on purpose and an
    overlap (two pieces drawn over each other) does not."""
    fills = [_parity([p], origin, shape) for p in polygons]
    for i, a in enumerate(fills):
        for b in fills[i + 1 :]:
            common = np.count_nonzero(a & b)
            if common and common != np.count_nonzero(a) and common != np.count_nonzero(b):
                return True
    return False


def fill_polygons(
    polygons: list[np.ndarray], origin: tuple[int, int], shape: tuple[int, int], rule: Rule
) -> np.ndarray:
    """Pixels of a ``shape`` window at ``origin`` whose centre is inside the polygons.

    Each polygon is an (n, 2) array of continuous (row, col) indices. The even-odd rule
    is the parity of all crossings together (so overlapping polygons XOR); ``union`` ORs
    each polygon's own parity.
    """
    if rule == "union" and len(polygons) > 1:
        out = np.zeros(shape, dtype=bool)
        for polygon in polygons:
            out |= _parity([polygon], origin, shape)
        return out
    return _parity(polygons, origin, shape)


def _parity_box(
    planes: dict[int, list[np.ndarray]],
    k0: int,
    origin: tuple[int, int],
    shape: tuple[int, int, int],
) -> np.ndarray:
    """Even-odd fill of every slice's polygons at once (see :func:`_parity`).

    One pass over all edges of the structure instead of one per slice: on contours of a
    few hundred points per slice the per-slice NumPy calls cost more than the work.
    """
    polygons = [p for polygons in planes.values() for p in polygons]
    lengths = np.array([len(p) for p in polygons])
    slices = np.repeat(
        np.array([k - k0 for k, polygons in planes.items() for _ in polygons]), lengths
    )
    starts = np.concatenate(polygons)
    # Each point's successor along its polygon, the last point closing on the first.
    successor = np.arange(1, len(starts) + 1)
    ends_at = np.cumsum(lengths)
    successor[ends_at - 1] = ends_at - lengths
    ends = starts[successor]
    n_slices, n_rows, n_cols = shape
    toggles = _toggles(starts, ends, slices, origin, (n_rows, n_cols))
    parity = np.zeros(n_slices * n_rows * n_cols, dtype=np.uint8)
    parity[toggles] = 1
    parity = parity.reshape(shape)
    # The running XOR along each row is the crossing parity: 1 inside, 0 outside.
    np.bitwise_xor.accumulate(parity, axis=2, out=parity)
    return parity.view(bool)


def _toggles(
    starts: np.ndarray,
    ends: np.ndarray,
    slices: np.ndarray | None,
    origin: tuple[int, int],
    shape: tuple[int, int],
) -> np.ndarray:
    """Linear indices (slice, row, col) of the pixels toggled an odd number of times.

    Half-open in y: an edge serves rows ceil(y_low) .. ceil(y_high) - 1; horizontal edges
    serve none. A crossing at x flips every pixel whose centre has col >= x, so it toggles
    from col = ceil(x); crossings right of the window toggle nothing inside it.
    """
    y0, x0, y1, x1 = starts[:, 0], starts[:, 1], ends[:, 0], ends[:, 1]
    n_rows, n_cols = shape
    # Clipped as floats before the integer conversion: a far vertex must not overflow.
    first = np.clip(np.ceil(np.minimum(y0, y1)) - origin[0], 0, n_rows).astype(np.int64)
    stop = np.clip(np.ceil(np.maximum(y0, y1)) - origin[0], 0, n_rows).astype(np.int64)
    counts = np.maximum(stop - first, 0)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    edge = np.repeat(np.arange(len(counts)), counts)
    # Row of each (edge, row) crossing: first[edge] + 0, 1, 2, ...
    row = first[edge] + np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    y_row = (row + origin[0]).astype(float)
    slope = (x1[edge] - x0[edge]) / (y1[edge] - y0[edge])
    x_cross = x0[edge] + (y_row - y0[edge]) * slope
    col = np.clip(np.ceil(x_cross) - origin[1], 0, n_cols).astype(np.int64)
    keep = col < n_cols
    linear = row[keep] * n_cols + col[keep]
    if slices is not None:
        linear += slices[edge[keep]] * (n_rows * n_cols)
    # Only the parity of the number of toggles of a pixel matters.
    values, repeats = np.unique(linear, return_counts=True)
    return values[(repeats & 1).astype(bool)]


def _parity(
    polygons: list[np.ndarray], origin: tuple[int, int], shape: tuple[int, int]
) -> np.ndarray:
    starts = np.concatenate(polygons)
    ends = np.concatenate([np.roll(p, -1, axis=0) for p in polygons])
    y0, x0, y1, x1 = starts[:, 0], starts[:, 1], ends[:, 0], ends[:, 1]
    n_rows, n_cols = shape
    # Half-open in y: an edge serves rows ceil(y_low) .. ceil(y_high) - 1; horizontal
    # edges serve none. Rows outside the window are clipped away.
    first = np.clip(np.ceil(np.minimum(y0, y1)) - origin[0], 0, n_rows).astype(np.int64)
    stop = np.clip(np.ceil(np.maximum(y0, y1)) - origin[0], 0, n_rows).astype(np.int64)
    counts = np.maximum(stop - first, 0)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(shape, dtype=bool)
    edge = np.repeat(np.arange(len(counts)), counts)
    # Row of each (edge, row) crossing: first[edge] + 0, 1, 2, ...
    row = first[edge] + np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    y_row = (row + origin[0]).astype(float)
    slope = (x1[edge] - x0[edge]) / (y1[edge] - y0[edge])
    x_cross = x0[edge] + (y_row - y0[edge]) * slope
    # A crossing at x flips pixels whose centre col >= x: toggle from ceil(x).
    col = np.clip(np.ceil(x_cross) - origin[1], 0, n_cols).astype(np.int64)
    toggles = np.bincount(row * (n_cols + 1) + col, minlength=n_rows * (n_cols + 1))
    toggles = toggles.reshape(n_rows, n_cols + 1)[:, :n_cols].astype(np.uint8)
    # Only the parity matters, so uint8 overflow in the running sum is harmless.
    return (np.cumsum(toggles, axis=1, dtype=np.uint8) & 1).astype(bool)
