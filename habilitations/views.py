"""Pages of the habilitations app: function views, permission first, then one service."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from habilitations import permissions as perms
from habilitations import reports, selectors, services, workflow
from habilitations.exports import matrix_xlsx
from habilitations.forms import (
    ActivityForm,
    CatalogueDraftForm,
    CatalogueVersionForm,
    DomainForm,
    EvidenceForm,
    GrantForm,
    SheetForm,
    SheetLineForm,
    SheetSignatureForm,
    TransitionForm,
    VerifyForm,
)
from habilitations.models import Activity, Domain, HabilitationSheet, Level, SheetStatus
from onco_hdf import signatures
from onco_hdf.audit import ReadAction, audit_read
from onco_hdf.forms import DocumentVerifyForm
from onco_hdf.models import Centre
from onco_hdf.permissions import centres_for_user, require
from onco_hdf.views import verification_rate_limited


def _add_errors(form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form (field errors where they belong)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


# --- Home -----------------------------------------------------------------------------
@require(perms.can_view_habilitations)
def home(request):
    user = request.user
    today = services.today()
    own = selectors.sheet_list_for_user(user).filter(physician=user)
    context = {
        "own_sheets": own,
        "own_expiring": selectors.expiring_for(
            services.watched_sheets().filter(physician=user), on_date=today
        ),
        "returned": selectors.sheets_returned_to(user),
        "awaiting_head": selectors.sheets_awaiting_head(user),
        "awaiting_regional": selectors.sheets_awaiting_regional(user),
        "head_centres": Centre.objects.filter(pk__in=perms.head_centre_ids(user)),
        "current_version": services.catalogue_current(),
        "can_create": perms.can_create_sheet(user),
    }
    return render(request, "habilitations/home.html", context)


# --- Catalogue ------------------------------------------------------------------------
@require(perms.can_view_habilitations)
def catalogue_list(request):
    versions = selectors.catalogue_version_list_for_user(request.user)
    form = CatalogueDraftForm()
    return render(
        request,
        "habilitations/catalogue_list.html",
        {"versions": versions, "form": form, "current": services.catalogue_current()},
    )


@require(perms.can_view_habilitations)
def catalogue_detail(request, pk: int):
    version = selectors.catalogue_version_get_for_user(request.user, pk)
    domains = version.domains.prefetch_related("activities")
    return render(
        request,
        "habilitations/catalogue_detail.html",
        {
            "version": version,
            "domains": domains,
            "can_edit": version.is_draft and perms.can_manage_catalogue(request.user),
        },
    )


@require_POST
@require(perms.can_manage_catalogue)
def catalogue_create(request):
    form = CatalogueDraftForm(request.POST)
    if form.is_valid():
        try:
            version = services.catalogue_version_create_draft(
                user=request.user, label=form.cleaned_data["label"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Draft version %(n)s created.") % {"n": version.number})
            return redirect("habilitations:catalogue-detail", pk=version.pk)
    else:
        messages.error(request, _("Give a label to the new version."))
    return redirect("habilitations:catalogue-list")


@require(perms.can_manage_catalogue)
def catalogue_update(request, pk: int):
    version = selectors.catalogue_version_get_for_user(request.user, pk)
    if not version.is_draft:
        raise Http404
    form = CatalogueVersionForm(request.POST or None, instance=version)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Version saved."))
        return redirect("habilitations:catalogue-detail", pk=version.pk)
    return render(
        request,
        "habilitations/catalogue_form.html",
        {"form": form, "version": version, "title": _("Edit the version")},
    )


@require_POST
@require(perms.can_manage_catalogue)
def catalogue_publish(request, pk: int):
    version = selectors.catalogue_version_get_for_user(request.user, pk)
    try:
        services.catalogue_version_publish(version=version, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("Version %(n)s published: new sheets will use it.") % {"n": version.number}
        )
    return redirect("habilitations:catalogue-detail", pk=version.pk)


def _draft_version(request, pk: int):
    version = selectors.catalogue_version_get_for_user(request.user, pk)
    if not version.is_draft:
        messages.error(request, _("A published version can no longer be changed."))
        return None
    return version


@require(perms.can_manage_catalogue)
def domain_edit(request, version_pk: int, pk: int | None = None):
    version = _draft_version(request, version_pk)
    if version is None:
        return redirect("habilitations:catalogue-detail", pk=version_pk)
    domain = get_object_or_404(Domain, pk=pk, version=version) if pk else Domain(version=version)
    form = DomainForm(request.POST or None, instance=domain)
    if request.method == "POST" and form.is_valid():
        try:
            services.domain_save(domain=form.save(commit=False))
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Domain saved."))
            return redirect("habilitations:catalogue-detail", pk=version.pk)
    return render(
        request,
        "habilitations/catalogue_form.html",
        {
            "form": form,
            "version": version,
            "title": _("Edit the domain") if pk else _("New domain"),
        },
    )


@require(perms.can_manage_catalogue)
def activity_edit(request, version_pk: int, pk: int | None = None):
    version = _draft_version(request, version_pk)
    if version is None:
        return redirect("habilitations:catalogue-detail", pk=version_pk)
    activity = (
        get_object_or_404(Activity, pk=pk, version=version) if pk else Activity(version=version)
    )
    form = ActivityForm(request.POST or None, instance=activity, version=version)
    if request.method == "POST" and form.is_valid():
        try:
            services.activity_save(activity=form.save(commit=False))
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Activity saved."))
            return redirect("habilitations:catalogue-detail", pk=version.pk)
    return render(
        request,
        "habilitations/catalogue_form.html",
        {
            "form": form,
            "version": version,
            "title": _("Edit the activity") if pk else _("New activity"),
        },
    )


@require_POST
@require(perms.can_manage_catalogue)
def activity_delete(request, version_pk: int, pk: int):
    version = selectors.catalogue_version_get_for_user(request.user, version_pk)
    activity = get_object_or_404(Activity, pk=pk, version=version)
    try:
        services.activity_delete(activity=activity)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Activity deleted."))
    return redirect("habilitations:catalogue-detail", pk=version.pk)


# --- Sheets ---------------------------------------------------------------------------
@require(perms.can_view_habilitations)
def sheet_list(request):
    sheets = selectors.sheet_list_for_user(request.user)
    status = request.GET.get("status", "")
    if status in SheetStatus.values:
        sheets = sheets.filter(status=status)
    return render(
        request,
        "habilitations/sheet_list.html",
        {
            "sheets": sheets,
            "statuses": SheetStatus.choices,
            "status": status,
        },
    )


@require(perms.can_create_sheet)
def sheet_create(request):
    form = SheetForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            sheet = services.sheet_create(user=request.user, sheet=form.save(commit=False))
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Sheet created. Now add the activities."))
            return redirect("habilitations:sheet-detail", pk=sheet.pk)
    return render(request, "habilitations/sheet_form.html", {"form": form, "sheet": None})


def _editable_sheet(request, pk: int) -> HabilitationSheet:
    sheet = selectors.sheet_get_for_user(request.user, pk)
    if not perms.can_edit_habilitation_sheet(request.user, sheet):
        raise PermissionDenied
    return sheet


@require(perms.can_view_habilitations)
def sheet_update(request, pk: int):
    sheet = _editable_sheet(request, pk)
    form = SheetForm(request.POST or None, instance=sheet, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.sheet_update(sheet=form.save(commit=False))
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Sheet saved."))
            return redirect("habilitations:sheet-detail", pk=sheet.pk)
    return render(request, "habilitations/sheet_form.html", {"form": form, "sheet": sheet})


@require(perms.can_view_habilitations)
def sheet_detail(request, pk: int):
    sheet = selectors.sheet_get_for_user(request.user, pk)
    audit_read(user=request.user, obj=sheet)
    user = request.user
    lines = sheet.lines.select_related("activity__domain", "tutor").prefetch_related("evidence")
    return render(
        request,
        "habilitations/sheet_detail.html",
        {
            "sheet": sheet,
            "lines": lines,
            "transitions": sheet.transitions.select_related("actor"),
            "actions": workflow.available(user, sheet),
            "can_edit": perms.can_edit_habilitation_sheet(user, sheet),
            "can_review": perms.can_validate_habilitation_sheet(user, sheet),
            "can_renew": perms.can_renew_habilitation_sheet(user, sheet),
            "renewal": HabilitationSheet.objects.filter(previous=sheet).first(),
            "expiring": selectors.expiring_for([sheet], on_date=services.today(), within_days=90),
            "transition_form": TransitionForm(),
            "evidence_form": EvidenceForm(),
            "verification_code": services.verification_code(sheet),
            "returned": selectors.sheet_return_of(sheet),
            "signatories": signatures.signatories(sheet),
            "sign_steps": [
                (step, services.STEP_CAPACITY[step].label)
                for step in services.SIGN_STEPS
                if services.may_sign(user, sheet, step)
                and services.step_key(step, user) not in services.current_acts(sheet)
            ],
            "missing": services.missing_signatures(sheet, services.REGIONAL)
            if sheet.status in (SheetStatus.SUBMITTED, SheetStatus.HEAD_VALIDATED)
            else [],
        },
    )


@require_POST
@require(perms.can_view_habilitations)
def sheet_transition(request, pk: int, action: str):
    sheet = selectors.sheet_get_for_user(request.user, pk)
    transition = workflow.BY_ACTION.get(action)
    if transition is None or not transition.button:
        raise Http404
    form = TransitionForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    try:
        services.sheet_transition(sheet=sheet, user=request.user, action=action, comment=comment)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Done: %(action)s.") % {"action": transition.label})
    return redirect("habilitations:sheet-detail", pk=sheet.pk)


@require(perms.can_view_habilitations)
def sheet_review(request, pk: int):
    """The head of department grants a level per line, then validates or returns."""
    sheet = selectors.sheet_get_for_user(request.user, pk)
    if not perms.can_validate_habilitation_sheet(request.user, sheet):
        if sheet.physician_id == request.user.pk:
            messages.error(request, _("A physician cannot validate their own sheet."))
            return redirect("habilitations:sheet-detail", pk=sheet.pk)
        raise PermissionDenied
    lines = list(sheet.lines.select_related("activity").prefetch_related("evidence"))
    data = request.POST if request.method == "POST" else None
    grant_forms = [
        GrantForm(
            data,
            prefix=f"line-{line.pk}",
            initial={
                "level": line.level_granted or line.level_requested,
                "restrictions": line.restrictions,
                "expiry_date": line.expiry_date,
            },
        )
        for line in lines
    ]
    comment_form = TransitionForm(data)
    if request.method == "POST":
        decision = request.POST.get("decision")
        valid = comment_form.is_valid() and (
            decision == "return" or all(f.is_valid() for f in grant_forms)
        )
        if valid:
            comment = comment_form.cleaned_data["comment"]
            try:
                if decision == "return":
                    services.sheet_return(sheet=sheet, user=request.user, comment=comment)
                    done = _("Sheet returned to the physician.")
                else:
                    grants = {
                        line.pk: services.Grant(**form.cleaned_data)
                        for line, form in zip(lines, grant_forms, strict=True)
                    }
                    services.sheet_grants_save(sheet=sheet, user=request.user, grants=grants)
                    # The validation is a signature: on to its confirmation page.
                    request.session[_comment_key(sheet, services.HEAD)] = comment
                    return redirect("habilitations:sheet-sign", pk=sheet.pk, step=services.HEAD)
            except ValidationError as error:
                for message in error.messages:
                    comment_form.add_error(None, message)
            else:
                messages.success(request, done)
                return redirect("habilitations:sheet-detail", pk=sheet.pk)
    return render(
        request,
        "habilitations/sheet_review.html",
        {
            "sheet": sheet,
            "rows": list(zip(lines, grant_forms, strict=True)),
            "comment_form": comment_form,
        },
    )


def _comment_key(sheet, step: str) -> str:
    return f"habilitations:sign-comment:{sheet.pk}:{step}"


SIGN_DONE = {
    services.TUTOR: gettext_lazy("Signed as tutor."),
    services.HEAD: gettext_lazy("Sheet validated; it now awaits the regional validation."),
    services.DIRECTOR: gettext_lazy("Signed as director / RAN."),
    services.REGIONAL: gettext_lazy("Regional validation signed."),
}


@require(perms.can_view_habilitations)
def sheet_sign(request, pk: int, step: str):
    """Confirmation page of a signature step: what is signed (lines and their hash), in
    which capacity, and the re-authentication; nothing is signed without it."""
    sheet = selectors.sheet_get_for_user(request.user, pk)
    if step not in services.SIGN_STEPS:
        raise Http404
    if not services.may_sign(request.user, sheet, step):
        raise PermissionDenied
    capacity = services.STEP_CAPACITY[step]
    current_hash = signatures.document_hash(sheet, capacity)
    with_comment = step in (services.HEAD, services.REGIONAL)
    form = SheetSignatureForm(
        request.POST or None,
        user=request.user,
        request=request,
        with_comment=with_comment,
        initial={
            "expected_hash": current_hash,
            "comment": request.session.get(_comment_key(sheet, step), ""),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.sheet_sign(
                sheet=sheet,
                user=request.user,
                step=step,
                credentials=form.credentials(),
                expected_hash=form.cleaned_data["expected_hash"],
                comment=form.cleaned_data.get("comment", ""),
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            request.session.pop(_comment_key(sheet, step), None)
            messages.success(request, SIGN_DONE[step])
            return redirect("habilitations:sheet-detail", pk=sheet.pk)
    return render(
        request,
        "habilitations/sheet_sign.html",
        {
            "sheet": sheet,
            "lines": sheet.lines.select_related("activity", "tutor"),
            "decided": step != services.TUTOR,
            "form": form,
            "content_hash": current_hash,
            "capacity": capacity.label,
            "on_behalf_of": sheet.centre.name if step in (services.HEAD, services.DIRECTOR) else "",
        },
    )


@require_POST
@require(perms.can_view_habilitations)
def sheet_renew(request, pk: int):
    sheet = selectors.sheet_get_for_user(request.user, pk)
    try:
        new = services.sheet_renew(sheet=sheet, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("habilitations:sheet-detail", pk=sheet.pk)
    messages.success(request, _("Renewal started: review the lines, then submit the sheet."))
    return redirect("habilitations:sheet-detail", pk=new.pk)


@require(perms.can_view_habilitations)
def sheet_pdf(request, pk: int):
    sheet = selectors.sheet_get_for_user(request.user, pk)
    content = reports.sheet_pdf(sheet)
    audit_read(user=request.user, obj=sheet, action=ReadAction.DOWNLOAD, detail="pdf")
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="fiche-habilitation-{sheet.pk}.pdf"'
    return response


# --- Lines and evidence ---------------------------------------------------------------
@require(perms.can_view_habilitations)
def line_edit(request, sheet_pk: int, pk: int | None = None):
    sheet = _editable_sheet(request, sheet_pk)
    line = get_object_or_404(sheet.lines, pk=pk) if pk else None
    form = SheetLineForm(request.POST or None, instance=line, sheet=sheet)
    if request.method == "POST" and form.is_valid():
        # A new name: ``line`` stays None for a new activity, so a refused save keeps the
        # page titled "Add an activity".
        edited = form.save(commit=False)
        edited.sheet = sheet
        try:
            services.line_save(line=edited)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Activity saved on the sheet."))
            return redirect("habilitations:sheet-detail", pk=sheet.pk)
    return render(
        request,
        "habilitations/line_form.html",
        {
            "form": form,
            "sheet": sheet,
            "line": line,
            "activity_help": _activity_help(sheet.catalogue_version),
        },
    )


def _activity_help(version) -> dict:
    """What the catalogue expects for each activity, shown next to the line form."""
    return {
        str(a.pk): {
            "label": f"{a.code} — {a.label}",
            "prerequisites": a.prerequisites,
            "min_cases": a.min_supervised_cases,
            "levels": [[str(level), text] for level, text in a.evidence_by_level()],
        }
        for a in version.activities.all()
    }


@require_POST
@require(perms.can_view_habilitations)
def line_delete(request, pk: int):
    line = selectors.line_get_for_user(request.user, pk)
    sheet = _editable_sheet(request, line.sheet_id)
    try:
        services.line_delete(line=line)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Activity removed from the sheet."))
    return redirect("habilitations:sheet-detail", pk=sheet.pk)


@require(perms.can_view_habilitations)
def evidence_upload(request, line_pk: int):
    line = selectors.line_get_for_user(request.user, line_pk)
    sheet = _editable_sheet(request, line.sheet_id)
    form = EvidenceForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.evidence_add(
                line=line,
                user=request.user,
                upload=form.cleaned_data["file"],
                kind=form.cleaned_data["kind"],
                description=form.cleaned_data["description"],
            )
        except ValidationError as error:
            form.add_error("file", error)
        else:
            messages.success(request, _("File attached."))
            return redirect("habilitations:sheet-detail", pk=sheet.pk)
    return render(
        request,
        "habilitations/evidence_form.html",
        {
            "form": form,
            "sheet": sheet,
            "line": line,
            "max_mb": round(services.evidence_max_bytes() / 1048576, 1),
        },
    )


@require(perms.can_view_habilitations)
def evidence_download(request, pk: int):
    evidence = selectors.evidence_get_for_user(request.user, pk)
    audit_read(
        user=request.user,
        obj=evidence,
        action=ReadAction.DOWNLOAD,
        centre=evidence.line.sheet.centre,
    )
    return FileResponse(
        evidence.file.open("rb"), as_attachment=True, filename=evidence.original_name
    )


@require_POST
@require(perms.can_view_habilitations)
def evidence_delete(request, pk: int):
    evidence = selectors.evidence_get_for_user(request.user, pk)
    sheet = _editable_sheet(request, evidence.line.sheet_id)
    try:
        services.evidence_delete(evidence=evidence)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("File removed."))
    return redirect("habilitations:sheet-detail", pk=sheet.pk)


# --- Matrix, overview, centre ---------------------------------------------------------
def _matrix_scope(request):
    """Sheets of the chosen centre (heads: only theirs; regional readers: any or all)."""
    sheets = selectors.sheet_list_for_user(request.user)
    if not perms.can_view_regional_overview(request.user):
        sheets = sheets.filter(centre_id__in=perms.head_centre_ids(request.user))
    centres = centres_for_user(request.user)
    if not perms.can_view_regional_overview(request.user):
        centres = centres.filter(pk__in=perms.head_centre_ids(request.user))
    centre = None
    centre_id = request.GET.get("centre", "")
    if centre_id.isdigit() and len(centre_id) <= 18:
        centre = get_object_or_404(centres, pk=int(centre_id))
        sheets = sheets.filter(centre=centre)
    return sheets, centres, centre


@require(perms.can_view_matrix)
def matrix(request):
    sheets, centres, centre = _matrix_scope(request)
    data = selectors.competence_matrix(sheets)
    return render(
        request,
        "habilitations/matrix.html",
        {
            "matrix": data,
            "centres": centres,
            "centre": centre,
            "levels": Level.choices,
            "level_totals": selectors.level_totals(data),
            "regional": perms.can_view_regional_overview(request.user),
        },
    )


@require(perms.can_view_matrix)
def matrix_export(request):
    sheets, _centres, centre = _matrix_scope(request)
    content = matrix_xlsx(selectors.competence_matrix(sheets))
    audit_read(
        user=request.user,
        object_type="habilitations.matrix",
        action=ReadAction.EXPORT,
        centre=centre,
        detail="xlsx",
    )
    name = f"matrice-habilitations-{centre.pk if centre else 'region'}.xlsx"
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require(perms.can_view_regional_overview)
def overview(request):
    sheets = selectors.sheet_list_for_user(request.user)
    data = selectors.competence_matrix(sheets)
    return render(
        request,
        "habilitations/overview.html",
        {
            "status_counts": selectors.status_counts(sheets),
            "matrix": data,
            "levels": Level.choices,
            "level_totals": selectors.level_totals(data),
            "expiring": selectors.expiring_for_user(request.user, on_date=services.today()),
            "chart": reports.level_chart(data),
        },
    )


@require(perms.can_view_centre_habilitations)
def centre_detail(request, pk: int):
    centre = get_object_or_404(centres_for_user(request.user), pk=pk)
    if not perms.can_view_centre_habilitations(request.user, centre):
        raise Http404
    sheets = selectors.sheet_list_for_user(request.user).filter(centre=centre)
    return render(
        request,
        "habilitations/centre_detail.html",
        {
            "centre": centre,
            "sheets": sheets,
            "expiring": selectors.expiring_for_user(
                request.user, on_date=services.today(), centre=centre
            ),
            "reminders": selectors.reminder_list_for_centre(centre)[:50],
        },
    )


@require(perms.can_view_habilitations)
def workflow_help(request):
    return render(
        request,
        "habilitations/workflow_help.html",
        {"rows": workflow.describe(), "reminder_days": services.REMINDER_DAYS},
    )


# --- Public verification --------------------------------------------------------------
def verify(request, code: str = ""):
    """Public: what the platform holds for the sheet a PDF's code names. No login."""
    form = VerifyForm(request.GET or None)
    if not code and form.is_valid():
        code = form.cleaned_data["code"]
    limited = bool(code) and verification_rate_limited(request)
    result = services.verification_lookup(code) if code and not limited else None
    return render(
        request,
        "habilitations/verify.html",
        {
            "form": form,
            "code": code,
            "limited": limited,
            "holder": reports.verification_holder(result) if result and result.sheet else None,
            "upload_form": DocumentVerifyForm(),
        },
        status=429 if limited else 200,
    )
