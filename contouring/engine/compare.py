"""Many-to-many comparison of contour sets on one CT: the reference against each test set,
and every test set against every other, each structure's mask and surface built once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .errors import EngineError, EngineIssue
from .geometry import CTGeometry
from .metrics import (
    CONVENTION_HD95,
    DEFAULT_CONVENTION,
    DEFAULT_TAUS,
    Convention,
    HD95Method,
    PairMetrics,
    PreparedStructure,
    compare_prepared,
)
from .metrics import prepare as prepare_mask
from .options import REFERENCE
from .parallel import Threads
from .raster import Rule, rasterise, slice_polygons
from .rtstruct import ROI, StructureSet


@dataclass(frozen=True)
class PairResult:
    """One structure compared between two contour sets (``first`` plays the reference)."""

    structure: str
    first: str
    second: str
    first_roi: str | None
    second_roi: str | None
    metrics: PairMetrics


@dataclass(frozen=True)
class CaseResult:
    structures: tuple[str, ...]
    set_labels: tuple[str, ...]  # "reference" first, then the test labels in given order
    pairs: tuple[PairResult, ...]
    volumes_cc: dict[tuple[str, str], float | None]  # (set label, structure) -> cm³
    warnings: tuple[EngineIssue, ...]
    taus: tuple[float, ...]
    hd95_method: str
    convention: str = DEFAULT_CONVENTION

    def get(self, structure: str, first: str, second: str) -> PairMetrics:
        for pair in self.pairs:
            if pair.structure == structure and pair.first == first and pair.second == second:
                return pair.metrics
        raise KeyError((structure, first, second))

    def against_reference(self) -> tuple[PairResult, ...]:
        return tuple(p for p in self.pairs if p.first == REFERENCE)

    def between_tests(self) -> tuple[PairResult, ...]:
        return tuple(p for p in self.pairs if p.first != REFERENCE)


def check_frame_of_reference(structure_set: StructureSet, geometry: CTGeometry) -> None:
    """An RTSTRUCT drawn in another frame of reference cannot be placed on this CT."""
    uid = structure_set.frame_of_reference_uid
    if uid is not None and uid != geometry.frame_of_reference_uid:
        raise EngineError(
            "for_mismatch",
            structure_set.file,
            rt_for=uid,
            ct_for=geometry.frame_of_reference_uid,
        )


def consistency_warnings(structure_set: StructureSet, geometry: CTGeometry) -> list[EngineIssue]:
    """Non-fatal findings about an RTSTRUCT on this CT (for ``inspect`` and the report)."""
    found = list(structure_set.warnings)
    missing = structure_set.referenced_sop_uids - geometry.sop_instance_uids
    if missing:
        found.append(
            EngineIssue("unreferenced_images", structure_set.file, {"count": len(missing)})
        )
    return found


def compare_case(
    geometry: CTGeometry,
    reference: StructureSet,
    tests: Mapping[str, StructureSet],
    structure_map: Mapping[str, Mapping[str, str]] | None = None,
    taus: tuple[float, ...] = DEFAULT_TAUS,
    hd95: HD95Method | None = None,
    rule: Rule = "evenodd",
    progress: Callable[[int, int], None] | None = None,
    convention: Convention = DEFAULT_CONVENTION,
    pairwise: bool = True,
    on_structure: Callable[[str, Mapping[str, PreparedStructure | None]], None] | None = None,
    threads: int = 1,
) -> CaseResult:
    """Compare every structure of ``reference`` with each test set and the tests together.

    ``tests`` maps a label (solution name) to its structure set. ``structure_map`` maps a
    test label to ``{reference structure name: ROI name in that test set}``; structures it
    does not mention are matched by name, case-insensitively. ``progress(done, total)`` is
    called after each mask and each pair. ``convention`` names the surface convention
    (see :mod:`.metrics`); ``hd95`` overrides its HD95 summary. ``pairwise`` False
    compares the test sets with the reference only. ``on_structure(name, prepared)`` is
    called once a structure's pairs are done, with every set's prepared structure (None:
    absent), so a caller can build more on the same masks (a consensus) before they go.
    ``threads`` > 1 computes that many pairs of a structure at once: the KD-tree queries
    and most array work release the GIL, so one process uses several cores; the figures
    are the same (each pair reads only its two prepared structures, whose search arrays
    are built once under ``cached_property``'s lock or, for the per-slice caches, at worst
    twice with the same content), at the cost of one more pair's temporary arrays.
    """
    hd95 = hd95 or CONVENTION_HD95.get(convention, "pooled")
    if REFERENCE in tests:
        raise EngineError("invalid_argument", None, detail=f"'{REFERENCE}' is a reserved label")
    sets: dict[str, StructureSet] = {REFERENCE: reference, **tests}
    for structure_set in sets.values():
        check_frame_of_reference(structure_set, geometry)
    # The CT series' own findings (skipped files, jitter, thickness) come first.
    warnings = list(geometry.warnings)
    warnings += [w for s in sets.values() for w in consistency_warnings(s, geometry)]

    structures = _unique_names(reference)
    chosen = {
        label: {
            name: _find_roi(structure_set, name, (structure_map or {}).get(label, {}))
            for name in structures
        }
        for label, structure_set in sets.items()
    }
    labels = list(sets)
    pair_labels = [(REFERENCE, b) for b in labels[1:]]
    if pairwise:  # and every test set against every later one
        pair_labels += [(a, b) for i, a in enumerate(labels[1:], 1) for b in labels[i + 1 :]]
    n_masks = sum(roi is not None for rois in chosen.values() for roi in rois.values())
    total = n_masks + len(structures) * len(pair_labels)
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    prepared: dict[tuple[str, str], PreparedStructure | None] = {}
    for label, rois in chosen.items():
        for name, roi in rois.items():
            if roi is None:
                prepared[label, name] = None
                continue
            mask = rasterise(roi, geometry, rule=rule, source=sets[label].file)
            warnings.extend(mask.warnings)
            polygons = slice_polygons(roi, geometry, source=sets[label].file)
            prepared[label, name] = prepare_mask(mask, polygons)
            step()

    pairs = []
    with Threads(threads) as pool:
        for name in structures:

            def compare(labels_pair: tuple[str, str], name: str = name) -> PairMetrics:
                first, second = labels_pair
                return _compare_or_missing(
                    prepared[first, name], prepared[second, name], taus, hd95, convention
                )

            computed = pool.map(compare, pair_labels)
            for (first, second), metrics in zip(pair_labels, computed, strict=True):
                pairs.append(
                    PairResult(
                        structure=name,
                        first=first,
                        second=second,
                        first_roi=_roi_name(chosen[first][name]),
                        second_roi=_roi_name(chosen[second][name]),
                        metrics=metrics,
                    )
                )
                step()
            # Every pair of this structure is done: free its search arrays (they are the size
            # of its bounding box) before the next structure's are built; the test sets' ones
            # before ``on_structure``, since a consensus is compared with the reference only.
            for label in labels[1:]:
                _release(prepared[label, name])
            if on_structure is not None:
                on_structure(name, {label: prepared[label, name] for label in labels})
            _release(prepared[REFERENCE, name])

    return CaseResult(
        structures=tuple(structures),
        set_labels=tuple(labels),
        pairs=tuple(pairs),
        volumes_cc={
            key: (value.mask.volume_cc if value is not None else None)
            for key, value in prepared.items()
        },
        warnings=tuple(_unique(warnings)),
        taus=tuple(float(t) for t in taus),
        hd95_method=hd95,
        convention=convention,
    )


def _release(structure: PreparedStructure | None) -> None:
    if structure is not None:
        structure.release()


def _unique(issues: list[EngineIssue]) -> list[EngineIssue]:
    """The same file compared twice must not repeat its warnings."""
    seen: list[EngineIssue] = []
    for issue in issues:
        if issue not in seen:
            seen.append(issue)
    return seen


def _unique_names(structure_set: StructureSet) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for roi in structure_set.rois:
        key = roi.name.strip().casefold()
        if key not in seen:
            seen.add(key)
            names.append(roi.name)
    return names


def _find_roi(structure_set: StructureSet, name: str, mapping: Mapping[str, str]) -> ROI | None:
    mapped = {k.strip().casefold(): v for k, v in mapping.items()}.get(name.strip().casefold())
    if mapped is not None:
        roi = structure_set.get(mapped)
        if roi is None:
            raise EngineError("unknown_structure", structure_set.file, roi=mapped)
        return roi
    return structure_set.get(name)


def _roi_name(roi: ROI | None) -> str | None:
    return roi.name if roi is not None else None


def _compare_or_missing(
    first: PreparedStructure | None,
    second: PreparedStructure | None,
    taus: tuple[float, ...],
    hd95: HD95Method,
    convention: Convention,
) -> PairMetrics:
    if first is None or second is None:
        status = "reference_missing" if first is None else "test_missing"
        return PairMetrics(
            status=status,
            convention=convention,
            hd95_method=hd95,
            reference_touches_scan_end=first is not None and first.mask.touches_scan_end,
            test_touches_scan_end=second is not None and second.mask.touches_scan_end,
        )
    return compare_prepared(first, second, taus=taus, hd95=hd95, convention=convention)
