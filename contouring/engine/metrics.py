"""Comparison metrics of two structure masks on one grid (DESIGN.md §6), in millimetres.

Three named surface conventions, each the one of a tool physicists compare with:

- ``"default"`` (the platform's, DESIGN.md §6): surface elements on the voxel-corner grid
  weighted by their area (the marching-cubes elements of DeepMind's ``surface-distance``,
  the reference implementation of the surface DSC paper, Nikolov et al. 2021); HD = max
  distance; HD95 = area-weighted 95th percentile of the union of both directed distance
  sets; MSD = area-weighted mean of that union; surface DSC at τ = area within τ of the
  other surface over the total area.
- ``"deepmind"``: the same elements and distances, summarised as ``surface-distance``
  does: HD95 = max of the two directed 95th percentiles (``compute_robust_hausdorff``), MSD =
  mean of the two directed mean distances (``compute_average_surface_distance``), surface
  DSC as ``compute_surface_dice_at_tolerance``.
- ``"plastimatch"``: voxel surfaces, the boundary of plastimatch's "(boundary)" figures (a
  voxel of the mask with one of its 6 face neighbours outside), distances between voxel
  centres, counted not weighted; HD95 = mean of the two directed 95th percentiles (rank
  floor(0.95·n) in single precision, plastimatch's ``kth_smallest``), MSD = mean of the two
  directed means ("Avg average Hausdorff distance (boundary)"); surface DSC counts voxels.

``hd95`` overrides a convention's HD95 summary: ``"max"``, ``"mean"`` of the directed 95th
percentiles or ``"pooled"`` (95th percentile of the union), weighted as the convention is.

Beyond the CT grid is outside, as in every peer tool: a structure reaching the first or
last slice has a surface there, and its results say so (``touches_scan_end``).

Surface distances are exact Euclidean distances between surface points (voxel centres or
voxel corners): the offsets nearest first are looked up in the other structure's surface
(the first hit is the nearest point; most points of similar contours are resolved within
a few offsets), and the points left are searched in a KD-tree on the other surface (both
measured faster than an exact EDT on the crop, see benchmarks/engine_results.md). The added
path length counts, per slice, the reference's in-plane boundary pixels farther than τ from
the test's, times the pixel size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from .errors import EngineError
from .options import (
    APL_METHODS,
    CONVENTION_HD95,
    CONVENTIONS,
    DEFAULT_CONVENTION,
    DEFAULT_TAUS,
    HD95_METHODS,
    AplMethod,
    Convention,
    HD95Method,
)
from .raster import Mask
from .surfels import surface_area_table

# The 2x2x2 neighbourhood code of a voxel corner, as surface-distance encodes it.
_CORNER_KERNEL = np.array([[[128, 64], [32, 16]], [[8, 4], [2, 1]]], dtype=np.uint8)
# Distances are sums of squared multiples of the spacing: compare with τ up to rounding.
_TAU_EPSILON = 1e-9
# First, bounded pass of the surface-distance search, in voxels.
_NEAR_SEARCH_VOXELS = 4
# Slices are kept apart in the APL search by this many mm per slice index.
_SLICE_SEPARATION_MM = 1.0e6

# Status of a pair -> (French, English) reason; "ok" is the only one with distances.
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "ok": ("", ""),
    "reference_empty": ("structure vide dans la référence", "structure empty in the reference"),
    "test_empty": ("structure vide dans le jeu comparé", "structure empty in the compared set"),
    "both_empty": ("structure vide des deux côtés", "structure empty on both sides"),
    "reference_missing": (
        "structure absente de la référence",
        "structure missing from the reference",
    ),
    "test_missing": (
        "structure absente du jeu comparé",
        "structure missing from the compared set",
    ),
}

SCAN_END_NOTE: tuple[str, str] = (
    "structure coupée par le bord du CT : les distances près de la fin de l'examen sont "
    "bornées par l'étendue du CT",
    "structure cut by the CT's end: distances near the scan's end are bounded by the CT extent",
)


@dataclass(frozen=True)
class PreparedStructure:
    """What a mask needs for any comparison, built once and reused for every pair."""

    mask: Mask
    centroid_mm: np.ndarray | None = field(repr=False)
    # False: distances by KD-tree only, without the neighbourhood scan (for tests).
    scan: bool = True
    # The RTSTRUCT polygons per slice index, (n, 2) patient (x, y) mm: APL is measured on
    # them when both structures have them (else on boundary pixels).
    polygons: dict[int, list[np.ndarray]] | None = field(default=None, repr=False)

    # The surface voxels and in-plane boundary pixels are found on first use: the
    # platform's convention measures distances on corner surfaces and the APL on polygons,
    # so it never needs them (36 MB per set for the benchmark's body outline).
    @cached_property
    def _voxel_surfaces(self) -> tuple[np.ndarray, np.ndarray]:
        if self.mask.is_empty:
            nothing = np.zeros((0, 3), dtype=np.int64)
            return nothing, nothing
        surface_3d, boundary_2d = _surfaces(self.mask)
        offset = np.asarray(self.mask.offset)
        return offset + _indices(surface_3d), offset + _indices(boundary_2d)

    @property
    def surface_index(self) -> np.ndarray:
        """(n, 3) global voxel indices of the 3D surface voxels (a face neighbour outside)."""
        return self._voxel_surfaces[0]

    @cached_property
    def surface_mm(self) -> np.ndarray:
        """(n, 3) the surface voxels' centres, mm."""
        return self.surface_index * np.asarray(self.mask.spacing, dtype=float)

    @property
    def contour_index(self) -> np.ndarray:
        """(m, 3) global voxel indices of the in-plane boundary pixels."""
        return self._voxel_surfaces[1]

    @cached_property
    def contour_mm(self) -> np.ndarray:
        """(m, 3) the in-plane boundary in mm, the slice index pushed far apart so that a 3D
        nearest-neighbour search never crosses to another slice (the pixel APL)."""
        contour = self.contour_index
        contour_mm = contour * np.asarray(self.mask.spacing, dtype=float)
        contour_mm[:, 0] = contour[:, 0] * _SLICE_SEPARATION_MM
        return contour_mm

    # KD-trees are built on first use: a structure that is only ever the reference of its
    # pairs never needs the tree of its in-plane contour.
    @cached_property
    def tree(self) -> cKDTree | None:
        return _tree(self.surface_mm) if len(self.surface_mm) else None

    @cached_property
    def contour_tree(self) -> cKDTree | None:
        return _tree(self.contour_mm) if len(self.contour_mm) else None

    @cached_property
    def surface_lookup(self) -> _Lookup | None:
        """The surface, padded for the neighbourhood scan of :func:`directed_distances`."""
        if not self.scan or not len(self.surface_index):
            return None
        return _Lookup(
            self.surface_index, self.mask.offset, self.mask.data.shape,
            _surface_offsets(tuple(float(v) for v in self.mask.spacing)),
        )  # fmt: skip

    def contour_lookup(self, radius_mm: float) -> _Lookup | None:
        """The in-plane boundary, padded for an in-plane scan up to ``radius_mm``."""
        if not self.scan or not len(self.contour_index):
            return None
        key = round(radius_mm, 9)
        cache = self.__dict__.setdefault("_contour_lookups", {})
        if key not in cache:
            offsets = _plane_offsets(tuple(float(v) for v in self.mask.spacing), radius_mm)
            cache[key] = _Lookup(
                self.contour_index, self.mask.offset, self.mask.data.shape, offsets
            )
        return cache[key]

    @cached_property
    def corners(self) -> SurfaceElements:
        """Area-weighted surface elements on the voxel-corner grid (built on first use)."""
        return _corner_surface(self.mask, self.scan)

    def apl_pieces(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Slice ``k``'s polygons cut for the polygon APL as a reference (built once)."""
        cache = self.__dict__.setdefault("_apl_pieces", {})
        if k not in cache:
            cache[k] = _sampled(self.polygons[k], _APL_PIECE_MM)
        return cache[k]

    def apl_tree(self, k: int) -> cKDTree:
        """The tree of slice ``k``'s polygons sampled for the polygon APL as a test (built once):
        a structure is the test of several pairs."""
        cache = self.__dict__.setdefault("_apl_trees", {})
        if k not in cache:
            cache[k] = _tree(_sampled(self.polygons[k], _APL_SAMPLE_MM)[0])
        return cache[k]

    def release(self) -> None:
        """Drop the search structures (KD-trees, scan arrays, surface voxels); rebuilt if
        used again."""
        for name in (
            "tree", "contour_tree", "surface_lookup", "_contour_lookups", "corners",
            "_apl_pieces", "_apl_trees", "_voxel_surfaces", "surface_mm", "contour_mm",
        ):  # fmt: skip
            self.__dict__.pop(name, None)

    @property
    def is_empty(self) -> bool:
        return self.mask.is_empty

    @property
    def surface_count(self) -> int:
        return len(self.surface_index)


@dataclass(frozen=True)
class SurfaceElements:
    """Surface elements of a mask on the voxel-corner grid: corner ``c`` is shared by
    voxels ``c - 1`` and ``c`` on each axis; its element has the area of the marching-cubes
    triangles of its 2x2x2 neighbourhood (``surface-distance``'s surfels)."""

    index: np.ndarray = field(repr=False)  # (n, 3) global corner indices
    mm: np.ndarray = field(repr=False)  # (n, 3) corner positions, mm (from corner 0)
    areas: np.ndarray = field(repr=False)  # (n,) mm²
    offset: tuple[int, int, int]
    box_shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    scan: bool = True

    @cached_property
    def tree(self) -> cKDTree | None:
        return _tree(self.mm) if len(self.mm) else None

    @cached_property
    def lookup(self) -> _Lookup | None:
        if not self.scan or not len(self.index):
            return None
        return _Lookup(
            self.index, self.offset, self.box_shape,
            _surface_offsets(tuple(float(v) for v in self.spacing)),
        )  # fmt: skip


@lru_cache(maxsize=32)
def _area_table(spacing: tuple[float, float, float]) -> np.ndarray:
    return surface_area_table(spacing)


def _corner_surface(mask: Mask, scan: bool = True) -> SurfaceElements:
    """The surface elements of ``mask``: corners whose 2x2x2 neighbourhood is neither all
    outside nor all inside (beyond the grid is outside), with their areas."""
    spacing = tuple(float(v) for v in mask.spacing)
    data = mask.data
    crop = np.zeros(tuple(n + 1 for n in data.shape), dtype=np.uint8)
    crop[:-1, :-1, :-1] = data
    codes = ndimage.correlate(crop, _CORNER_KERNEL, mode="constant", cval=0)
    border = (codes != 0) & (codes != 255)
    index = np.asarray(mask.offset) + _indices(border)
    return SurfaceElements(
        index=index,
        mm=index * np.asarray(spacing),
        areas=_area_table(spacing)[codes[border]],
        offset=tuple(mask.offset),
        box_shape=crop.shape,
        spacing=spacing,
        scan=scan,
    )


@dataclass(frozen=True)
class PairMetrics:
    """Every metric of DESIGN.md §6 for one reference/test pair of structures.

    Volumes in cm³, distances and lengths in mm. Figures that do not apply (an empty or
    missing side) are None and ``status`` says why; a distance is never 0 or a sentinel
    for "could not compute".
    """

    status: str
    convention: str = DEFAULT_CONVENTION
    reference_volume_cc: float | None = None
    test_volume_cc: float | None = None
    volume_ratio: float | None = None
    dsc: float | None = None
    jaccard: float | None = None
    sensitivity: float | None = None
    precision: float | None = None
    intersection_cc: float | None = None
    false_positive_cc: float | None = None
    false_negative_cc: float | None = None
    hausdorff_mm: float | None = None
    hd95_mm: float | None = None
    hd95_method: str = "pooled"
    hd95_reference_to_test_mm: float | None = None
    hd95_test_to_reference_mm: float | None = None
    mean_surface_distance_mm: float | None = None
    mean_reference_to_test_mm: float | None = None
    mean_test_to_reference_mm: float | None = None
    surface_dsc: dict[float, float] | None = None
    added_path_length_mm: dict[float, float] | None = None
    apl_method: str = "polygon"
    centroid_distance_mm: float | None = None
    reference_surface_voxels: int | None = None
    test_surface_voxels: int | None = None
    # A structure reaching the first or last CT slice has a surface there (beyond the grid
    # is outside): near the scan's end, the CT extent bounds its distances.
    reference_touches_scan_end: bool = False
    test_touches_scan_end: bool = False

    @property
    def has_distances(self) -> bool:
        return self.status == "ok"

    @property
    def touches_scan_end(self) -> bool:
        return self.reference_touches_scan_end or self.test_touches_scan_end

    def scan_end_note(self, lang: str = "fr") -> str:
        """The caveat to print next to the figures of a structure cut by the scan's end."""
        if not self.touches_scan_end:
            return ""
        return SCAN_END_NOTE[0] if lang == "fr" else SCAN_END_NOTE[1]

    def reason(self, lang: str = "fr") -> str:
        """Why figures are missing, as a sentence fragment ("" when status is ok)."""
        french, english = STATUS_LABELS[self.status]
        return french if lang == "fr" else english


def prepare(mask: Mask, polygons: dict[int, list[np.ndarray]] | None = None) -> PreparedStructure:
    """``mask`` ready for comparisons: its centroid now, its surfaces and KD-trees on first
    use; ``polygons`` (its RTSTRUCT polygons per slice, see :func:`.raster.slice_polygons`)
    for the polygon APL."""
    if mask.is_empty:
        return PreparedStructure(mask, None, polygons=polygons)
    spacing = np.asarray(mask.spacing, dtype=float)
    centroid = (np.asarray(mask.offset) + _mean_index(mask.data)) * spacing
    return PreparedStructure(mask=mask, centroid_mm=centroid, polygons=polygons)


def _indices(array: np.ndarray) -> np.ndarray:
    """(n, 3) indices of the True voxels in C order; flatnonzero is ~2x faster than argwhere."""
    return np.column_stack(np.unravel_index(np.flatnonzero(array), array.shape))


def _tree(points: np.ndarray) -> cKDTree:
    # Unbalanced, non-compact trees build ~2x faster and query as fast on voxel surfaces.
    return cKDTree(points, balanced_tree=False, compact_nodes=False)


def _mean_index(data: np.ndarray) -> np.ndarray:
    """Mean voxel index per axis from the axis profiles (argwhere would cost 3 ints/voxel)."""
    total = np.count_nonzero(data)
    rows = np.count_nonzero(data, axis=2)  # (z, y): one pass gives two profiles
    profiles = (rows.sum(axis=1), rows.sum(axis=0), np.count_nonzero(data, axis=(0, 1)))
    return np.array([float(np.dot(p, np.arange(len(p)))) / total for p in profiles])


def _surfaces(mask: Mask) -> tuple[np.ndarray, np.ndarray]:
    """3D surface voxels (a face neighbour outside) and in-plane boundary pixels of a mask.

    Works on shifted views of the bounding box, no padded copy. Beyond the box's faces a
    neighbour is outside, the grid border included: a structure cut by the end of the scan
    has a surface there, as in every peer tool (see :attr:`PairMetrics.touches_scan_end`).
    """
    data = mask.data
    interior = data.copy()
    for axis in (1, 2, 0):  # in-plane first: its result is the in-plane boundary
        if axis == 0:
            contour = data ^ interior  # interior is inside data: XOR is data & ~interior
        n = data.shape[axis]
        lower = [slice(None)] * 3
        upper = [slice(None)] * 3
        lower[axis], upper[axis] = slice(0, n - 1), slice(1, n)
        interior[tuple(upper)] &= data[tuple(lower)]
        interior[tuple(lower)] &= data[tuple(upper)]
        for index in (0, n - 1):
            face = [slice(None)] * 3
            face[axis] = index
            interior[tuple(face)] = False
    return np.bitwise_xor(data, interior, out=interior), contour


# --- Neighbourhood scan ---------------------------------------------------------------------
# Most surface voxels of two similar contours lie within a few voxels of the other surface.
# For those, scanning the voxel offsets in increasing distance and stopping at the first
# one that lands on the other surface gives the exact nearest distance with a few array
# look-ups, much cheaper than a KD-tree query (and no tree to build). Voxels with no hit
# within the scanned offsets are farther than all of them and go to the KD-tree.

# Offsets scanned for every surface voxel (whole distance shells, so a few more); then,
# while the voxels left are few (a 16th of the target's surface), up to
# _SCAN_OFFSETS_MAX, which usually saves building the KD-tree at all.
_SCAN_OFFSETS = 48
_SCAN_OFFSETS_MAX = 400
_SCAN_FEW = 16


@dataclass(frozen=True)
class _Offsets:
    steps: np.ndarray  # (n, 3) voxel offsets sorted by distance, (0, 0, 0) first
    distances: np.ndarray  # (n,) their lengths in mm
    reach: np.ndarray  # (3,) largest |offset| per axis
    always: int  # the first ``always`` offsets are scanned for every voxel


def _offsets_within(spacing, radius_mm: float, axes=(0, 1, 2)) -> tuple[np.ndarray, np.ndarray]:
    """Every voxel offset along ``axes`` no longer than ``radius_mm``, nearest first."""
    spacing = np.asarray(spacing, dtype=float)
    half = [int(np.floor(radius_mm / spacing[a] + 1e-9)) if a in axes else 0 for a in range(3)]
    grids = np.meshgrid(*[np.arange(-h, h + 1) for h in half], indexing="ij")
    steps = np.stack([g.ravel() for g in grids], axis=1)
    distances = np.sqrt(((steps * spacing) ** 2).sum(axis=1))
    keep = distances <= radius_mm
    order = np.argsort(distances[keep], kind="stable")
    return steps[keep][order], distances[keep][order]


@lru_cache(maxsize=32)
def _surface_offsets(spacing: tuple[float, float, float]) -> _Offsets:
    """The nearest offsets, each count completed to a whole distance shell."""
    radius = 5.0 * float(max(spacing))  # holds more than _SCAN_OFFSETS_MAX offsets
    steps, distances = _offsets_within(spacing, radius)

    def shell_end(count: int) -> int:
        cut = float(distances[min(count, len(distances)) - 1])
        return int(np.searchsorted(distances, cut + _TAU_EPSILON, side="right"))

    n = shell_end(_SCAN_OFFSETS_MAX)
    return _Offsets(
        steps[:n], distances[:n], np.abs(steps[:n]).max(axis=0), shell_end(_SCAN_OFFSETS)
    )


@lru_cache(maxsize=32)
def _plane_offsets(spacing: tuple[float, float, float], radius_mm: float) -> _Offsets:
    """Every in-plane offset up to ``radius_mm``."""
    steps, distances = _offsets_within(spacing, radius_mm, axes=(1, 2))
    return _Offsets(steps, distances, np.abs(steps).max(axis=0), len(steps))


class _Lookup:
    """A structure's surface as a flat boolean array, padded for an offset scan."""

    def __init__(
        self,
        index: np.ndarray,
        offset: tuple[int, int, int],
        box_shape: tuple[int, int, int],
        offsets: _Offsets,
    ) -> None:
        """``index``: (n, 3) grid indices of the voxels, all in the box at ``offset``."""
        self.offsets = offsets
        reach = offsets.reach
        # Padded by twice the reach: voxels up to ``reach`` outside the box are scanned
        # (they can have a neighbour inside), and their scan stays inside the array.
        self.origin = np.asarray(offset) - 2 * reach
        self.shape = np.asarray(box_shape) + 4 * reach
        self.strides = np.array([self.shape[1] * self.shape[2], self.shape[2], 1])
        self.flat = np.zeros(int(np.prod(self.shape)), dtype=bool)
        self.flat[(index - self.origin) @ self.strides] = True
        self.steps = offsets.steps @ self.strides
        self.few = len(index) // _SCAN_FEW

    def nearest(self, points: np.ndarray) -> np.ndarray:
        """Distance (mm) from each voxel of ``points`` (n, 3) to the nearest set voxel at
        one of the scanned offsets, in increasing distance; inf where none is set."""
        result = np.full(len(points), np.inf)
        local = points - self.origin
        reach = self.offsets.reach
        inside = np.all((local >= reach) & (local < self.shape - reach), axis=1)
        todo = np.flatnonzero(inside)
        if not todo.size:
            return result
        linear = local[todo] @ self.strides
        flat, always, few = self.flat, self.offsets.always, self.few
        steps, distances = self.steps.tolist(), self.offsets.distances.tolist()
        for index, (step, distance) in enumerate(zip(steps, distances, strict=True)):
            # Stopping before any offset keeps every distance found exact: the offsets
            # come nearest first, and the voxels left are searched in the KD-tree.
            if index >= always and len(todo) > few and distance != distances[index - 1]:
                break
            hit = flat[linear + step]
            if hit.any():
                result[todo[hit]] = distance
                miss = ~hit
                todo, linear = todo[miss], linear[miss]
                if not todo.size:
                    break
        return result


def compare_masks(
    reference: Mask | np.ndarray,
    test: Mask | np.ndarray,
    spacing: tuple[float, float, float] | None = None,
    taus: tuple[float, ...] = DEFAULT_TAUS,
    hd95: HD95Method | None = None,
    convention: Convention = DEFAULT_CONVENTION,
) -> PairMetrics:
    """Compare two masks (bounding-box :class:`Mask` objects or whole-grid boolean arrays).

    ``spacing`` (dz, dy, dx) in mm is required for arrays and, for masks, must match theirs.
    ``convention`` is one of :data:`CONVENTIONS` (see the module documentation), so arrays
    from any tool can be compared the way that tool or the platform does.
    """
    reference, test = _as_mask(reference, spacing), _as_mask(test, spacing)
    return compare_prepared(
        prepare(reference), prepare(test), taus=taus, hd95=hd95, convention=convention
    )


def _as_mask(value: Mask | np.ndarray, spacing: tuple[float, float, float] | None) -> Mask:
    if isinstance(value, Mask):
        if spacing is not None and not np.allclose(value.spacing, spacing):
            raise EngineError(
                "invalid_argument", None, detail=f"spacing {spacing} != mask {value.spacing}"
            )
        return value
    if spacing is None:
        raise EngineError("invalid_argument", None, detail="spacing is required for arrays")
    return Mask.from_array(value, spacing)


def compare_prepared(
    reference: PreparedStructure,
    test: PreparedStructure,
    taus: tuple[float, ...] = DEFAULT_TAUS,
    hd95: HD95Method | None = None,
    convention: Convention = DEFAULT_CONVENTION,
    apl: AplMethod = "polygon",
) -> PairMetrics:
    """Metrics of two prepared structures on the same grid.

    ``apl="polygon"`` measures the added path length on the RTSTRUCT polygons when both
    structures carry them (arrays do not: then on boundary pixels, ``apl_method`` says
    which); ``apl="pixels"`` always counts boundary pixels, as platipy does."""
    if apl not in APL_METHODS:
        raise EngineError("invalid_argument", None, detail=f"apl={apl!r}")
    if convention not in CONVENTIONS:
        raise EngineError("invalid_argument", None, detail=f"convention={convention!r}")
    hd95 = hd95 or CONVENTION_HD95[convention]
    if hd95 not in HD95_METHODS:
        raise EngineError("invalid_argument", None, detail=f"hd95={hd95!r}")
    a, b = reference.mask, test.mask
    if a.grid_shape != b.grid_shape or not np.allclose(a.spacing, b.spacing):
        raise EngineError("invalid_argument", None, detail="masks are on different grids")
    taus = tuple(float(t) for t in taus)
    voxel_cc = float(np.prod(a.spacing)) / 1000.0
    n_a, n_b = a.voxel_count, b.voxel_count
    n_ab = _intersection(a, b)
    overlap = {
        "convention": convention,
        "reference_volume_cc": n_a * voxel_cc,
        "test_volume_cc": n_b * voxel_cc,
        "volume_ratio": n_b / n_a if n_a else None,
        "dsc": 2 * n_ab / (n_a + n_b) if n_a + n_b else None,
        "jaccard": n_ab / (n_a + n_b - n_ab) if n_a + n_b else None,
        "sensitivity": n_ab / n_a if n_a else None,
        "precision": n_ab / n_b if n_b else None,
        "intersection_cc": n_ab * voxel_cc,
        "false_positive_cc": (n_b - n_ab) * voxel_cc,
        "false_negative_cc": (n_a - n_ab) * voxel_cc,
        "hd95_method": hd95,
        "reference_touches_scan_end": a.touches_scan_end,
        "test_touches_scan_end": b.touches_scan_end,
    }
    if n_a == 0 or n_b == 0:
        status = "both_empty" if n_a == n_b else ("reference_empty" if n_a == 0 else "test_empty")
        return PairMetrics(status=status, **overlap)

    apl_used = apl if reference.polygons is not None and test.polygons is not None else "pixels"
    if apl_used == "polygon":
        apl_figures = polygon_added_path_length(
            reference.polygons,
            test.polygons,
            taus,
            pieces=reference.apl_pieces,
            tree=test.apl_tree,
        )
    else:
        apl_figures = added_path_length(reference, test, taus)
    if convention == "plastimatch":
        d_ab = directed_distances(reference, test)
        d_ba = directed_distances(test, reference)
        w_ab = w_ba = None
    else:
        ca, cb = reference.corners, test.corners
        d_ab = _directed(ca.index, ca.mm, cb.lookup, cb.tree, a.spacing)
        d_ba = _directed(cb.index, cb.mm, ca.lookup, ca.tree, a.spacing)
        w_ab, w_ba = ca.areas, cb.areas
    p_ab, p_ba = _percentile95(d_ab, w_ab), _percentile95(d_ba, w_ba)
    mean_ab, mean_ba = _mean(d_ab, w_ab), _mean(d_ba, w_ba)
    pooled = np.concatenate([d_ab, d_ba])
    weights = None if w_ab is None else np.concatenate([w_ab, w_ba])
    hd95_value = {"max": max(p_ab, p_ba), "mean": 0.5 * (p_ab + p_ba)}.get(hd95)
    if hd95_value is None:  # "pooled": only then is the sort of the union worth doing
        hd95_value = _percentile95(pooled, weights)
    msd = _mean(pooled, weights) if convention == "default" else 0.5 * (mean_ab + mean_ba)
    total = float(weights.sum()) if weights is not None else float(len(pooled))

    def within(tau: float) -> float:
        near = pooled <= tau + _TAU_EPSILON
        return float(weights[near].sum() if weights is not None else np.count_nonzero(near))

    return PairMetrics(
        status="ok",
        **overlap,
        hausdorff_mm=float(max(d_ab.max(), d_ba.max())),
        hd95_mm=float(hd95_value),
        hd95_reference_to_test_mm=p_ab,
        hd95_test_to_reference_mm=p_ba,
        mean_surface_distance_mm=float(msd),
        mean_reference_to_test_mm=mean_ab,
        mean_test_to_reference_mm=mean_ba,
        surface_dsc={tau: within(tau) / total for tau in taus},
        added_path_length_mm=apl_figures,
        apl_method=apl_used,
        centroid_distance_mm=float(np.linalg.norm(reference.centroid_mm - test.centroid_mm)),
        reference_surface_voxels=len(d_ab),
        test_surface_voxels=len(d_ba),
    )


def _mean(distances: np.ndarray, weights: np.ndarray | None) -> float:
    if weights is None:
        return float(distances.mean())
    return float(np.dot(distances, weights) / weights.sum())


def _percentile95(distances: np.ndarray, weights: np.ndarray | None) -> float:
    """plastimatch's order statistic for counted points; for weighted ones, the distance
    where the cumulated area first reaches 95 % (``compute_robust_hausdorff``'s rule)."""
    if weights is None:
        return percentile95(distances)
    order = np.argsort(distances, kind="stable")
    cumulated = np.cumsum(weights[order]) / weights.sum()
    rank = int(np.searchsorted(cumulated, 0.95))
    return float(distances[order[min(rank, len(order) - 1)]])


def _intersection(a: Mask, b: Mask) -> int:
    lo = np.maximum(a.offset, b.offset)
    hi = np.minimum(np.add(a.offset, a.data.shape), np.add(b.offset, b.data.shape))
    if a.is_empty or b.is_empty or np.any(hi <= lo):
        return 0
    window_a = _window(lo, hi, a.offset)
    window_b = _window(lo, hi, b.offset)
    return int(np.count_nonzero(a.data[window_a] & b.data[window_b]))


def _window(lo: np.ndarray, hi: np.ndarray, offset: tuple[int, ...]) -> tuple[slice, ...]:
    """Global index range [lo, hi) as slices into an array stored at ``offset``."""
    return tuple(slice(start - o, stop - o) for start, stop, o in zip(lo, hi, offset, strict=True))


def directed_distances(source: PreparedStructure, target: PreparedStructure) -> np.ndarray:
    """Distance (mm) from each surface voxel of ``source`` to the surface of ``target``."""
    return _directed(
        source.surface_index, source.surface_mm, target.surface_lookup,
        target.tree, source.mask.spacing,
    )  # fmt: skip


def _directed(
    index: np.ndarray,
    points_mm: np.ndarray,
    lookup: _Lookup | None,
    tree: cKDTree,
    spacing: tuple[float, float, float],
) -> np.ndarray:
    """Distance (mm) from each point (grid ``index``, position ``points_mm``) to the
    nearest point of a target surface given by its ``lookup`` and KD-``tree``.

    Exact Euclidean distances between grid points. The nearest offsets are scanned
    first (see :class:`_Lookup`; a point on both surfaces gets 0 at the first offset);
    the points left are searched in the target's KD-tree, within a few voxels first (a
    bounded search prunes the tree much better) and only the far ones again without bound.
    """
    # Without box arrays (a structure prepared by hand), the KD-tree only.
    distances = np.full(len(index), np.inf) if lookup is None else lookup.nearest(index)
    todo = np.flatnonzero(~np.isfinite(distances))
    if todo.size:
        bound = _NEAR_SEARCH_VOXELS * max(spacing)
        near = tree.query(points_mm[todo], k=1, distance_upper_bound=bound)[0]
        far = ~np.isfinite(near)
        if far.any():
            near[far] = tree.query(points_mm[todo[far]], k=1)[0]
        distances[todo] = near
    return distances


def percentile95(distances: np.ndarray) -> float:
    """plastimatch's 95th percentile: the k-th smallest with k = floor(0.95·n) in float32."""
    n = len(distances)
    ordinal = int(np.floor(np.float32(0.95) * np.float32(n) - np.float32(1)))
    ordinal = min(max(ordinal, 0), n - 1)
    return float(np.partition(distances, ordinal)[ordinal])


# Reference polygons are cut in pieces of at most this length, classified by their middle;
# test polygons are sampled this finely, so a distance is overestimated by < half of it.
_APL_PIECE_MM = 0.5
_APL_SAMPLE_MM = 0.1


def _sampled(polygons: list[np.ndarray], step: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``step`` mm or less along closed polygons: (middles (m, 2), lengths (m,))
    of the pieces between them."""
    middles, lengths = [], []
    for polygon in polygons:
        start = np.asarray(polygon, dtype=float)
        edge = np.roll(start, -1, axis=0) - start
        length = np.hypot(edge[:, 0], edge[:, 1])
        pieces = np.maximum(np.ceil(length / step).astype(np.int64), 1)
        which = np.repeat(np.arange(len(start)), pieces)
        first = np.cumsum(pieces) - pieces
        fraction = (np.arange(int(pieces.sum())) - np.repeat(first, pieces) + 0.5) / pieces[which]
        middles.append(start[which] + edge[which] * fraction[:, None])
        lengths.append((length / pieces)[which])
    return np.concatenate(middles), np.concatenate(lengths)


def polygon_added_path_length(
    reference: dict[int, list[np.ndarray]],
    test: dict[int, list[np.ndarray]],
    taus: tuple[float, ...],
    *,
    pieces: Callable[[int], tuple[np.ndarray, np.ndarray]] | None = None,
    tree: Callable[[int], cKDTree] | None = None,
) -> dict[float, float]:
    """Length (mm) of the reference polygons farther than τ from the test polygons of the
    same slice, summed over slices: the contour a clinician would redraw (DESIGN.md §6).

    Each reference polygon is cut into pieces of at most 0.5 mm, each piece classified by
    the distance of its middle to the test polygons of its slice (sampled every 0.1 mm, so a
    distance is overestimated by at most 0.05 mm);
    on a slice without a test polygon the whole reference contour counts. ``pieces(k)`` and
    ``tree(k)`` give slice ``k``'s cut reference and test tree when they are kept
    (:meth:`PreparedStructure.apl_pieces`, :meth:`PreparedStructure.apl_tree`).
    """
    totals = dict.fromkeys(taus, 0.0)
    for k, polygons in reference.items():
        middles, lengths = pieces(k) if pieces else _sampled(polygons, _APL_PIECE_MM)
        others = test.get(k)
        if not others:
            for tau in taus:
                totals[tau] += float(lengths.sum())
            continue
        search = tree(k) if tree else _tree(_sampled(others, _APL_SAMPLE_MM)[0])
        bound = max(taus) + _APL_SAMPLE_MM
        distance = search.query(middles, k=1, distance_upper_bound=bound)[0]
        for tau in taus:
            totals[tau] += float(lengths[distance > tau + _TAU_EPSILON].sum())
    return {tau: float(value) for tau, value in totals.items()}


def added_path_length(
    reference: PreparedStructure, test: PreparedStructure, taus: tuple[float, ...]
) -> dict[float, float]:
    """Pixel-count APL (platipy's): the reference's in-plane contour pixels farther than τ.

    Per slice, each reference boundary pixel farther than τ from every test boundary pixel
    of the same slice (or on a slice where the test has none) adds one pixel of length,
    the mean in-plane pixel size. Only whether a test pixel lies within the largest τ
    matters, so every in-plane offset up to it is scanned and no tree is needed.
    """
    spacing = reference.mask.spacing
    pixel_length = 0.5 * (spacing[1] + spacing[2])
    if not len(test.contour_mm) or not len(reference.contour_mm):
        return {tau: len(reference.contour_mm) * pixel_length for tau in taus}
    lookup = test.contour_lookup(max(taus) + _TAU_EPSILON)
    if lookup is None:
        bound = max(taus) + 1.0
        nearest = test.contour_tree.query(reference.contour_mm, k=1, distance_upper_bound=bound)[0]
    else:
        nearest = lookup.nearest(reference.contour_index)
    return {
        tau: float(np.count_nonzero(nearest > tau + _TAU_EPSILON) * pixel_length) for tau in taus
    }
