"""Dosimetric impact of the contours: the clinical objectives of a case's structures and
the DVH statistics of every contour set on the case's one reference dose.

The engine computes (:mod:`contouring.engine.dvh`, CT-grid method: the structure masks
are those of the geometric metrics, the dose interpolated trilinearly at each CT voxel
centre, whole voxels, no binning for the statistics); this module decides which levels
to compute and turns the results into rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

import numpy as np

from contouring.engine.dvh import DoseGrid, DVHResult, dvh_on_ct_grid
from contouring.engine.geometry import CTGeometry
from contouring.engine.raster import Mask, rasterise
from contouring.engine.rtstruct import StructureSet
from contouring.models import CaseStructure, ClinicalCase, ClinicalObjective, ObjectiveMetric
from contouring.naming import normalise, standard_name

CURVE_POINTS = 120
BIN_WIDTH_GY = 0.01
REFERENCE_KEY = "reference"
CONSENSUS_KEY = "consensus"


def level_key(level: float) -> str:
    return f"{level:g}"


def objective_applies(objective: ClinicalObjective, structure_name: str) -> bool:
    """Whether a TG-263-named objective is about the case structure ``structure_name``.

    Same TG-263 name (through the synonyms: "Lt Lung" is Lung_L), or, for targets, a name
    that starts with the objective's ("PTV_50" and "PTV 50Gy" for "PTV").
    """
    wanted = normalise(objective.structure)
    name = normalise(structure_name)
    if name == wanted:
        return True
    standard = standard_name(structure_name)
    if standard is not None and normalise(standard) == wanted:
        return True
    return wanted in ("ptv", "ctv", "gtv", "itv") and name.split(" ")[0] == wanted


def objectives_for_case(
    case: ClinicalCase, structures: Iterable[CaseStructure]
) -> dict[int, list[ClinicalObjective]]:
    """The objectives of each structure (by id) for the case's site."""
    objectives = [o for o in ClinicalObjective.objects.all() if o.site in ("", case.site)]
    return {s.pk: [o for o in objectives if objective_applies(o, s.name)] for s in structures}


def dose_levels(objectives: Iterable[ClinicalObjective]) -> list[float]:
    return sorted({o.level for o in objectives if o.metric == ObjectiveMetric.V_GY})


def objective_value(objective: ClinicalObjective, row) -> float | None:
    """The figure of a :class:`StructureDose` row that the objective judges."""
    if row is None or not row.has_dose:
        return None
    if objective.metric == ObjectiveMetric.DMEAN:
        return row.dmean_gy
    if objective.metric == ObjectiveMetric.DMAX:
        return row.dmax_gy
    if objective.metric == ObjectiveMetric.DMIN:
        return row.dmin_gy
    if objective.metric == ObjectiveMetric.V_GY:
        pair = row.v_gy.get(level_key(objective.level))
        return pair[1] if pair else None
    return dose_at_percent(row, objective.level)


def dose_at_percent(row, percent: float) -> float | None:
    """Dx %: the stored value for 2, 50, 95, 98 %, else read on the stored curve."""
    stored = {2.0: row.d2_gy, 50.0: row.d50_gy, 95.0: row.d95_gy, 98.0: row.d98_gy}
    if float(percent) in stored:
        return stored[float(percent)]
    doses, volumes = row.curve.get("dose") or [], row.curve.get("volume") or []
    if not doses:
        return None
    # volumes decrease with the dose: the highest dose still covering ``percent`` %.
    covered = [d for d, v in zip(doses, volumes, strict=True) if v >= percent]
    return covered[-1] if covered else doses[0]


def curve(result: DVHResult, points: int = CURVE_POINTS) -> dict[str, list[float]]:
    """The cumulative DVH in % of the dosed volume, resampled on ``points`` doses."""
    if result.mean is None or result.cumulative_cc.size == 0:
        return {}
    total = float(result.cumulative_cc[0])
    top = float(result.dose_edges[-1])
    doses = np.linspace(0.0, top, points)
    index = np.clip(np.searchsorted(result.dose_edges, doses, side="right") - 1, 0, None)
    index = np.minimum(index, result.cumulative_cc.size - 1)
    volume = 100.0 * result.cumulative_cc[index] / total
    volume[doses > (result.peak or 0.0)] = 0.0
    return {
        "dose": [round(float(d), 3) for d in doses],
        "volume": [round(float(v), 3) for v in volume],
    }


def row_values(result: DVHResult) -> dict:
    """The fields of a :class:`StructureDose` row from the engine's result."""
    d = result.d_percent
    return {
        "method": result.method,
        "volume_cc": result.volume_cc,
        "volume_without_dose_cc": result.volume_without_dose_cc,
        "dmean_gy": result.mean,
        "dmin_gy": result.minimum,
        "dmax_gy": result.maximum,
        "dpeak_gy": result.peak,
        "d2_gy": d.get(2.0),
        "d50_gy": d.get(50.0),
        "d95_gy": d.get(95.0),
        "d98_gy": d.get(98.0),
        "v_gy": {level_key(k): [cc, pct] for k, (cc, pct) in result.v_gy.items()},
        "curve": curve(result),
    }


def structure_set_dvhs(
    geometry: CTGeometry,
    dose: DoseGrid,
    reference: StructureSet,
    tests: dict[str, StructureSet],
    structures: list[CaseStructure],
    levels: dict[int, list[float]],
    *,
    consensus: Callable[[list[Mask], int], Mask] | None,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> dict[tuple[str, str], DVHResult]:
    """(structure name, set key) → DVH, for the reference, each test set and the consensus.

    ``consensus(masks, voters)`` builds the consensus mask from the solutions' masks;
    None for no consensus. A set without the structure gets no DVH.
    """
    dose_on_ct = dose.on_ct_grid(geometry)
    voxel_cc = geometry.voxel_volume_mm3 / 1000.0
    out: dict[tuple[str, str], DVHResult] = {}

    def dvh(mask: Mask, name: str, structure: CaseStructure) -> DVHResult:
        return dvh_on_ct_grid(
            dataclasses.replace(mask, name=name),
            dose_on_ct,
            voxel_cc=voxel_cc,
            source=dose.source,
            dose_levels=levels.get(structure.pk, ()),
            bin_width=BIN_WIDTH_GY,
        )

    for index, structure in enumerate(structures):
        ref_roi = reference.get(structure.name)
        if ref_roi is not None:
            out[structure.name, REFERENCE_KEY] = dvh(
                rasterise(ref_roi, geometry), structure.name, structure
            )
        masks = []
        for key, structure_set in tests.items():
            roi = structure_set.get(structure.name)
            if roi is None:
                continue
            mask = rasterise(roi, geometry)
            masks.append(mask)
            out[structure.name, key] = dvh(mask, structure.name, structure)
        if consensus is not None:
            present = [m for m in masks if not m.is_empty]
            out[structure.name, CONSENSUS_KEY] = dvh(
                consensus(present, len(tests)), structure.name, structure
            )
        progress(index + 1, len(structures))
    return out
