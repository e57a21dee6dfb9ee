"""Consensus of the solutions (majority vote, STAPLE): metrics and RTSTRUCT export."""

from __future__ import annotations

import math
import shutil
from collections.abc import Mapping

import numpy as np
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from contouring.engine.geometry import CTGeometry, load_ct_series
from contouring.engine.metrics import PairMetrics, PreparedStructure, compare_prepared, prepare
from contouring.engine.options import REFERENCE
from contouring.engine.raster import Mask, rasterise
from contouring.engine.rtstruct import read_rtstruct
from contouring.models import (
    ClinicalCase,
    ResultKind,
)
from contouring.services.common import (
    CONSENSUS_MIN_SOLUTIONS,
    HD95_METHOD,
    TAUS,
    _renamed,
    local_paths,
    staging_dir,
)
from contouring.services.submissions import (
    comparison_ready_submissions,
)


def structure_consensus(
    geometry: CTGeometry,
    prepared: Mapping[str, PreparedStructure | None],
    masks_out: dict[str, Mask] | None = None,
) -> dict[str, PairMetrics]:
    """Majority vote and STAPLE consensus of the solutions, each against the reference.

    ``prepared`` is one structure's prepared masks from :func:`compare_case` (reference
    first, then every solution; None where a set lacks the structure), reused rather than
    rasterised again. Majority: a voxel in more than half of the solutions. STAPLE:
    SimpleITK's expectation-maximisation estimate of the true segmentation (probability
    ≥ 0.5). A solution without the structure votes "outside" everywhere in both. The
    consensus masks go into ``masks_out`` (kind → mask) for the DVHs.
    """
    prepared_reference = prepared.get(REFERENCE)
    if prepared_reference is None:
        return {}
    tests = [value for label, value in prepared.items() if label != REFERENCE]
    present = [p.mask for p in tests if p is not None and not p.mask.is_empty]
    built = build_consensus_masks(present, len(tests), geometry)
    if masks_out is not None:
        masks_out.update(built)
    return {
        kind: compare_prepared(prepared_reference, prepare(consensus), taus=TAUS, hd95=HD95_METHOD)
        for kind, consensus in built.items()
    }


def _union_box(masks: list[Mask]) -> tuple[np.ndarray, np.ndarray]:
    """The union bounding box of ``masks``: (lower corner, shape)."""
    lo = np.min([m.offset for m in masks], axis=0)
    hi = np.max([np.add(m.offset, m.data.shape) for m in masks], axis=0)
    return lo, hi - lo


def _window(mask: Mask, lo: np.ndarray) -> tuple[slice, ...]:
    """Where ``mask``'s box lies in the union box at ``lo``."""
    return tuple(
        slice(o - low, o - low + s)
        for o, low, s in zip(mask.offset, lo, mask.data.shape, strict=True)
    )


def _stacked(masks: list[Mask]) -> tuple[np.ndarray, np.ndarray]:
    """The masks on their union bounding box: (lower corner, array of shape (n, z, y, x))."""
    lo, shape = _union_box(masks)
    stack = np.zeros((len(masks), *shape), dtype=np.uint8)
    for index, mask in enumerate(masks):
        stack[index][_window(mask, lo)] = mask.data
    return lo, stack


def _on_box(data: np.ndarray, lo: np.ndarray, geometry: CTGeometry) -> Mask:
    return Mask.from_array(
        data, geometry.spacing, offset=tuple(int(v) for v in lo), grid_shape=geometry.shape
    )


def _nothing(geometry: CTGeometry) -> Mask:
    return Mask.from_array(np.zeros((0, 0, 0), bool), geometry.spacing, grid_shape=geometry.shape)


def staple(masks: list[Mask], voters: int, geometry: CTGeometry) -> Mask:
    """SimpleITK's STAPLE estimate (probability ≥ 0.5) of ``voters`` solutions' masks, on
    their union bounding box (absent solutions vote "outside" everywhere).

    The same expectation-maximisation is run on the vote patterns (see
    :func:`_staple_patterns`); SimpleITK runs it on the voxels when that cannot be sure
    to give its mask (too many solutions, a pattern too close to 0.5)."""
    if not masks:
        return _nothing(geometry)
    if len(masks) <= _PATTERN_MASKS_MAX:
        lo, codes = _vote_codes(masks)
        inside = _staple_patterns(codes, len(masks), voters)
        if inside is not None:
            return _on_box(inside, lo, geometry)
        del codes
    return _on_box(_staple_sitk(masks, voters), _union_box(masks)[0], geometry)


def _staple_sitk(masks: list[Mask], voters: int) -> np.ndarray:
    """SimpleITK's STAPLE on the union box: the voxels with probability ≥ 0.5."""
    import SimpleITK as sitk

    _lo, stack = _stacked(masks)
    images = [sitk.GetImageFromArray(layer) for layer in stack]
    # Absent solutions vote "outside" everywhere, as in the majority vote.
    images += [sitk.GetImageFromArray(np.zeros_like(stack[0]))] * (voters - len(masks))
    del stack
    estimator = sitk.STAPLEImageFilter()
    estimator.SetForegroundValue(1.0)
    probability = estimator.Execute(images)
    return sitk.GetArrayViewFromImage(probability) >= 0.5


# Up to this many masks, STAPLE runs on the 2**n vote patterns of the voxels.
_PATTERN_MASKS_MAX = 12
# SimpleITK's STAPLE (itk::STAPLEImageFilter) stops once every sensitivity and specificity
# moved by at most 1e-7 in an iteration (squared change ≤ 1e-14). Its figures and ours can
# differ by a few such steps (the rounding of its long sums can change when it stops), so
# a decision must hold for sensitivities and specificities this far from ours.
_STAPLE_TOLERANCE = 100 * 1.0e-7
_SLAB_VOXELS = 1 << 21


def _vote_codes(masks: list[Mask]) -> tuple[np.ndarray, np.ndarray]:
    """Each voxel of the union box as its vote pattern: bit ``i`` set where mask ``i`` has it."""
    lo, shape = _union_box(masks)
    dtype = np.uint8 if len(masks) <= 8 else np.uint16
    codes = np.zeros(shape, dtype=dtype)
    for index, mask in enumerate(masks):
        window = codes[_window(mask, lo)]
        np.bitwise_or(window, dtype(1 << index), out=window, where=mask.data)
    return lo, codes


def _probability(prior: float, p, q, votes: list[np.ndarray]) -> np.ndarray:
    """itk::STAPLEImageFilter's probability of each pattern, its products in its order."""
    alpha, beta = np.ones(len(votes[0])), np.ones(len(votes[0]))
    for vote, p_i, q_i in zip(votes, p, q, strict=True):
        alpha *= np.where(vote, p_i, 1.0 - p_i)
        beta *= np.where(vote, 1.0 - q_i, q_i)
    return prior * alpha / (prior * alpha + (1.0 - prior) * beta)


def _staple_patterns(codes: np.ndarray, present: int, voters: int) -> np.ndarray | None:
    """STAPLE's estimate (probability ≥ 0.5) from the voxels' vote patterns, or None when
    it could differ from SimpleITK's.

    itk::STAPLEImageFilter's expectation-maximisation treats every voxel alike given its
    votes: its sums over voxels are sums over patterns weighted by their voxel counts
    (summed exactly here), its probabilities the same products in the same order. Only
    the rounding of its long sums differs; a sensitivity or specificity of exactly 0 or 1
    is exact on both sides (its sums add the same terms and zeros). Each pattern's decision
    must hold for every sensitivity and specificity within ``_STAPLE_TOLERANCE`` of ours
    (the probability is monotonic in each, so two corners bound it); else None.
    """
    flat = codes.reshape(-1)
    counts = np.zeros(1 << present, dtype=np.int64)
    for start in range(0, flat.size, _SLAB_VOXELS):  # bincount copies to intp: by slabs
        counts += np.bincount(flat[start : start + _SLAB_VOXELS], minlength=len(counts))
    patterns = np.flatnonzero(counts)
    weight = counts[patterns].astype(float)
    # votes[i]: rater i (present masks, then absent solutions) has the pattern's voxels.
    votes = [((patterns >> i) & 1).astype(bool) for i in range(present)]
    votes += [np.zeros(len(patterns), bool)] * (voters - present)
    w = sum(v.astype(float) for v in votes) / voters
    prior = math.fsum(weight * w) / float(weight.sum())
    p, q = np.zeros(voters), np.zeros(voters)
    last_p, last_q = np.full(voters, -10.0), np.full(voters, -10.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        for iteration in range(4294967295):
            inside, outside = weight * w, weight * (1.0 - w)
            inside_sum, outside_sum = math.fsum(inside), math.fsum(outside)
            for i, vote in enumerate(votes):
                p[i] = math.fsum(inside[vote]) / inside_sum
                q[i] = math.fsum(outside[~vote]) / outside_sum
            w = _probability(prior, p, q, votes)
            converged = iteration != 0 and bool(
                np.all((p - last_p) ** 2 <= 1e-14) and np.all((q - last_q) ** 2 <= 1e-14)
            )
            last_p, last_q = p.copy(), q.copy()
            if converged:
                break
        bounds = []
        for sign in (1.0, -1.0):  # towards "inside" for a vote, then the other way
            bounds.append(
                _probability(
                    prior,
                    [_moved(p_i, sign, vote) for p_i, vote in zip(p, votes, strict=True)],
                    [_moved(q_i, sign, vote) for q_i, vote in zip(q, votes, strict=True)],
                    votes,
                )
            )
    decided = w >= 0.5
    if not all(np.array_equal(bound >= 0.5, decided) for bound in bounds) or np.isnan(w).any():
        return None
    table = np.zeros(len(counts), dtype=bool)
    table[patterns] = decided
    return table[codes]


def _moved(value: float, sign: float, vote: np.ndarray) -> np.ndarray | float:
    """``value`` moved by the tolerance, up where ``vote`` (times ``sign``), within [0, 1]."""
    if value in (0.0, 1.0):  # exact on both sides
        return value
    return np.clip(value + np.where(vote, sign, -sign) * _STAPLE_TOLERANCE, 0.0, 1.0)


def majority_vote(masks: list[Mask], voters: int, geometry: CTGeometry) -> Mask:
    """The voxels in more than half of ``voters`` solutions' masks."""
    if not masks:
        return _nothing(geometry)
    lo, shape = _union_box(masks)
    count = np.zeros(shape, dtype=np.uint16)
    for mask in masks:
        window = count[_window(mask, lo)]
        np.add(window, 1, out=window, where=mask.data)
    return _on_box(count * 2 > voters, lo, geometry)


def build_consensus_masks(masks: list[Mask], voters: int, geometry: CTGeometry) -> dict[str, Mask]:
    """Both consensus of one structure, by result kind ("consensus": majority vote, "staple")."""
    return {
        ResultKind.CONSENSUS.value: majority_vote(masks, voters, geometry),
        ResultKind.STAPLE.value: staple(masks, voters, geometry),
    }


CONSENSUS_BUILDERS = {"majority": ResultKind.CONSENSUS, "staple": ResultKind.STAPLE}


def consensus_rtstruct(*, case: ClinicalCase, method: str) -> bytes:
    """An RTSTRUCT (rt-utils) of the case's consensus, one ROI per compared structure.

    Built on the case's stored (de-identified) CT series, from the current submissions
    with a confirmed mapping, so a physicist can load it in a planning system.
    """
    from rt_utils import RTStructBuilder

    submissions = list(
        comparison_ready_submissions(case)
        .select_related("solution", "centre")
        .prefetch_related("mappings__roi")
    )
    if len(submissions) < CONSENSUS_MIN_SOLUTIONS:
        raise ValidationError(
            _("A consensus needs at least three solutions with a confirmed mapping."),
            code="too_few_solutions",
        )
    build = majority_vote if method == "majority" else staple
    structures = list(case.structures.filter(is_compared=True))
    with local_paths(case.ct_files) as ct_paths:
        geometry = load_ct_series(ct_paths)
        tests = []
        for submission in submissions:
            mapping = {
                m.roi.roi_number: m.structure.name
                for m in submission.mappings.all()
                if m.roi is not None and m.structure.is_compared
            }
            with local_paths([submission.file.name]) as (path,):
                tests.append(_renamed(read_rtstruct(path), mapping))
        with staging_dir() as folder:
            series = folder / "ct"
            series.mkdir()
            for index, path in enumerate(ct_paths):
                shutil.copyfile(path, series / f"CT{index:04d}.dcm")
            rtstruct = RTStructBuilder.create_new(dicom_series_path=str(series))
            for structure in structures:
                masks = [
                    rasterise(roi, geometry)
                    for structure_set in tests
                    if (roi := structure_set.get(structure.name)) is not None
                ]
                mask = build([m for m in masks if not m.is_empty], len(tests), geometry)
                dense = np.zeros(geometry.shape, dtype=bool)
                if not mask.is_empty:
                    window = tuple(
                        slice(o, o + n) for o, n in zip(mask.offset, mask.data.shape, strict=True)
                    )
                    dense[window] = mask.data
                if not dense.any():
                    continue
                # rt-utils wants (rows, columns, slices), slices sorted by z like the grid.
                rtstruct.add_roi(
                    mask=np.transpose(dense, (1, 2, 0)),
                    name=f"{structure.name}_{method}"[:64],
                    color=[int(structure.colour[i : i + 2], 16) for i in (1, 3, 5)],
                )
            target = folder / "consensus.dcm"
            rtstruct.save(str(target))
            return target.read_bytes()
