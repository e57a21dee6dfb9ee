"""Views of the contouring app: function views, permission first, one service or selector."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contouring import exports, permissions, protocols, selectors, services
from contouring.forms import (
    CaseCreateForm,
    CaseDoseForm,
    CaseForm,
    ClinicalObjectiveForm,
    ComparisonStartForm,
    MappingForm,
    ProtocolForm,
    ReportFinalForm,
    SolutionForm,
    StructureChoiceForm,
    SubmissionForm,
)
from contouring.models import ClinicalCase, ReportStatus
from contouring.overlays import WINDOW_PRESETS, render_overlay, slice_choices, solution_style
from contouring.results import METRICS, chosen_metrics, engine_warnings, metric_headers
from contouring.results import case_results as arrange_results
from contouring.uploads import upload_limits
from onco_hdf import governance
from onco_hdf.audit import audit_read
from onco_hdf.models import Centre, ReadAction
from onco_hdf.permissions import can_view_job, require
from onco_hdf.views import job_payload


def _add_errors(form, error: ValidationError) -> None:
    for message in error.messages:
        form.add_error(None, message)


# --- Cases -----------------------------------------------------------------------------
@require(permissions.can_view_cases)
def case_list(request):
    cases = selectors.case_list_for_user(request.user)
    return render(
        request,
        "contouring/case_list.html",
        {
            "cases": cases,
            "can_manage": permissions.can_manage_case(request.user),
            "can_upload": permissions.can_upload_submission(request.user),
            "can_report": permissions.can_download_report(request.user),
            "report_solutions": selectors.solution_list()
            .filter(submissions__case__in=cases, submissions__is_current=True)
            .distinct(),
        },
    )


@require(permissions.can_manage_case)
def case_create(request):
    form = CaseCreateForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            case = services.case_create(
                title=form.cleaned_data["title"],
                site=form.cleaned_data["site"],
                description=form.cleaned_data["description"],
                ct_uploads=form.cleaned_data["ct_uploads"],
                reference_upload=form.cleaned_data["reference"],
                user=request.user,
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The case was created; its files were de-identified."))
            return redirect("contouring:case-detail", pk=case.pk)
    return render(
        request,
        "contouring/case_create.html",
        {"form": form, "upload_limits": upload_limits()},
    )


@require(permissions.can_manage_case)
def case_update(request, pk: int):
    case = selectors.case_get_for_user(request.user, pk)
    form = CaseForm(
        request.POST or None,
        initial={
            "title": case.title,
            "site": case.site,
            "description": case.description,
        },
    )
    if request.method == "POST" and form.is_valid():
        services.case_update(case=case, **form.cleaned_data)
        messages.success(request, _("The case was saved."))
        return redirect("contouring:case-detail", pk=case.pk)
    return render(request, "contouring/case_update.html", {"form": form, "case": case})


@require(permissions.can_view_cases)
def case_detail(request, pk: int):
    case = selectors.case_get_for_user(request.user, pk)
    run = selectors.latest_run(case)
    submissions = selectors.submissions_with_rois(case, request.user)
    can_manage = permissions.can_manage_case(request.user, case)
    return render(
        request,
        "contouring/case_detail.html",
        {
            "case": case,
            "structures": case.structures.all(),
            "submissions": submissions,
            "structure_form": StructureChoiceForm(case=case) if can_manage else None,
            "comparison_form": ComparisonStartForm() if can_manage else None,
            "active_run": selectors.active_run(case),
            "out_of_date": selectors.results_out_of_date(case),
            "run_notice": selectors.results_run_notice(case),
            "can_run": permissions.can_run_comparison(request.user, case),
            "can_manage": can_manage,
            "can_upload": permissions.can_upload_submission(request.user),
            "run": run,
            # Only who may read the job polls it; the others see its status as text.
            "follow_job": run is not None and can_view_job(request.user, run.job),
            "payload": job_payload(run.job) if run else None,
            "ready_count": services.comparison_ready_submissions(case).count(),
            "case_dose": selectors.case_dose(case),
        },
    )


@require(permissions.can_manage_case)
def dose_create(request, pk: int):
    case = selectors.case_get_for_user(request.user, pk)
    form = CaseDoseForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            _dose, warnings = services.case_dose_attach(
                case=case,
                dose_upload=form.cleaned_data["dose"],
                plan_upload=form.cleaned_data["plan"],
                user=request.user,
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The reference dose was attached; it was de-identified."))
            for warning in warnings:
                messages.warning(request, warning)
            return redirect("contouring:case-detail", pk=case.pk)
    return render(
        request,
        "contouring/dose_create.html",
        {
            "form": form,
            "case": case,
            "case_dose": selectors.case_dose(case),
            "upload_limits": upload_limits(),
        },
    )


@require_POST
@require(permissions.can_manage_case)
def case_structures(request, pk: int):
    case = selectors.case_get_for_user(request.user, pk)
    form = StructureChoiceForm(request.POST, case=case)
    if form.is_valid():
        try:
            services.case_structures_choose(
                case=case, structure_ids=[int(v) for v in form.cleaned_data["structures"]]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("The structures to compare were saved."))
    return redirect("contouring:case-detail", pk=case.pk)


# --- Clinical objectives ---------------------------------------------------------------
@require(permissions.can_view_cases)
def objective_list(request):
    return render(
        request,
        "contouring/objective_list.html",
        {
            "objectives": selectors.objective_list(),
            "can_manage": permissions.can_manage_objectives(request.user),
        },
    )


@require(permissions.can_manage_objectives)
def objective_edit(request, pk: int | None = None):
    objective = selectors.objective_get(pk) if pk is not None else None
    form = ClinicalObjectiveForm(request.POST or None, instance=objective)
    if request.method == "POST" and form.is_valid():
        saved = services.objective_save(objective=objective, data=form.cleaned_data)
        messages.success(request, _("The objective %(label)s was saved.") % {"label": saved})
        return redirect("contouring:objective-list")
    return render(request, "contouring/objective_form.html", {"form": form, "objective": objective})


@require_POST
@require(permissions.can_manage_objectives)
def objective_delete(request, pk: int):
    objective = selectors.objective_get(pk)
    label = str(objective)
    services.objective_delete(objective=objective)
    messages.success(request, _("The objective %(label)s was deleted.") % {"label": label})
    return redirect("contouring:objective-list")


# --- Solutions -------------------------------------------------------------------------
@require(permissions.can_view_cases)
def solution_list(request):
    return render(
        request,
        "contouring/solution_list.html",
        {
            "solutions": selectors.solution_list(),
            "can_register": permissions.can_register_solution(request.user),
        },
    )


@require(permissions.can_register_solution)
def solution_create(request):
    # Pre-filled from a file's header when the upload page offers to register its solution.
    initial = {k: request.GET.get(k, "")[:100] for k in ("vendor", "product", "model_version")}
    form = SolutionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            solution = services.solution_create(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(
                request, _("The solution %(name)s was registered.") % {"name": solution}
            )
            next_url = request.GET.get("cas")
            if next_url and next_url.isdigit():
                return redirect("contouring:submission-create", pk=int(next_url))
            return redirect("contouring:solution-list")
    return render(request, "contouring/solution_create.html", {"form": form})


# --- Submissions -----------------------------------------------------------------------
def _upload_centres(user):
    ids = permissions.upload_centre_ids(user)
    centres = Centre.objects.filter(is_active=True)
    return centres if ids is None else centres.filter(pk__in=ids)


@require(permissions.can_upload_submission)
def submission_create(request, pk: int):
    case = selectors.case_get_for_user(request.user, pk)
    centres = _upload_centres(request.user)
    form = SubmissionForm(request.POST or None, request.FILES or None, centres=centres)
    mismatch = None
    if request.method == "POST" and form.is_valid():
        centre = form.cleaned_data["centre"]
        if not permissions.can_upload_submission(request.user, centre):
            raise PermissionDenied
        try:
            submission, warnings = services.submission_create(
                case=case,
                solution=form.cleaned_data["solution"],
                centre=centre,
                upload=form.cleaned_data["file"],
                user=request.user,
                attested=form.cleaned_data["attested"],
                justification=form.cleaned_data["justification"],
            )
        except services.ProvenanceMismatch as error:
            mismatch = error
            if error.suggestion is not None:  # pre-filled from the header
                data = request.POST.copy()
                data["solution"] = str(error.suggestion.pk)
                form = SubmissionForm(data, request.FILES, centres=centres)
                form.is_valid()
            _add_errors(form, error)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(
                request,
                _(
                    "The RTSTRUCT was stored (de-identified). Check the "
                    "structure mapping below, then confirm it."
                ),
            )
            for warning in warnings:
                messages.warning(request, warning)
            return redirect("contouring:submission-detail", pk=submission.pk)
    return render(
        request,
        "contouring/submission_create.html",
        {
            "form": form,
            "case": case,
            "upload_limits": upload_limits(),
            "mismatch": mismatch,
            "register_query": urlencode(
                {
                    "cas": case.pk,
                    "vendor": mismatch.header.get("Manufacturer", ""),
                    "product": mismatch.header.get("ManufacturerModelName", ""),
                    "model_version": mismatch.header.get("SoftwareVersions", ""),
                }
            )
            if mismatch
            else "",
        },
    )


@require(permissions.can_view_cases)
def submission_detail(request, pk: int):
    submission = selectors.submission_get_for_user(request.user, pk)
    if request.method == "GET":
        audit_read(user=request.user, obj=submission)
    mappings = list(
        submission.mappings.filter(structure__is_compared=True).select_related("structure", "roi")
    )
    can_map = permissions.can_map_submission(request.user, submission)
    form = MappingForm(request.POST or None, submission=submission, mappings=mappings)
    if request.method == "POST":
        if not can_map:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.mapping_confirm(
                    submission=submission, user=request.user, choices=form.choices()
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("The structure mapping was confirmed."))
                return redirect("contouring:submission-detail", pk=submission.pk)
    used = {m.roi_id for m in mappings if m.roi_id}
    return render(
        request,
        "contouring/submission_detail.html",
        {
            "submission": submission,
            "case": submission.case,
            "form": form,
            "rows": form.bound_rows(),
            "can_map": can_map,
            "provenance_rows": services.provenance_rows(
                provenance={
                    "manufacturer": submission.manufacturer,
                    "manufacturer_model_name": submission.manufacturer_model_name,
                    "software_versions": submission.software_versions,
                },
                solution=submission.solution,
            ),
            "unmapped_rois": [roi for roi in submission.rois.all() if roi.pk not in used],
            "unmapped_structures": [m.structure for m in mappings if m.roi_id is None],
            "warning_groups": engine_warnings(
                selectors.latest_finished_run(submission.case), [submission], reference=False
            ),
        },
    )


# --- Comparison and results --------------------------------------------------------------
@require_POST
@require(permissions.can_run_comparison)
def comparison_start(request, pk: int):
    case = selectors.case_get_for_user(request.user, pk)
    form = ComparisonStartForm(request.POST)
    form.is_valid()
    try:
        services.comparison_run_start(
            case=case,
            user=request.user,
            include_consensus=form.cleaned_data.get("include_consensus", False),
        )
    except services.ComparisonAlreadyRunning as error:
        link = reverse("onco_hdf:job-detail", args=[error.run.job_id])
        messages.error(
            request,
            format_html(
                '{} <a href="{}">{}</a>',
                error.messages[0],
                link,
                _("Follow the running comparison"),
            ),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.info(request, _("The comparison has started; you can keep using the page."))
    return redirect("contouring:case-detail", pk=case.pk)


def _int_param(request, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


def _results_context(request, case: ClinicalCase, *, filtered: bool = False) -> dict:
    submissions = list(
        selectors.current_submissions(case, request.user).filter(mapping_confirmed_at__isnull=False)
    )
    metrics = chosen_metrics(selectors.results_columns_for_user(request.user))
    structure_id = _int_param(request, "structure") if filtered else None
    solution_id = _int_param(request, "solution") if filtered else None
    shown = [s for s in submissions if solution_id in (None, s.solution_id)]
    results = arrange_results(
        case,
        selectors.results_for_user(request.user, case),
        shown,
        metrics=metrics,
        structure_ids={structure_id} if structure_id else None,
    )
    return {
        "case": case,
        "results": results,
        "submissions": submissions,
        "metrics": metrics,
        "all_metrics": METRICS,
        "chosen_fields": {m.field for m in metrics},
        "filter_structure": structure_id,
        "filter_solution": solution_id,
        "filter_query": request.GET.urlencode() if filtered else "",
        "solutions": sorted({s.solution for s in submissions}, key=str),
    }


def _case_ids(raw: str) -> list[int]:
    """Ids from ``?cas=1,2``; what is no storable id (not digits, beyond 64 bits) is ignored."""
    ids = (int(v) for v in raw.split(",") if v.strip().isdigit() and len(v.strip()) < 19)
    return list(ids)[:50]


@require(permissions.can_view_cases)
def results_export(request, fmt: str):
    """Every result of the chosen cases (``?cas=1,2``) the user may read, as CSV or XLSX."""
    if fmt not in exports.CONTENT_TYPES:
        raise Http404
    cases = selectors.case_list_for_user(request.user)
    ids = _case_ids(",".join(request.GET.getlist("cas")))
    if ids:
        cases = cases.filter(pk__in=ids)
    content, content_type, filename = exports.export(
        list(cases.order_by("created_at", "pk")),
        lambda case: selectors.results_for_user(request.user, case),
        fmt,
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require(permissions.can_view_all_results)
def consensus_rtstruct(request, pk: int, method: str):
    """The consensus of every solution as an RTSTRUCT on the case's CT (regional readers)."""
    case = selectors.case_get_for_user(request.user, pk)
    if method not in services.CONSENSUS_BUILDERS:
        raise Http404
    try:
        content = services.consensus_rtstruct(case=case, method=method)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("contouring:case-results", pk=case.pk)
    response = HttpResponse(content, content_type="application/dicom")
    name = f"RS_consensus_{method}_{case.pseudonym}.dcm"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_POST
@require(permissions.can_view_cases)
def results_columns(request, pk: int):
    case = selectors.case_get_for_user(request.user, pk)
    try:
        services.results_columns_save(user=request.user, columns=request.POST.getlist("columns"))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Your choice of columns was saved."))
    url = reverse("contouring:case-results", args=[case.pk])
    kept = QueryDict(request.POST.get("query", ""))
    filters = {k: kept[k] for k in ("structure", "solution") if kept.get(k, "").isdigit()}
    return redirect(f"{url}?{urlencode(filters)}" if filters else url)


def dose_impacts_for(user, case: ClinicalCase, submissions, regional: bool):
    """The dosimetric impact of the user's visible contour sets (the consensus: regional)."""
    from contouring import dosimetry

    return dosimetry.dose_impact(
        case,
        list(selectors.structure_doses_for_user(user, case)),
        submissions,
        labels=dosimetry.chart_labels(),
        with_consensus=regional,
    )


@require(permissions.can_view_cases)
def case_results(request, pk: int):
    case = selectors.case_get_for_user(request.user, pk)
    context = _results_context(request, case, filtered=True)
    results = context["results"]
    regional = permissions.can_view_all_results(request.user)
    if results.has_results:
        context.update(
            {
                "dsc_heatmap": results.heatmap(
                    "dsc", _("DSC per structure and solution"), vmin=0, vmax=1
                ),
                "hd95_heatmap": results.heatmap(
                    "hd95_mm", _("HD95 (mm) per structure and solution"), reverse=True
                ),
                "dsc_box": results.box_plot("dsc", _("DSC per solution (all structures)")),
                "hd95_box": results.box_plot(
                    "hd95_mm", _("HD95 per solution (all structures)"), unit="mm"
                ),
                "agreement": results.agreement_heatmap() if regional and results.pairs else None,
            }
        )
    context.update(
        {
            "dose_impacts": dose_impacts_for(request.user, case, context["submissions"], regional),
            "headers": metric_headers(context["metrics"]),
            "regional": regional,
            "run": selectors.latest_run(case),
            "out_of_date": selectors.results_out_of_date(case),
            "run_notice": selectors.results_run_notice(case),
            "can_run": permissions.can_run_comparison(request.user, case),
            "warning_groups": engine_warnings(
                selectors.latest_finished_run(case), context["submissions"], reference=True
            ),
            "consensus_rows": results.consensus_rows() if regional else [],
        }
    )
    return render(request, "contouring/case_results.html", context)


@require(permissions.can_view_cases)
def structure_overlays(request, pk: int, structure_pk: int):
    case = selectors.case_get_for_user(request.user, pk)
    structure = selectors.structure_get_for_case(case, structure_pk)
    context = _results_context(request, case)
    choice = slice_choices(case, structure, context["submissions"])
    rows = [
        (cells, index)
        for index, (s, cells) in enumerate(context["results"].rows)
        if s.pk == structure.pk
    ]
    context.update(
        {
            "structure": structure,
            "slices": choice.slices if choice else [],
            "slice_rows": [
                (k, k == choice.middle, choice.disagreement.get(k, 0.0)) for k in choice.slices
            ]
            if choice
            else [],
            "cells": rows[0][0] if rows else [],
            "headers": metric_headers(context["metrics"]),
        }
    )
    return render(request, "contouring/structure_overlays.html", context)


@require(permissions.can_view_cases)
def structure_viewer(request, pk: int, structure_pk: int):
    """Scroll through every CT slice with the structure's contours, solutions toggled."""
    case = selectors.case_get_for_user(request.user, pk)
    structure = selectors.structure_get_for_case(case, structure_pk)
    submissions = list(
        selectors.current_submissions(case, request.user).filter(mapping_confirmed_at__isnull=False)
    )
    choice = slice_choices(case, structure, [])
    start = choice.middle if choice else len(case.ct_files) // 2
    layers = [
        {"submission": s, "colour": "#{:02x}{:02x}{:02x}".format(*solution_style(i)[0])}
        for i, s in enumerate(submissions)
    ]
    presets = [
        (
            "",
            _("Case site (%(width)s / %(level)s HU)")
            % dict(zip(("width", "level"), case.window, strict=True)),
        ),
        ("soft", _("Soft tissue (400 / 40 HU)")),
        ("lung", _("Lung (1500 / −600 HU)")),
        ("bone", _("Bone (1800 / 400 HU)")),
        ("brain", _("Brain (80 / 40 HU)")),
    ]
    return render(
        request,
        "contouring/structure_viewer.html",
        {
            "case": case,
            "structure": structure,
            "layers": layers,
            "start": start,
            "last": len(case.ct_files) - 1,
            "presets": presets,
            "image_base": reverse("contouring:overlay-image", args=[case.pk, structure.pk, 0]),
        },
    )


@require(permissions.can_view_cases)
def overlay_image(request, pk: int, structure_pk: int, k: int):
    case = selectors.case_get_for_user(request.user, pk)
    structure = selectors.structure_get_for_case(case, structure_pk)
    if not 0 <= k < len(case.ct_files):
        raise Http404
    submissions = list(
        selectors.current_submissions(case, request.user)
        .filter(mapping_confirmed_at__isnull=False)
        .prefetch_related("mappings__roi")
    )
    # The viewer's toggles (?s=ids, "-" for none) and window preset (?wl=bone).
    hidden: frozenset[int] = frozenset()
    if "s" in request.GET:
        shown = {int(v) for v in request.GET["s"].split(",") if v.isdigit()}
        hidden = frozenset(s.pk for s in submissions if s.pk not in shown)
    window = WINDOW_PRESETS.get(request.GET.get("wl", ""))
    png = render_overlay(case, structure, submissions, k, window, hidden)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    return response


# --- Comparison protocol and final report ---------------------------------------------
@require(permissions.can_view_protocols)
def protocol_list(request):
    return render(
        request,
        "contouring/protocol_list.html",
        {
            "protocols": selectors.protocol_list().select_related("report"),
            "can_manage": permissions.can_manage_protocol(request.user),
        },
    )


@require(permissions.can_manage_protocol)
def protocol_create(request):
    cases = selectors.case_list_for_user(request.user)
    solutions = selectors.solution_list().filter(
        submissions__case__in=cases,
        submissions__is_current=True,
        submissions__mapping_confirmed_at__isnull=False,
    )
    form = ProtocolForm(request.POST or None, cases=cases, solutions=solutions.distinct())
    if request.method == "POST" and form.is_valid():
        try:
            protocol = protocols.protocol_create(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(
                request,
                _("Version %(number)s of the protocol was created.") % {"number": protocol.number},
            )
            return redirect("contouring:protocol-detail", pk=protocol.pk)
    return render(
        request,
        "contouring/protocol_create.html",
        {
            "form": form,
            "latest": protocols.protocol_latest(),
            "convention": protocols.PLATFORM_CONVENTION.label,
            "hd95_method": services.HD95_METHOD,
            "taus": services.TAUS,
            "engine_version": services._engine_version(),
        },
        status=400 if request.method == "POST" else 200,
    )


def _protocol_context(request, protocol, final_form=None) -> dict:
    report = protocols.protocol_report(protocol)
    can_manage = permissions.can_manage_protocol(request.user)
    return {
        "protocol": protocol,
        "report": report,
        "transitions": [
            (step, ReportStatus(step.from_status).label, ReportStatus(step.to_status).label)
            for step in report.transitions.select_related("actor")
        ],
        "validation": governance.validation_of(protocol),
        "override": governance.override_of(protocol),
        "discrepancies": protocols.protocol_discrepancies(protocol),
        "can_manage": can_manage,
        "can_report": permissions.can_download_report(request.user),
        "final_form": final_form or (ReportFinalForm() if can_manage else None),
    }


@require(permissions.can_view_protocols)
def protocol_detail(request, pk: int):
    protocol = selectors.protocol_get(pk)
    return render(request, "contouring/protocol_detail.html", _protocol_context(request, protocol))


@require(permissions.can_manage_protocol)
@require_POST
def protocol_report_final(request, pk: int):
    protocol = selectors.protocol_get(pk)
    form = ReportFinalForm(request.POST)
    if form.is_valid():
        try:
            protocols.report_mark_final(
                protocol=protocol, user=request.user, comment=form.cleaned_data["comment"]
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("The comparison report is now final."))
            return redirect("contouring:protocol-detail", pk=protocol.pk)
    context = _protocol_context(request, protocol, final_form=form)
    return render(request, "contouring/protocol_detail.html", context, status=400)


@require(permissions.can_download_report)
def protocol_report_download(request, pk: int):
    """The final report kept on the protocol version (the first PDF rendered once final)."""
    protocol = selectors.protocol_get(pk)
    report = protocols.protocol_report(protocol)
    if not report.file:
        raise Http404
    audit_read(user=request.user, obj=report, action=ReadAction.DOWNLOAD)
    return FileResponse(
        report.file.open("rb"),
        as_attachment=True,
        filename=f"rapport-final-comparaison-protocole-v{protocol.number}.pdf",
    )
