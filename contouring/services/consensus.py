"""Consensus of the solutions (majority vote, STAPLE): metrics and RTSTRUCT export."""

from __future__ import annotations

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


def _stacked(masks: list[Mask]) -> tuple[np.ndarray, np.ndarray]:
    """The masks on their union bounding box: (lower corner, array of shape (n, z, y, x))."""
    lo = np.min([m.offset for m in masks], axis=0)
    hi = np.max([np.add(m.offset, m.data.shape) for m in masks], axis=0)
    stack = np.zeros((len(masks), *tuple(hi - lo)), dtype=np.uint8)
    for index, mask in enumerate(masks):
        window = tuple(
            slice(o - low, o - low + s)
            for o, low, s in zip(mask.offset, lo, mask.data.shape, strict=True)
        )
        stack[index][window] = mask.data
    return lo, stack


def staple(masks: list[Mask], voters: int, geometry: CTGeometry) -> Mask:
    """SimpleITK's STAPLE estimate (probability ≥ 0.5) of ``voters`` solutions' masks."""
    import SimpleITK as sitk

    if not masks:
        return Mask.from_array(
            np.zeros((0, 0, 0), bool), geometry.spacing, grid_shape=geometry.shape
        )
    lo, stack = _stacked(masks)
    images = [sitk.GetImageFromArray(layer) for layer in stack]
    # Absent solutions vote "outside" everywhere, as in the majority vote.
    images += [sitk.GetImageFromArray(np.zeros_like(stack[0]))] * (voters - len(masks))
    estimator = sitk.STAPLEImageFilter()
    estimator.SetForegroundValue(1.0)
    probability = sitk.GetArrayFromImage(estimator.Execute(images))
    return Mask.from_array(
        probability >= 0.5,
        geometry.spacing,
        offset=tuple(int(v) for v in lo),
        grid_shape=geometry.shape,
    )


def majority_vote(masks: list[Mask], voters: int, geometry: CTGeometry) -> Mask:
    if not masks:
        return Mask.from_array(
            np.zeros((0, 0, 0), bool), geometry.spacing, grid_shape=geometry.shape
        )
    lo, stack = _stacked(masks)
    return Mask.from_array(
        stack.sum(axis=0, dtype=np.uint16) * 2 > voters,
        geometry.spacing,
        offset=tuple(int(v) for v in lo),
        grid_shape=geometry.shape,
    )


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
