"""The comparison report (PDF): context builder registered in the reports registry."""

from __future__ import annotations

import base64
import importlib.metadata
import statistics

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from contouring.models import ClinicalCase, Solution
from contouring.overlays import render_overlay, slice_choices, structure_sets_read_once
from contouring.results import (
    ANNEX_GROUPS,
    METRIC_BY_FIELD,
    case_results,
    chosen_metrics,
    engine_warnings,
    metric_decimals,
    metric_headers,
)
from contouring.selectors import current_doses, current_results, latest_finished_run
from contouring.services import HD95_METHOD, TAUS, comparison_ready_submissions
from contouring.stats import BOOTSTRAP, median_iqr, paired_tests, ranking
from onco_hdf import charts, signing
from onco_hdf.jobs import JobInputError
from onco_hdf.numbers import format_number
from onco_hdf.reports import ReportSpec


def _picked(params: dict, prefix: str, listed: str) -> list[int]:
    """Ids ticked as ``p_<prefix>_<id>`` boxes, else the comma list ``p_<listed>``."""
    ticked = [
        int(key.rsplit("_", 1)[1])
        for key in params
        if key.startswith(f"p_{prefix}_") and key.rsplit("_", 1)[1].isdigit()
    ]
    if ticked:
        return sorted(ticked)
    raw = str(params.get(f"p_{listed}", "") or params.get(listed, ""))
    return [int(v) for v in raw.split(",") if v.strip().isdigit()]


def _case_ids(params: dict) -> list[int]:
    return _picked(params, "case", "cases")


def _solution_ids(params: dict) -> list[int]:
    return _picked(params, "solution", "solutions")


def _versions() -> list[tuple[str, str]]:
    from contouring.services import _engine_version

    out = [
        (_("ONCO-HDF platform"), getattr(settings, "PLATFORM_VERSION", "")),
        (_("Contour engine (contouring.engine)"), _engine_version()),
    ]
    for package in ("pydicom", "numpy", "scipy", "Pillow"):
        try:
            out.append((package, importlib.metadata.version(package)))
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def _png_uri(content: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(content).decode("ascii")


def case_section(case: ClinicalCase, overlays: int = 2, solution_ids=None) -> dict:
    ready = comparison_ready_submissions(case)
    if solution_ids:
        ready = ready.filter(solution_id__in=solution_ids)
    submissions = list(
        ready.select_related("solution", "centre", "uploaded_by").prefetch_related("mappings__roi")
    )
    # Fetched once: the main table and each annex group arrange the same rows.
    rows = list(current_results(case).select_related("structure"))
    results = case_results(case, rows, submissions)
    finished = latest_finished_run(case)
    section = {
        "case": case,
        "results": results,
        "submissions": submissions,
        "run": finished,  # the run whose results these are
        "warning_groups": engine_warnings(finished, submissions),
    }
    if not results.has_results:
        return section
    section["dose"] = dose_section(case, submissions)
    lowest = []
    with structure_sets_read_once():
        for structure in results.lowest_agreement(overlays):
            choice = slice_choices(case, structure, submissions)
            if choice is not None:
                k = choice.middle if choice.worst is None else choice.worst
                lowest.append(
                    {
                        "structure": structure,
                        "image": _png_uri(render_overlay(case, structure, submissions, k)),
                        "slice": k + 1,
                    }
                )
    labels, matrix = results.agreement_matrix()
    annex = []
    for title, fields in ANNEX_GROUPS:
        metrics = chosen_metrics(fields)
        grouped = case_results(case, rows, submissions, metrics=metrics)
        annex.append({"title": title, "headers": metric_headers(metrics), "rows": grouped.rows})
    section.update(
        {
            "dsc_heatmap": results.heatmap(
                "dsc", _("DSC per structure and solution"), vmin=0, vmax=1
            ),
            "hd95_heatmap": results.heatmap(
                "hd95_mm", _("HD95 (mm) per structure and solution"), reverse=True
            ),
            "dsc_box": results.box_plot("dsc", _("DSC per solution (all structures)")),
            "agreement": results.agreement_heatmap() if results.pairs else None,
            "lowest": lowest,
            "summary": results.solution_summary(),
            "annex": annex,
            "structure_stats": structure_statistics(results),
            "consensus_rows": results.consensus_rows(),
        }
    )
    return section


DOSE_CURVES = 3


def dose_section(case: ClinicalCase, submissions: list) -> dict | None:
    """The dosimetric impact of one case: ΔD table, the curves of the structures with the
    largest ΔD, the objectives, and the methods (dose grid, planning system's DVHs)."""
    from contouring import dosimetry
    from contouring.models import CaseDose

    case_dose = CaseDose.objects.filter(case=case).first()
    if case_dose is None:
        return None
    rows = current_doses(case).filter(Q(submission__isnull=True) | Q(submission__in=submissions))
    impacts = dosimetry.dose_impact(
        case, list(rows), submissions, labels=dosimetry.chart_labels(), with_consensus=True
    )
    if not impacts:
        return None
    ranked = sorted(impacts, key=lambda i: -i.largest_delta_gy)
    names = {s.roi_number: s.name for s in case.structures.all()}
    seen, objectives = set(), []
    for impact in impacts:
        for objective in impact.objectives:
            if objective.pk not in seen:
                seen.add(objective.pk)
                objectives.append((impact.structure, objective))
    scales = [r["dose_scale"] for r in case_dose.plan_comparison if r.get("dose_scale")]
    plan_scale = statistics.median(scales) if scales else None
    prescription = case_dose.prescription_gy
    return {
        "case_dose": case_dose,
        # The stored DVHs may be on another dose scale than the grid (another fraction
        # count, a rescaled export): the report states it instead of hiding it.
        "plan_scale": plan_scale,
        "plan_rescaled": plan_scale is not None and abs(plan_scale - 1) > 0.02,
        # A ratio of 100 / prescription: the stored minimum, maximum and mean are in percent
        # of the RTPLAN's prescription (the breast test case's, 14 Gy: 7.14).
        "plan_in_percent": bool(
            plan_scale and prescription and abs(plan_scale * prescription / 100.0 - 1) < 0.02
        ),
        "impacts": impacts,
        "curves": [i for i in ranked[:DOSE_CURVES] if i.largest_delta_gy > 0] or ranked[:1],
        "objectives": objectives,
        "plan_rows": [
            {**row, "structure": row.get("structure") or names.get(row.get("roi_number"), "?")}
            for row in case_dose.plan_comparison
        ],
        "bin_width": dosimetry.BIN_WIDTH_GY,
        "changes": sum(i.change_count for i in impacts),
    }


def solution_overview(sections: list[dict]) -> list[dict]:
    """Per solution, its median DSC and HD95 on each case and overall."""
    rows: dict[int, dict] = {}
    for section in sections:
        for item in section.get("summary", []):
            solution: Solution = item["submission"].solution
            row = rows.setdefault(
                solution.pk,
                {"solution": solution, "per_case": {}, "dsc": [], "hd95": [], "centres": set()},
            )
            row["per_case"][section["case"].pk] = item
            row["centres"].add(item["submission"].centre.label)
            results = section["results"]
            index = results.submissions.index(item["submission"])
            for _structure, cells in results.rows:
                result = cells[index].result
                if result and result.dsc is not None and result.status == "ok":
                    row["dsc"].append(result.dsc)
                if result and result.hd95_mm is not None:
                    row["hd95"].append(result.hd95_mm)
    out = []
    for row in rows.values():
        out.append(
            {
                "solution": row["solution"],
                "centres": ", ".join(sorted(row["centres"])),
                "cases": [row["per_case"].get(s["case"].pk) for s in sections],
                "case_rows": [(s["case"], row["per_case"].get(s["case"].pk)) for s in sections],
                "median_dsc": statistics.median(row["dsc"]) if row["dsc"] else None,
                "median_hd95": statistics.median(row["hd95"]) if row["hd95"] else None,
            }
        )
    out.sort(key=lambda r: -(r["median_dsc"] or 0))
    return out


STAT_METRICS = ("dsc", "hd95_mm", "msd_mm", "surface_dsc_2mm")


def structure_statistics(results) -> list[dict]:
    """Per structure, the median [IQR] of each statistics metric across the solutions."""
    rows = []
    for structure, cells in results.rows:
        values = {
            field: median_iqr(
                [getattr(c.result, field) for c in cells if c.result and c.result.status == "ok"]
            )
            for field in STAT_METRICS
        }
        rows.append(
            {
                "structure": structure,
                "values": [median_iqr_text(values[f], metric_decimals(f)) for f in STAT_METRICS],
            }
        )
    return rows


def median_iqr_text(value, decimals: int) -> str:
    """ "median [Q1–Q3]" with the shared formatter; a dash without figure."""
    if value.median is None:
        return "—"
    return (
        f"{format_number(value.median, decimals)} "
        f"[{format_number(value.q1, decimals)}–{format_number(value.q3, decimals)}]"
    )


def _unit_table(sections: list[dict], field: str) -> dict[str, dict]:
    """``table[solution][(case, structure)]`` of one metric, over every section."""
    table: dict[str, dict] = {}
    for section in sections:
        results = section["results"]
        for index, submission in enumerate(results.submissions):
            column = table.setdefault(str(submission.solution), {})
            for structure, cells in results.rows:
                result = cells[index].result
                value = getattr(result, field, None) if result and result.status == "ok" else None
                if value is not None:
                    column[section["case"].pk, structure.pk] = value
    return table


def statistics_context(sections: list[dict]) -> dict:
    boxes, tests = [], []
    for field in STAT_METRICS:
        metric = METRIC_BY_FIELD[field]
        table = _unit_table(sections, field)
        unit = metric.unit
        title = _("%(metric)s per solution (every structure of every case)") % {
            "metric": metric.label
        }
        boxes.append(
            charts.box_plot(
                [(name, list(values.values())) for name, values in table.items()],
                title=title,
                unit=unit,
                max_value=1.0 if not unit else None,
            )
        )
        tests.append({"metric": metric, "tests": paired_tests(table)})
    dsc_rank = ranking(_unit_table(sections, "dsc"), higher_is_better=True)
    hd95_rank = {
        r.solution: r for r in ranking(_unit_table(sections, "hd95_mm"), higher_is_better=False)
    }
    return {
        "boxes": boxes,
        "tests": tests,
        "ranking": [{"dsc": r, "hd95": hd95_rank.get(r.solution)} for r in dsc_rank],
        "bootstrap": BOOTSTRAP,
        "stat_headers": [METRIC_BY_FIELD[f] for f in STAT_METRICS],
    }


def _protocol(params: dict):
    """The protocol version the report is asked on (``p_protocol``), or None."""
    from contouring.models import ComparisonProtocol

    raw = str(params.get("p_protocol", "") or "")
    if not raw:
        return None
    protocol = (
        ComparisonProtocol.objects.filter(pk=int(raw)).first()
        if raw.isdigit() and len(raw) < 19
        else None
    )
    if protocol is None:
        raise JobInputError(_("This protocol version does not exist."))
    return protocol


def protocol_context(protocol) -> dict:
    """What the report prints of its protocol: version, status, and what let it be final."""
    from contouring.protocols import protocol_discrepancies, protocol_report

    return {
        "protocol": protocol,
        "protocol_report": protocol_report(protocol),
        "protocol_discrepancies": protocol_discrepancies(protocol),
    }


def _keep_final(protocol):
    """Keep the first PDF of a final report on it (see protocols.report_keep_final)."""
    from contouring.protocols import protocol_report, report_keep_final

    final = protocol_report(protocol)
    if not final.is_final or final.file:
        return None
    return lambda content: report_keep_final(report_id=final.pk, content=content)


def build_comparison_report_context(*, job, report) -> ReportSpec:
    protocol = _protocol(job.params)
    ids = protocol.case_ids if protocol else _case_ids(job.params)
    solution_ids = protocol.solution_ids if protocol else _solution_ids(job.params)
    cases = ClinicalCase.objects.filter(pk__in=ids) if ids else ClinicalCase.objects.all()
    cases = list(cases.order_by("created_at", "pk"))
    if not cases:
        raise JobInputError(_("There is no clinical case to report on."))
    solutions = list(
        Solution.objects.filter(pk__in=solution_ids)
        if solution_ids
        else Solution.objects.filter(submissions__case__in=cases).distinct()
    )
    sections = []
    for index, case in enumerate(cases):
        report(
            10 + int(45 * index / len(cases)),
            _("Preparing the case %(title)s") % {"title": case.title},
        )
        sections.append(case_section(case, solution_ids=solution_ids or None))
    if not any(s["results"].has_results for s in sections):
        raise JobInputError(_("No comparison has been computed yet for these cases."))
    report(60, _("Computing the statistics"))
    statistics = statistics_context(sections)
    finished = [s["run"].finished_at for s in sections if s["run"] and s["run"].finished_at]
    toc = [
        {"anchor": "summary", "title": _("Executive summary")},
        {"anchor": "cases", "title": _("The clinical cases")},
        {"anchor": "method", "title": _("Method")},
    ]
    toc += [
        {
            "anchor": f"case-{s['case'].pk}",
            "title": _("Results: %(title)s") % {"title": s["case"].title},
        }
        for s in sections
    ]
    if any(s.get("dose") for s in sections):
        toc.append({"anchor": "dose", "title": _("Dosimetric impact")})
    toc += [
        {"anchor": "solutions", "title": _("Solution by solution")},
        {"anchor": "statistics", "title": _("Statistics across the solutions")},
        {"anchor": "limitations", "title": _("Methods and limitations")},
        {"anchor": "annex", "title": _("Annex: every metric")},
    ]
    return ReportSpec(
        template_name="reports/contouring/comparison_report.html",
        context={
            "report_title": _("Comparison of auto-contouring solutions"),
            "report_subtitle": _("%(count)d clinical case(s), contours without manual retouching")
            % {"count": len(cases)},
            "data_version": _("results computed on %(date)s")
            % {
                "date": timezone.localtime(max(finished)).strftime("%d/%m/%Y %H:%M")
                if finished
                else "—"
            },
            "covered_cases": cases,
            "covered_solutions": sorted({str(s) for s in solutions}),
            "statistics": statistics,
            "structure_count": sum(len(s["results"].structures) for s in sections),
            "toc": toc,
            "sections": sections,
            "overview": solution_overview(sections),
            "headers": metric_headers(),
            "taus": TAUS,
            "hd95_method": HD95_METHOD,
            "versions": _versions(),
            "any_demo": any(case.is_demo for case in cases),
            "any_dose": any(s.get("dose") for s in sections),
            **(protocol_context(protocol) if protocol else {}),
        },
        filename=(
            f"comparaison-contourage-automatique-protocole-v{protocol.number}.pdf"
            if protocol
            else "comparaison-contourage-automatique.pdf"
        ),
        on_rendered=_keep_final(protocol) if protocol else None,
        official=_final_report_official(protocol),
    )


def _final_report_official(protocol) -> signing.Official | None:
    """A report on a protocol version marked final is official (signed); any other is not."""
    final = getattr(protocol, "report", None) if protocol else None
    if final is None or not final.is_final:
        return None
    return signing.Official.of(
        final,
        title=_("Comparison of auto-contouring solutions"),
        reference=_("protocol version %(n)s, final") % {"n": protocol.number},
    )
