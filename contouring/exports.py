"""The full results table of chosen cases as CSV or XLSX (one row per compared pair).

A row is one case × structure × solution × kind of comparison (against the reference,
against another solution, or the consensus against the reference), with every metric
at full precision, the HD95 convention, the tolerances and the engine version that
computed it. Cells go through :func:`onco_hdf.exports.safe_cell` (no formula injection).
"""

from __future__ import annotations

import csv
import io

from django.utils import timezone
from django.utils.translation import gettext as _

from contouring.models import ResultKind
from contouring.results import METRICS, status_reason
from onco_hdf.exports import safe_cell

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _label(submission) -> str:
    return str(submission.solution) if submission else ""


def results_table(cases, results_for) -> tuple[list[str], list[list]]:
    """Header and rows; ``results_for(case)`` gives the rows the reader may see."""
    header = [
        "case",
        "case_pseudonym",
        "structure",
        "comparison",
        "solution",
        "centre",
        "compared_with",
        "compared_with_centre",
        "status",
        "status_reason",
        *[f"{m.field}" for m in METRICS],
        "reference_touches_scan_end",
        "test_touches_scan_end",
        "hd95_convention",
        "taus_mm",
        "engine_version",
        "computed_at",
    ]
    kinds = dict(ResultKind.choices)
    rows = []
    for case in cases:
        queryset = results_for(case).select_related(
            "structure", "run", "test__solution", "test__centre", "other__solution", "other__centre"
        )
        for result in queryset.order_by("structure__position", "kind", "pair_key"):
            if result.kind == ResultKind.CONSENSUS:
                solution, centre = _("Majority-vote consensus"), ""
            elif result.kind == ResultKind.STAPLE:
                solution, centre = _("STAPLE consensus"), ""
            else:
                solution, centre = _label(result.test), result.test.centre.label
            if result.kind == ResultKind.PAIR:
                other, other_centre = _label(result.other), result.other.centre.label
            else:
                other, other_centre = _("Reference"), ""
            run = result.run
            rows.append(
                [
                    case.title,
                    case.pseudonym,
                    result.structure.name,
                    str(kinds.get(result.kind, result.kind)),
                    solution,
                    centre,
                    other,
                    other_centre,
                    result.status,
                    status_reason(result.status),
                    *[getattr(result, m.field) for m in METRICS],
                    int(result.reference_touches_scan_end),
                    int(result.test_touches_scan_end),
                    run.hd95_method if run else "",
                    " / ".join(f"{t:g}" for t in (run.taus if run else [])),
                    run.engine_version if run else "",
                    timezone.localtime(result.computed_at).strftime("%d/%m/%Y %H:%M"),
                ]
            )
    return header, [[safe_cell(c) for c in row] for row in rows]


def export_csv(cases, results_for) -> bytes:
    header, rows = results_table(cases, results_for)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(header)
    writer.writerows(["" if c is None else c for c in row] for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def export_xlsx(cases, results_for) -> bytes:
    from openpyxl import Workbook

    header, rows = results_table(cases, results_for)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Results")[:31]
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    sheet.freeze_panes = "A2"
    legend = workbook.create_sheet(_("Metrics")[:31])
    legend.append(["column", "label", "unit"])
    for metric in METRICS:
        legend.append([metric.field, str(metric.label), metric.unit])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export(cases, results_for, fmt: str) -> tuple[bytes, str, str]:
    builder = {"csv": export_csv, "xlsx": export_xlsx}[fmt]
    stamp = timezone.localtime().strftime("%Y%m%d")
    return builder(cases, results_for), CONTENT_TYPES[fmt], f"resultats-contourage-{stamp}.{fmt}"
