"""Dosimetric impact of the contours: the clinical objectives of a case's structures and
the DVH statistics of every contour set on the case's one reference dose.

The engine computes (:mod:`contouring.engine.dvh`, CT-grid method: the structure masks
are those of the geometric metrics, the dose interpolated trilinearly at each CT voxel
centre, whole voxels, no binning for the statistics); this module decides which levels
to compute and turns the results into rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from contouring.engine.dvh import DoseGrid, DVHResult, dvhs_on_ct_grid
from contouring.engine.geometry import CTGeometry
from contouring.engine.raster import Mask, rasterise
from contouring.engine.rtstruct import StructureSet
from contouring.models import (
    CaseStructure,
    ClinicalCase,
    ClinicalObjective,
    ObjectiveMetric,
    ResultKind,
)
from contouring.naming import normalise, standard_name

CURVE_POINTS = 120
BIN_WIDTH_GY = 0.01
REFERENCE_KEY = "reference"
# The consensus rows are keyed by the kind of their geometric results.
CONSENSUS_KEY = ResultKind.CONSENSUS.value  # majority vote
STAPLE_KEY = ResultKind.STAPLE.value


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
    consensus: Callable[[str, list[Mask], int], Mapping[str, Mask]] | None,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> dict[tuple[str, str], DVHResult]:
    """(structure name, set key) → DVH, for the reference, each test set and each consensus.

    ``consensus(structure name, masks, voters)`` gives the consensus masks of a structure
    from its solutions' masks, by set key (``CONSENSUS_KEY``, ``STAPLE_KEY``); None for no
    consensus. A set without the structure gets no DVH. The sets of one structure are
    computed together (the voxels they share are read once).
    """
    dose_on_ct = dose.on_ct_grid(geometry)
    voxel_cc = geometry.voxel_volume_mm3 / 1000.0
    out: dict[tuple[str, str], DVHResult] = {}
    for index, structure in enumerate(structures):
        sets: dict[str, Mask] = {}
        ref_roi = reference.get(structure.name)
        if ref_roi is not None:
            sets[REFERENCE_KEY] = rasterise(ref_roi, geometry)
        masks = []
        for key, structure_set in tests.items():
            roi = structure_set.get(structure.name)
            if roi is not None:
                sets[key] = rasterise(roi, geometry)
                masks.append(sets[key])
        if consensus is not None:
            present = [m for m in masks if not m.is_empty]
            sets.update(consensus(structure.name, present, len(tests)))
        results = dvhs_on_ct_grid(
            [dataclasses.replace(mask, name=structure.name) for mask in sets.values()],
            dose_on_ct,
            voxel_cc=voxel_cc,
            source=dose.source,
            dose_levels=levels.get(structure.pk, ()),
            bin_width=BIN_WIDTH_GY,
        )
        out.update(((structure.name, key), r) for key, r in zip(sets, results, strict=True))
        progress(index + 1, len(structures))
    return out


def plan_comparison(
    doses: dict[tuple[str, str], DVHResult], reference: StructureSet, dose: DoseGrid
) -> list[dict]:
    """The reference structures' DVHs beside the planning system's own (``DVHSequence``)."""
    from contouring.engine.dvh import compare_with_plan

    ours = [result for (_name, key), result in doses.items() if key == REFERENCE_KEY]
    return [pair.as_dict() for pair in compare_with_plan(ours, reference.rois, dose)]


# --- Results: the reference against each solution ------------------------------------------
REFERENCE_STYLE = ("#000000", None, 2.4)
CONSENSUS_STYLE = ("#555555", "2 3", 1.6)
STAPLE_STYLE = ("#555555", "8 3 2 3", 1.6)
# The white of the overlays (drawn on the CT) would vanish on the chart's white background.
_ON_WHITE = {"#ffffff": "#777777"}
DELTA_FIELDS = (("dmean_gy", "Dmean"), ("d2_gy", "D2 %"), ("d95_gy", "D95 %"))


def solution_chart_style(index: int) -> tuple[str, str | None, float]:
    from contouring.overlays import solution_style

    colour, dash = solution_style(index)
    hex_colour = "#{:02x}{:02x}{:02x}".format(*colour)
    return _ON_WHITE.get(hex_colour, hex_colour), " ".join(map(str, dash)) if dash else None, 1.6


@dataclass(frozen=True)
class Delta:
    gy: float | None  # Gy (or percentage points of volume for Vx)
    percent: float | None  # relative to the reference's value


def _delta(value: float | None, reference: float | None) -> Delta:
    if value is None or reference is None:
        return Delta(None, None)
    diff = value - reference
    return Delta(diff, 100.0 * diff / reference if reference else None)


@dataclass(frozen=True)
class ObjectiveCheck:
    objective: ClinicalObjective
    reference_value: float | None
    reference_met: bool | None
    value: float | None
    met: bool | None

    @property
    def change(self) -> str:
        """ "missed": met with the reference contour, missed with this one; "met": the reverse."""
        if self.reference_met is None or self.met is None or self.reference_met == self.met:
            return ""
        return "missed" if self.reference_met else "met"


@dataclass(frozen=True)
class DoseLine:
    """One contour set's DVH figures for one structure, with its differences."""

    label: str
    kind: str
    row: object  # StructureDose or None (the set has no such structure)
    colour: str
    dash: str | None
    deltas: tuple[Delta, ...] = ()  # in DELTA_FIELDS order
    v_deltas: tuple[Delta, ...] = ()  # in the structure's level order (percentage points)
    checks: tuple[ObjectiveCheck, ...] = ()

    @property
    def v_cells(self) -> list[tuple[float, float | None, Delta]]:
        """(x, Vx Gy in %, its difference) per level, for the tables."""
        levels = [float(k) for k in sorted((self.row.v_gy or {}), key=float)] if self.row else []
        return [
            (level, _v_pct(self.row, level), d)
            for level, d in zip(levels, self.v_deltas, strict=False)
        ]

    @property
    def changes(self) -> list[ObjectiveCheck]:
        return [c for c in self.checks if c.change]

    @property
    def largest_delta_gy(self) -> float:
        return max((abs(d.gy) for d in self.deltas if d.gy is not None), default=0.0)


@dataclass
class StructureImpact:
    structure: CaseStructure
    levels: list[float]
    objectives: list[ClinicalObjective]
    reference: DoseLine
    lines: list[DoseLine] = field(default_factory=list)
    chart: object = None

    @property
    def largest_delta_gy(self) -> float:
        return max((line.largest_delta_gy for line in self.lines), default=0.0)

    @property
    def all_lines(self) -> list[DoseLine]:
        return [self.reference, *self.lines]

    @property
    def column_count(self) -> int:
        """Columns between the set's name and its objectives (for "no DVH" rows)."""
        return 8 + 2 * len(self.levels)

    @property
    def change_count(self) -> int:
        return sum(len(line.changes) for line in self.lines)


def _v_pct(row, level: float) -> float | None:
    if row is None or not row.has_dose:
        return None
    pair = (row.v_gy or {}).get(level_key(level))
    return pair[1] if pair else None


def _checks(objectives, row, reference_row) -> tuple[ObjectiveCheck, ...]:
    out = []
    for objective in objectives:
        ref_value = objective_value(objective, reference_row)
        value = objective_value(objective, row)
        out.append(
            ObjectiveCheck(
                objective, ref_value, objective.is_met(ref_value), value, objective.is_met(value)
            )
        )
    return tuple(out)


def _line(label, kind, row, style, reference_row, levels, objectives) -> DoseLine:
    colour, dash, _width = style
    if reference_row is None or row is None:
        deltas = tuple(Delta(None, None) for _field in DELTA_FIELDS)
        v_deltas = tuple(Delta(None, None) for _level in levels)
    else:
        has = row.has_dose and reference_row.has_dose
        deltas = tuple(
            _delta(getattr(row, f) if has else None, getattr(reference_row, f) if has else None)
            for f, _label in DELTA_FIELDS
        )
        v_deltas = tuple(
            Delta(
                (v - r)
                if (v := _v_pct(row, lv)) is not None
                and (r := _v_pct(reference_row, lv)) is not None
                else None,
                None,
            )
            for lv in levels
        )
    return DoseLine(
        label, kind, row, colour, dash, deltas, v_deltas, _checks(objectives, row, reference_row)
    )


def dvh_chart(impact: StructureImpact, title: str, x_label: str, y_label: str):
    from onco_hdf.charts import Series, line_chart

    series = []
    for line, width in [(impact.reference, REFERENCE_STYLE[2])] + [
        (line, 1.6) for line in impact.lines
    ]:
        curve_data = (line.row.curve if line.row is not None else None) or {}
        if not curve_data:
            continue
        series.append(
            Series(
                line.label,
                curve_data["dose"],
                curve_data["volume"],
                color=line.colour,
                dash=line.dash,
                width=width,
            )
        )
    top = max((max(s.x) for s in series if s.x), default=1.0)
    return line_chart(
        series,
        title=title,
        x_label=x_label,
        y_label=y_label,
        x_unit="Gy",
        y_unit="%",
        y_max=100.0,
        x_max=top,
    )


def chart_labels() -> dict[str, str]:
    from django.utils.translation import gettext as _

    return {
        "reference": _("Reference"),
        "consensus": _("Majority-vote consensus"),
        "staple": _("STAPLE consensus"),
        "title": _("Cumulative DVH — %(structure)s"),
        "x": _("Dose (Gy)"),
        "y": _("Volume (percent of the structure)"),
    }


def dose_impact(
    case: ClinicalCase,
    rows,
    submissions: list,
    *,
    labels: dict[str, str],
    with_consensus: bool,
) -> list[StructureImpact]:
    """For each compared structure with a reference DVH: the reference, each solution (in
    the overlays' order and colours) and the two consensus (majority vote, STAPLE), with
    ΔD and the objectives.

    ``labels`` names the sets ("reference", "consensus", "staple") and the chart's title
    and axes ("title" with ``%(structure)s``, "x", "y").
    """
    by_key = {(r.structure_id, r.set_key): r for r in rows}
    structures = [s for s in case.structures.all() if s.is_compared]
    objectives = objectives_for_case(case, structures)
    impacts = []
    for structure in structures:
        reference_row = by_key.get((structure.pk, REFERENCE_KEY))
        if reference_row is None:
            continue
        found = objectives.get(structure.pk, [])
        levels = sorted(float(k) for k in (reference_row.v_gy or {}))
        reference = _line(
            labels["reference"], "reference", reference_row, REFERENCE_STYLE, None, levels, found
        )
        impact = StructureImpact(structure, levels, found, reference)
        for index, submission in enumerate(submissions):
            row = by_key.get((structure.pk, f"sub:{submission.pk}"))
            impact.lines.append(
                _line(
                    submission.short_label,
                    "solution",
                    row,
                    solution_chart_style(index),
                    reference_row,
                    levels,
                    found,
                )
            )
        for key, style in ((CONSENSUS_KEY, CONSENSUS_STYLE), (STAPLE_KEY, STAPLE_STYLE)):
            consensus_row = by_key.get((structure.pk, key))
            if with_consensus and consensus_row is not None:
                impact.lines.append(
                    _line(labels[key], key, consensus_row, style, reference_row, levels, found)
                )
        impact.chart = dvh_chart(
            impact, labels["title"] % {"structure": structure.name}, labels["x"], labels["y"]
        )
        impacts.append(impact)
    return impacts
