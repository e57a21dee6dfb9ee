"""Presentation of a case's comparison results: tables, charts, agreement matrix.

Used by the results page and by the PDF report, so both show the same figures.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contouring.models import ClinicalCase, ComparisonResult, ResultKind, Submission
from onco_hdf import charts
from onco_hdf.numbers import format_number


@dataclass(frozen=True)
class Metric:
    field: str
    label: str
    unit: str
    decimals: int
    higher_is_better: bool | None
    default: bool  # shown until the user chooses the columns, and in the PDF's main table


# Every figure of a ComparisonResult (DESIGN.md §6), in the order of the tables.
METRICS = (
    Metric("dsc", "DSC", "", 3, True, True),
    Metric("jaccard", "Jaccard", "", 3, True, False),
    Metric("sensitivity", gettext_lazy("Sensitivity"), "", 3, True, False),
    Metric("false_positive_cc", gettext_lazy("False-positive volume"), "cm³", 2, False, False),
    Metric("hausdorff_mm", "HD", "mm", 1, False, False),
    Metric("hd95_mm", "HD95", "mm", 1, False, True),
    Metric("msd_mm", "MSD", "mm", 2, False, True),
    Metric("surface_dsc_1mm", "sDSC@1 mm", "", 3, True, False),
    Metric("surface_dsc_2mm", "sDSC@2 mm", "", 3, True, True),
    Metric("surface_dsc_3mm", "sDSC@3 mm", "", 3, True, False),
    Metric("apl_1mm", "APL@1 mm", "mm", 0, False, False),
    Metric("apl_2mm", "APL@2 mm", "mm", 0, False, True),
    Metric("apl_3mm", "APL@3 mm", "mm", 0, False, False),
    Metric("centroid_distance_mm", gettext_lazy("Centroid distance"), "mm", 1, False, False),
    Metric("reference_volume_cc", gettext_lazy("Reference volume"), "cm³", 1, None, False),
    Metric("test_volume_cc", gettext_lazy("Solution volume"), "cm³", 1, None, False),
    Metric("volume_ratio", gettext_lazy("Volume ratio"), "", 2, None, True),
)
METRIC_BY_FIELD = {m.field: m for m in METRICS}
DEFAULT_COLUMNS = tuple(m.field for m in METRICS if m.default)
# (field, label, unit, decimals, higher is better) of the default columns.
TABLE_METRICS = tuple(
    (m.field, m.label, m.unit, m.decimals, m.higher_is_better) for m in METRICS if m.default
)


# The PDF annex splits the full table into groups that fit a landscape A4 page.
ANNEX_GROUPS = (
    (
        gettext_lazy("Overlap and volumes"),
        ("dsc", "jaccard", "sensitivity", "false_positive_cc", "reference_volume_cc",
         "test_volume_cc", "volume_ratio"),
    ),
    (gettext_lazy("Distances"), ("hausdorff_mm", "hd95_mm", "msd_mm", "centroid_distance_mm")),
    (
        gettext_lazy("Surface agreement at each tolerance"),
        ("surface_dsc_1mm", "surface_dsc_2mm", "surface_dsc_3mm", "apl_1mm", "apl_2mm",
         "apl_3mm"),
    ),
)  # fmt: skip


def metric_decimals(field_name: str) -> int:
    """Decimals of a metric, the same in the tables, the charts and the PDF."""
    metric = METRIC_BY_FIELD.get(field_name)
    return metric.decimals if metric else 2


def chosen_metrics(columns) -> tuple[Metric, ...]:
    """The metrics of ``columns`` (field names) in table order; the defaults if none."""
    wanted = {c for c in columns or () if c in METRIC_BY_FIELD}
    return tuple(m for m in METRICS if m.field in wanted) or tuple(
        METRIC_BY_FIELD[f] for f in DEFAULT_COLUMNS
    )


def status_reason(status: str) -> str:
    return {
        "ok": "",
        "test_missing": _("structure absent from this solution"),
        "test_empty": _("structure empty in this solution"),
        "reference_empty": _("structure empty in the reference"),
        "reference_missing": _("structure absent from the reference"),
        "both_empty": _("structure empty on both sides"),
    }.get(status, status)


def metric_colour(field_name: str, value: float | None) -> str:
    """Background of a table cell: green good, amber fair, red poor (by usual thresholds)."""
    if value is None:
        return ""
    if field_name in ("dsc", "surface_dsc_2mm"):
        good, fair = (0.85, 0.7) if field_name == "dsc" else (0.9, 0.75)
        level = 0 if value >= good else 1 if value >= fair else 2
    elif field_name in ("hd95_mm", "msd_mm"):
        good, fair = (5, 10) if field_name == "hd95_mm" else (2, 4)
        level = 0 if value <= good else 1 if value <= fair else 2
    elif field_name == "volume_ratio":
        gap = abs(value - 1)
        level = 0 if gap <= 0.1 else 1 if gap <= 0.3 else 2
    else:
        return ""
    return ("metric-good", "metric-fair", "metric-poor")[level]


@dataclass
class Cell:
    submission: Submission
    result: ComparisonResult | None
    # (field, value, CSS class, value as written)
    values: list[tuple[str, float | None, str, str]] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return status_reason(self.result.status) if self.result else _("not computed")

    @property
    def touches_scan_end(self) -> bool:
        return bool(self.result and self.result.touches_scan_end)


@dataclass
class CaseResults:
    case: ClinicalCase
    submissions: list[Submission]
    structures: list
    rows: list[tuple[object, list[Cell]]]
    consensus: dict[int, ComparisonResult]
    flat: list[ComparisonResult]
    pairs: list[ComparisonResult]
    staple: dict[int, ComparisonResult] = field(default_factory=dict)

    def consensus_rows(self) -> list:
        """(structure, majority-vote row, STAPLE row) per structure; empty without any."""
        if not self.consensus and not self.staple:
            return []
        return [(s, self.consensus.get(s.pk), self.staple.get(s.pk)) for s in self.structures]

    @property
    def has_results(self) -> bool:
        return bool(self.flat)

    def column_labels(self) -> list[str]:
        return [s.short_label for s in self.submissions]

    def scan_end_structures(self) -> list[str]:
        """Names of the structures (in table order) that reach the first or last CT slice
        in the reference or in a solution shown."""
        return [
            structure.name
            for structure, cells in self.rows
            if any(cell.touches_scan_end for cell in cells)
        ]

    def scan_end_note(self) -> str:
        """The caveat under the tables, "" when no structure reaches the CT's ends."""
        names = self.scan_end_structures()
        if not names:
            return ""
        return _(
            "Structures that touch the first or last CT slice (marked “CT end”): %(names)s. "
            "Distances near the scan's end are bounded by the CT extent."
        ) % {"names": ", ".join(names)}

    def values(self, field_name: str) -> list[list[float | None]]:
        return [
            [getattr(c.result, field_name, None) if c.result else None for c in cells]
            for _structure, cells in self.rows
        ]

    def heatmap(self, field_name: str, title: str, **kwargs) -> charts.Svg:
        kwargs.setdefault("decimals", metric_decimals(field_name))
        return charts.heatmap(
            [s.name for s in self.structures],
            self.column_labels(),
            self.values(field_name),
            title=title,
            **kwargs,
        )

    def box_plot(self, field_name: str, title: str, unit: str = "") -> charts.Svg:
        groups = []
        for index, submission in enumerate(self.submissions):
            values = [
                cells[index].result and getattr(cells[index].result, field_name)
                for _s, cells in self.rows
            ]
            groups.append((submission.short_label, [v for v in values if v is not None]))
        return charts.box_plot(groups, title=title, unit=unit)

    def agreement_matrix(self) -> tuple[list[str], list[list[float | None]]]:
        """Mean DSC over the structures for each pair of solutions (1 on the diagonal)."""
        labels = self.column_labels()
        index = {s.pk: i for i, s in enumerate(self.submissions)}
        sums: dict[tuple[int, int], list[float]] = {}
        for row in self.pairs:
            if row.dsc is None or row.test_id not in index or row.other_id not in index:
                continue
            a, b = index[row.other_id], index[row.test_id]
            sums.setdefault((a, b), []).append(row.dsc)
            sums.setdefault((b, a), []).append(row.dsc)
        size = len(labels)
        matrix = [
            [
                1.0 if i == j else (statistics.fmean(sums[i, j]) if (i, j) in sums else None)
                for j in range(size)
            ]
            for i in range(size)
        ]
        return labels, matrix

    def agreement_heatmap(self) -> charts.Svg:
        labels, matrix = self.agreement_matrix()
        return charts.heatmap(
            labels,
            labels,
            matrix,
            title=_("Agreement between solutions (mean DSC over the structures)"),
            vmin=0,
            vmax=1,
            decimals=metric_decimals("dsc"),
        )

    def lowest_agreement(self, count: int = 2) -> list:
        """The structures whose median DSC against the reference is the lowest."""
        scored = []
        for structure, cells in self.rows:
            values = [c.result.dsc for c in cells if c.result and c.result.dsc is not None]
            if values:
                scored.append((statistics.median(values), structure))
        scored.sort(key=lambda item: item[0])
        return [structure for _score, structure in scored[:count]]

    def solution_summary(self) -> list[dict]:
        out = []
        for index, submission in enumerate(self.submissions):
            results = [cells[index].result for _s, cells in self.rows if cells[index].result]
            dscs = [r.dsc for r in results if r.status == "ok" and r.dsc is not None]
            hd95s = [r.hd95_mm for r in results if r.hd95_mm is not None]
            out.append(
                {
                    "submission": submission,
                    "compared": len(results),
                    "missing": sum(1 for r in results if r.status != "ok"),
                    "median_dsc": statistics.median(dscs) if dscs else None,
                    "min_dsc": min(dscs) if dscs else None,
                    "median_hd95": statistics.median(hd95s) if hd95s else None,
                    "max_hd95": max(hd95s) if hd95s else None,
                }
            )
        return out


@dataclass
class WarningGroup:
    label: str
    submission: Submission | None
    messages: list[str]


def engine_warnings(run, submissions: list[Submission], *, reference: bool = True) -> list:
    """The run's engine warnings grouped by submission (only ``submissions``), reference first.

    Warnings stored by older runs as plain text, without their submission, go with the
    reference's group ("the case").
    """
    if run is None:
        return []
    by_pk: dict[int | None, list[str]] = {}
    for item in run.warnings or []:
        if isinstance(item, str):
            by_pk.setdefault(None, []).append(item)
        else:
            by_pk.setdefault(item.get("submission"), []).append(item.get("message", ""))
    groups = []
    if reference and by_pk.get(None):
        groups.append(WarningGroup(_("Reference and CT"), None, by_pk[None]))
    for submission in submissions:
        if by_pk.get(submission.pk):
            groups.append(WarningGroup(submission.short_label, submission, by_pk[submission.pk]))
    return groups


def case_results(
    case: ClinicalCase,
    results,
    submissions: list[Submission],
    metrics: tuple[Metric, ...] | None = None,
    structure_ids: set[int] | None = None,
) -> CaseResults:
    """Arrange the visible ``results`` of ``case`` for ``submissions`` (the columns).

    ``metrics`` are the figures of each cell (the default columns if None);
    ``structure_ids`` keeps only those structures (a filter of the results page).
    """
    metrics = metrics or chosen_metrics(None)
    structures = list(case.structures.filter(is_compared=True))
    if structure_ids:
        structures = [s for s in structures if s.pk in structure_ids]
    rows_by_key: dict[tuple[int, int], ComparisonResult] = {}
    consensus: dict[int, ComparisonResult] = {}
    staple: dict[int, ComparisonResult] = {}
    pairs = []
    flat = []
    for row in results:
        if row.kind == ResultKind.VS_REFERENCE:
            rows_by_key[row.structure_id, row.test_id] = row
            flat.append(row)
        elif row.kind == ResultKind.CONSENSUS:
            consensus[row.structure_id] = row
        elif row.kind == ResultKind.STAPLE:
            staple[row.structure_id] = row
        else:
            pairs.append(row)
    rows = []
    for structure in structures:
        cells = []
        for submission in submissions:
            result = rows_by_key.get((structure.pk, submission.pk))
            values = []
            for metric in metrics:
                value = getattr(result, metric.field) if result else None
                values.append(
                    (
                        metric.field,
                        value,
                        metric_colour(metric.field, value),
                        format_number(value, metric.decimals),
                    )
                )
            cells.append(Cell(submission, result, values))
        rows.append((structure, cells))
    return CaseResults(case, submissions, structures, rows, consensus, flat, pairs, staple)


def metric_headers(metrics: tuple[Metric, ...] | None = None) -> list[dict]:
    return [
        {"field": m.field, "label": m.label, "unit": m.unit, "decimals": m.decimals}
        for m in (metrics or chosen_metrics(None))
    ]
