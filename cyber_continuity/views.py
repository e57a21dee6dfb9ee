"""Pages of the continuity app: thin function views (permission, one service, render)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cyber_continuity import permissions as perms
from cyber_continuity import reports, selectors, services
from cyber_continuity.forms import (
    AuthorityForm,
    CapacityForm,
    ClauseEditForm,
    CommentForm,
    ContactForm,
    ConventionCreateForm,
    CrisisActionForm,
    CrisisDeclareForm,
    CrisisReportForm,
    CrisisTransitionForm,
    EventForm,
    ExerciseScheduleForm,
    InformationSystemForm,
    InjectForm,
    MachineForm,
    PatientGroupForm,
    PhoneAnswerForm,
    PlanEntryForm,
    ProfileForm,
    PublishForm,
    ScenarioForm,
    ScenarioInjectFormSet,
    TemplateClauseFormSet,
    TemplateForm,
    TransferProposeForm,
    TransferUpdateForm,
)
from cyber_continuity.models import (
    ACUTE_STATUSES,
    Authority,
    CentreProfile,
    ConventionClause,
    ConventionStatus,
    ConventionTemplate,
    CrisisAction,
    CrisisContact,
    ExerciseInject,
    ExerciseStatus,
    InformationSystem,
    Machine,
    PatientGroup,
    TransferPlanEntry,
    TransferStatus,
)
from onco_hdf import signatures
from onco_hdf.audit import ReadAction, audit_read
from onco_hdf.http import bad_request
from onco_hdf.models import Role, SignatureCapacity
from onco_hdf.pdf import render_pdf
from onco_hdf.permissions import centre_ids_for, is_project_manager, is_regional_reader, require

registry_reader = require(perms.can_view_registry)


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


# --- Registry -------------------------------------------------------------------------
@registry_reader
def registry_list(request):
    rows = selectors.registry_rows()
    return render(request, "cyber_continuity/registry_list.html", {"rows": rows})


@registry_reader
def centre_detail(request, pk: int):
    centre = selectors.centre_get_for_user(request.user, pk)
    return render(
        request,
        "cyber_continuity/centre_detail.html",
        {
            "centre": centre,
            "profile": CentreProfile.objects.filter(centre=centre).first(),
            "contacts": centre.crisis_contacts.all(),
            "show_contacts": perms.can_view_crisis_contacts(request.user, centre),
            "systems": centre.information_systems.all(),
            "machines": centre.machines.all(),
            "capacities": centre.capacities.select_related("attested_by").prefetch_related(
                "machine_slots__machine"
            ),
            "can_edit": perms.can_edit_centre_registry(request.user, centre),
            "can_view_kits": perms.can_view_kit_editions(request.user, centre),
        },
    )


def _editable_centre(request, pk: int):
    centre = selectors.centre_get_for_user(request.user, pk)
    if not perms.can_edit_centre_registry(request.user, centre):
        raise PermissionDenied
    return centre


@registry_reader
def profile_edit(request, pk: int):
    centre = _editable_centre(request, pk)
    profile = CentreProfile.objects.filter(centre=centre).first() or CentreProfile(centre=centre)
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        services.registry_item_save(item=form.save(commit=False), user=request.user)
        messages.success(request, _("Profile saved."))
        return redirect("cyber_continuity:centre-detail", pk=centre.pk)
    return render(
        request,
        "cyber_continuity/registry_form.html",
        {"form": form, "centre": centre, "heading": _("Centre profile")},
    )


# Registry items a referent keeps: model, form, heading.
ITEM_KINDS = {
    "contact": (CrisisContact, ContactForm, gettext_lazy("Crisis contact")),
    "system": (InformationSystem, InformationSystemForm, gettext_lazy("Information system")),
    "machine": (Machine, MachineForm, gettext_lazy("Machine")),
}


def _item_for_user(request, kind: str, pk: int):
    model = ITEM_KINDS[kind][0]
    item = get_object_or_404(
        model.objects.filter(centre__in=selectors.centre_list_for_user(request.user)), pk=pk
    )
    if not perms.can_edit_centre_registry(request.user, item.centre):
        raise PermissionDenied
    return item


@registry_reader
def item_edit(request, kind: str, centre_pk: int | None = None, pk: int | None = None):
    model, form_class, heading = ITEM_KINDS[kind]
    if pk is not None:
        item = _item_for_user(request, kind, pk)
        centre = item.centre
    else:
        centre = _editable_centre(request, centre_pk)
        item = model(centre=centre)
    form = form_class(request.POST or None, instance=item)
    if request.method == "POST" and form.is_valid():
        try:
            services.registry_item_save(item=form.save(commit=False), user=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("cyber_continuity:centre-detail", pk=centre.pk)
    return render(
        request,
        "cyber_continuity/registry_form.html",
        {
            "form": form,
            "centre": centre,
            "heading": heading,
            "item": item,
            "delete_url_name": f"cyber_continuity:{kind}-delete",
        },
    )


@require_POST
@registry_reader
def item_delete(request, kind: str, pk: int):
    item = _item_for_user(request, kind, pk)
    centre_pk = item.centre_id
    services.registry_item_delete(item=item)
    messages.success(request, _("Deleted."))
    return redirect("cyber_continuity:centre-detail", pk=centre_pk)


@registry_reader
def capacity_edit(request, pk: int):
    centre = _editable_centre(request, pk)
    declarations = list(centre.capacities.prefetch_related("machine_slots"))
    form = CapacityForm(
        request.POST or None, declarations=declarations, machines=list(centre.machines.all())
    )
    if request.method == "POST" and form.is_valid():
        try:
            count = services.capacities_save(
                centre=centre,
                rows=form.declared(),
                machine_rows=form.declared_per_machine(),
                user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, _error_text(error))
        else:
            messages.success(
                request, _("%(n)d technique(s) declared and attested today.") % {"n": count}
            )
            return redirect("cyber_continuity:centre-detail", pk=centre.pk)
    return render(request, "cyber_continuity/capacity_form.html", {"form": form, "centre": centre})


@require_POST
@registry_reader
def capacity_attest(request, pk: int):
    centre = _editable_centre(request, pk)
    count = services.capacity_attest(centre=centre, user=request.user)
    messages.success(request, _("%(n)d declaration(s) attested.") % {"n": count})
    return redirect("cyber_continuity:centre-detail", pk=centre.pk)


# --- Convention templates -------------------------------------------------------------
@registry_reader
def template_list(request):
    templates = selectors.template_list_for_user(request.user).prefetch_related("versions")
    return render(
        request,
        "cyber_continuity/template_list.html",
        {"templates": templates, "can_manage": perms.can_manage_templates(request.user)},
    )


@require(perms.can_manage_templates)
def template_create(request):
    form = TemplateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            template = services.template_create(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error("title", error)
        else:
            messages.success(request, _("Template created with a first draft version."))
            return redirect("cyber_continuity:template-version-edit", pk=template.versions.get().pk)
    return render(request, "cyber_continuity/template_form.html", {"form": form})


@registry_reader
def template_version_detail(request, pk: int):
    version = selectors.template_version_get_for_user(request.user, pk)
    template = version.template
    versions = template.versions.all()
    if not perms.can_manage_templates(request.user):
        versions = versions.filter(published_at__isnull=False)
    return render(
        request,
        "cyber_continuity/template_version_detail.html",
        {
            "version": version,
            "template": template,
            "versions": versions,
            "clauses": version.clauses.all(),
            "can_manage": perms.can_manage_templates(request.user),
            "publish_form": PublishForm(),
            "placeholders": selectors.placeholder_help(),
        },
    )


@require(perms.can_manage_templates)
def template_version_edit(request, pk: int):
    version = selectors.template_version_get_for_user(request.user, pk)
    if version.is_published:
        messages.error(request, _("A published version is frozen: create a new version."))
        return redirect("cyber_continuity:template-version-detail", pk=version.pk)
    formset = TemplateClauseFormSet(request.POST or None, instance=version)
    if request.method == "POST" and formset.is_valid():
        try:
            services.template_clauses_save(formset=formset)
        except ValidationError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(request, _("Clauses saved."))
            return redirect("cyber_continuity:template-version-detail", pk=version.pk)
    return render(
        request,
        "cyber_continuity/template_version_edit.html",
        {"version": version, "formset": formset, "placeholders": selectors.placeholder_help()},
    )


@require_POST
@require(perms.can_manage_templates)
def template_version_publish(request, pk: int):
    version = selectors.template_version_get_for_user(request.user, pk)
    form = PublishForm(request.POST)
    form.is_valid()
    try:
        services.template_version_publish(
            version=version, user=request.user, notes=form.cleaned_data.get("notes", "")
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(
            request,
            _("Version published: conventions on older versions are now flagged as outdated."),
        )
    return redirect("cyber_continuity:template-version-detail", pk=version.pk)


@require_POST
@require(perms.can_manage_templates)
def template_version_create(request, pk: int):
    template = get_object_or_404(ConventionTemplate, pk=pk)
    try:
        version = services.template_version_create_next(template=template)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        latest = template.versions.order_by("-number").first()
        return redirect("cyber_continuity:template-version-detail", pk=latest.pk)
    messages.success(request, _("New draft version created."))
    return redirect("cyber_continuity:template-version-edit", pk=version.pk)


# --- Authorities ----------------------------------------------------------------------
@registry_reader
def authority_list(request):
    authorities = Authority.objects.select_related("centre", "checked_by")
    return render(
        request,
        "cyber_continuity/authority_list.html",
        {
            "authorities": authorities,
            "can_manage": perms.can_manage_authorities(request.user),
            "stale": sum(1 for a in authorities if a.is_stale),
        },
    )


@require(perms.can_manage_authorities)
def authority_edit(request, pk: int | None = None):
    authority = get_object_or_404(Authority, pk=pk) if pk else Authority()
    form = AuthorityForm(request.POST or None, instance=authority)
    if request.method == "POST" and form.is_valid():
        try:
            services.authority_save(authority=form.save(commit=False), user=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("cyber_continuity:authority-list")
    return render(
        request,
        "cyber_continuity/authority_form.html",
        {"form": form, "authority": authority},
    )


@require_POST
@require(perms.can_manage_authorities)
def authorities_confirm(request):
    count = services.authorities_confirm(user=request.user)
    messages.success(request, _("%(n)d number(s) confirmed.") % {"n": count})
    return redirect("cyber_continuity:authority-list")


# --- Conventions ----------------------------------------------------------------------
@registry_reader
def convention_list(request):
    conventions = selectors.convention_list_for_user(request.user).prefetch_related(
        "parties__centre"
    )
    status = request.GET.get("statut", "")
    if status in ConventionStatus.values:
        conventions = conventions.filter(status=status)
    return render(
        request,
        "cyber_continuity/convention_list.html",
        {
            "conventions": conventions,
            "statuses": ConventionStatus.choices,
            "status": status,
            "can_create": perms.can_create_convention(request.user),
        },
    )


@require(perms.can_create_convention)
def convention_create(request):
    own = (
        set() if is_project_manager(request.user) else centre_ids_for(request.user, [Role.REFERENT])
    )
    form = ConventionCreateForm(request.POST or None, own_centre_ids=own)
    if request.method == "POST" and form.is_valid():
        try:
            convention = services.convention_create(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Convention created as a draft."))
            return redirect("cyber_continuity:convention-detail", pk=convention.pk)
    return render(request, "cyber_continuity/convention_form.html", {"form": form})


@registry_reader
def convention_detail(request, pk: int):
    convention = selectors.convention_get_for_user(request.user, pk)
    return _render_convention_detail(request, convention, CommentForm())


def _render_convention_detail(request, convention, comment_form):
    user = request.user
    own = centre_ids_for(user, [Role.REFERENT])
    parties = reports.parties_with_signatories(convention)
    can_transition = perms.can_transition_convention(user, convention)
    return render(
        request,
        "cyber_continuity/convention_detail.html",
        {
            "convention": convention,
            "parties": parties,
            "clauses": convention.clauses.select_related("updated_by"),
            "transitions": convention.transitions.select_related("actor"),
            "moves": services.convention_moves_from(convention.status) if can_transition else [],
            "can_edit": perms.can_edit_convention(user, convention),
            "sign_parties": [p for p in parties if p.centre_id in own and p.signed_at is None]
            if perms.can_sign_convention(user, convention)
            else [],
            "latest_version": convention.template_version.template.latest_published(),
            "can_amend": convention.is_active and perms.can_amend_convention(user, convention),
            "amendments": convention.amendments.all(),
            "comment_form": comment_form,
        },
    )


@registry_reader
def convention_clause_edit(request, pk: int, clause_pk: int):
    convention = selectors.convention_get_for_user(request.user, pk)
    clause = get_object_or_404(ConventionClause, convention=convention, pk=clause_pk)
    if not perms.is_party_referent(request.user, convention) or not clause.negotiable:
        raise PermissionDenied
    if request.method == "GET" and not perms.can_edit_convention(request.user, convention):
        messages.error(request, _("This convention can no longer be edited."))
        return redirect("cyber_continuity:convention-detail", pk=convention.pk)
    form = ClauseEditForm(
        request.POST or None, initial={"body": clause.body, "version": clause.version}
    )
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            services.convention_clause_update(
                clause=clause,
                body=form.cleaned_data["body"],
                expected_version=form.cleaned_data["version"],
                user=request.user,
            )
        except services.StaleEditError as error:
            current = error.clause
            conflict = {
                "clause": current,
                "diff": services.text_diff(error.base_body, current.body),
                "mine": services.text_diff(current.body, form.cleaned_data["body"]),
            }
            # Keep the user's text; the next save is checked against the current version.
            data = request.POST.copy()
            data["version"] = current.version
            form = ClauseEditForm(data)
            form.is_valid()
            form.add_error(None, error.messages[0])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Clause saved."))
            return redirect("cyber_continuity:convention-detail", pk=convention.pk)
    return render(
        request,
        "cyber_continuity/clause_form.html",
        {"convention": convention, "clause": clause, "form": form, "conflict": conflict},
    )


@require_POST
@registry_reader
def convention_transition(request, pk: int):
    convention = selectors.convention_get_for_user(request.user, pk)
    if not perms.can_transition_convention(request.user, convention):
        raise PermissionDenied
    form = CommentForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("The comment is too long."))
        services.convention_transition(
            convention=convention,
            to_status=request.POST.get("to", ""),
            user=request.user,
            comment=form.cleaned_data["comment"],
        )
    except ValidationError as error:
        # Refused: show why, on the page, with the comment still typed in.
        messages.error(request, _error_text(error))
        convention.refresh_from_db()
        return _render_convention_detail(request, convention, form)
    messages.success(request, _("Status changed."))
    return redirect("cyber_continuity:convention-detail", pk=convention.pk)


@require_POST
@registry_reader
def convention_sign(request, pk: int):
    """The "sign for" button: on to the confirmation page of that party."""
    convention = selectors.convention_get_for_user(request.user, pk)
    if not perms.can_sign_convention(request.user, convention):
        raise PermissionDenied
    party_id = request.POST.get("party", "")
    if not (party_id.isascii() and party_id.isdigit()):
        return bad_request(request, _("Choose the centre you sign for."))
    party = _own_party(request, convention, party_id)
    return redirect("cyber_continuity:convention-party-sign", pk=convention.pk, party_pk=party.pk)


def _own_party(request, convention, party_id):
    own = centre_ids_for(request.user, [Role.REFERENT])
    party = convention.parties.filter(centre__in=own, pk=int(party_id)).first()
    if party is None:
        raise PermissionDenied
    return party


@registry_reader
def convention_party_sign(request, pk: int, party_pk: int):
    """Confirmation page: what is signed (its hash), who signs in which capacity, and the
    re-authentication; the signature is recorded only from here."""
    convention = selectors.convention_get_for_user(request.user, pk)
    if not perms.can_sign_convention(request.user, convention):
        raise PermissionDenied
    party = _own_party(request, convention, party_pk)
    if party.signed_at is not None:
        messages.info(request, _("This party has already signed."))
        return redirect("cyber_continuity:convention-detail", pk=convention.pk)
    current_hash = signatures.document_hash(convention, SignatureCapacity.LEGAL_REPRESENTATIVE)
    form = signatures.LegalRepresentativeSignatureForm(
        request.POST or None,
        request.FILES or None,
        user=request.user,
        request=request,
        initial={"expected_hash": current_hash},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.convention_sign(
                convention=convention,
                centre=party.centre,
                user=request.user,
                credentials=form.credentials(),
                signer_title=form.cleaned_data["signer_title"],
                expected_hash=form.cleaned_data["expected_hash"],
                **form.delegation(),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Signed for %(centre)s.") % {"centre": party.centre.label})
            return redirect("cyber_continuity:convention-detail", pk=convention.pk)
    return render(
        request,
        "cyber_continuity/convention_sign.html",
        {
            "convention": convention,
            "party": party,
            "form": form,
            "content_hash": current_hash,
            "capacity": SignatureCapacity.LEGAL_REPRESENTATIVE.label,
            "clauses": convention.clauses.all(),
            "parties": convention.parties.select_related("centre"),
        },
    )


@registry_reader
def convention_delegation_download(request, pk: int, party_pk: int):
    """The delegation document a party's signatory attached (whoever may read the
    convention may read who signed it and on what authority)."""
    convention = selectors.convention_get_for_user(request.user, pk)
    party = get_object_or_404(
        convention.parties.select_related("signature"), pk=party_pk, signed_at__isnull=False
    )
    signature = party.signature
    if signature is None or not signature.delegation_document:
        raise Http404
    audit_read(
        user=request.user,
        obj=convention,
        action=ReadAction.DOWNLOAD,
        detail=f"delegation party {party.pk}",
    )
    extension = signature.delegation_document.name.rsplit(".", 1)[-1].lower()
    return FileResponse(
        signature.delegation_document.open("rb"),
        as_attachment=True,
        filename=f"delegation-{party.centre.short_name or party.centre.pk}.{extension}",
    )


@require_POST
@registry_reader
def convention_amend(request, pk: int):
    convention = selectors.convention_get_for_user(request.user, pk)
    if not perms.can_amend_convention(request.user, convention):
        raise PermissionDenied
    try:
        amendment = services.convention_amend(convention=convention, user=request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect("cyber_continuity:convention-detail", pk=convention.pk)
    messages.success(
        request,
        _("Amendment created as a draft; the signed convention stays in force until it is signed."),
    )
    return redirect("cyber_continuity:convention-detail", pk=amendment.pk)


@registry_reader
def convention_history(request, pk: int):
    convention = selectors.convention_get_for_user(request.user, pk)
    edits = [
        {"edit": edit, "diff": services.text_diff(edit.old_body, edit.new_body)}
        for edit in services.convention_edits(convention)
    ]
    return render(
        request,
        "cyber_continuity/convention_history.html",
        {
            "convention": convention,
            "edits": edits,
            "transitions": convention.transitions.select_related("actor"),
        },
    )


@registry_reader
def convention_pdf(request, pk: int):
    convention = selectors.convention_get_for_user(request.user, pk)
    spec = reports.build_convention_context(convention=convention)
    response = _pdf_response(spec)
    audit_read(user=request.user, obj=convention, action=ReadAction.DOWNLOAD, detail="pdf")
    return response


def _pdf_response(spec) -> HttpResponse:
    content = render_pdf(spec.template_name, spec.context, official=spec.official)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{spec.filename}"'
    return response


# --- Transfer plans -------------------------------------------------------------------
@registry_reader
def plan_detail(request, pk: int):
    centre = selectors.centre_get_for_user(request.user, pk)
    can_edit = perms.can_edit_centre_registry(request.user, centre)
    form = PlanEntryForm(centre=centre)
    return render(
        request,
        "cyber_continuity/plan_detail.html",
        {
            "centre": centre,
            "sections": services.transfer_plan(centre),
            "can_edit": can_edit,
            "form": form,
        },
    )


@registry_reader
def plan_entry_add(request, pk: int):
    centre = _editable_centre(request, pk)
    form = PlanEntryForm(request.POST or None, centre=centre)
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_entry_add(centre=centre, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Receiving centre added to the plan."))
            return redirect("cyber_continuity:plan-detail", pk=centre.pk)
    return render(
        request,
        "cyber_continuity/registry_form.html",
        {
            "form": form,
            "centre": centre,
            "heading": _("Add a receiving centre"),
            "cancel_url_name": "cyber_continuity:plan-detail",
        },
    )


def _plan_entry(request, pk: int) -> TransferPlanEntry:
    entry = get_object_or_404(TransferPlanEntry, pk=pk)
    if not perms.can_edit_centre_registry(request.user, entry.centre):
        raise PermissionDenied
    return entry


@require_POST
@registry_reader
def plan_entry_move(request, pk: int):
    entry = _plan_entry(request, pk)
    services.plan_entry_move(entry=entry, up=request.POST.get("direction") == "up")
    return redirect("cyber_continuity:plan-detail", pk=entry.centre_id)


@require_POST
@registry_reader
def plan_entry_delete(request, pk: int):
    entry = _plan_entry(request, pk)
    services.plan_entry_delete(entry=entry)
    messages.success(request, _("Receiving centre removed from the plan."))
    return redirect("cyber_continuity:plan-detail", pk=entry.centre_id)


# --- Crisis kit and overview ----------------------------------------------------------
@registry_reader
def crisis_kit_pdf(request, pk: int):
    centre = selectors.centre_get_for_user(request.user, pk)
    response = _pdf_response(reports.build_crisis_kit_context(centre=centre, viewer=request.user))
    audit_read(
        user=request.user,
        obj=centre,
        action=ReadAction.DOWNLOAD,
        centre=centre,
        detail="crisis kit",
    )
    return response


@registry_reader
def kit_edition_list(request, pk: int):
    centre = selectors.kit_centre_get_for_user(request.user, pk)
    return render(
        request,
        "cyber_continuity/kit_edition_list.html",
        {
            "centre": centre,
            "editions": centre.kit_editions.all(),
            "can_download": perms.can_download_kit_edition(request.user, centre),
        },
    )


@registry_reader
def kit_edition_download(request, pk: int):
    edition = selectors.kit_edition_get_for_user(request.user, pk)
    if not perms.can_download_kit_edition(request.user, edition.centre):
        raise PermissionDenied
    audit_read(
        user=request.user,
        obj=edition,
        action=ReadAction.DOWNLOAD,
        centre=edition.centre,
        detail="crisis kit edition",
    )
    stamp = timezone.localtime(edition.created_at).strftime("%Y%m%d-%H%M")
    name = f"kit-crise-{slugify(edition.centre.label)}-{stamp}.pdf"
    return FileResponse(
        edition.pdf.open("rb"), as_attachment=True, filename=name, content_type="application/pdf"
    )


@require(perms.can_view_overview)
def overview(request):
    return render(
        request, "cyber_continuity/overview.html", selectors.overview_context(request.user)
    )


# --- Crises ---------------------------------------------------------------------------
@registry_reader
def crisis_list(request):
    crises = selectors.crisis_list_for_user(request.user)
    return render(
        request,
        "cyber_continuity/crisis_list.html",
        {"crises": crises, "can_declare": perms.can_declare_crisis(request.user)},
    )


@require(perms.can_declare_crisis)
def crisis_declare(request):
    centres = selectors.declarable_centres(request.user)
    form = CrisisDeclareForm(
        request.POST or None,
        centres=centres,
        initial={"is_exercise": request.GET.get("exercice") == "1"},
    )
    if request.method == "POST" and form.is_valid():
        crisis = services.crisis_declare(user=request.user, **form.cleaned_data)
        messages.success(
            request,
            _("Exercise started.")
            if crisis.is_exercise
            else _("Crisis recorded; receiving centres notified."),
        )
        return redirect("cyber_continuity:crisis-detail", pk=crisis.pk)
    return render(request, "cyber_continuity/crisis_form.html", {"form": form})


@registry_reader
def crisis_detail(request, pk: int):
    crisis = selectors.crisis_get_for_user(request.user, pk)
    return _render_crisis_detail(request, crisis, CrisisTransitionForm())


def _render_crisis_detail(request, crisis, comment_form):
    user = request.user
    can_manage = perms.can_manage_crisis(user, crisis)
    own = centre_ids_for(user, [Role.REFERENT])
    groups = list(
        crisis.patient_groups.prefetch_related(
            "transfers__receiving_centre", "transfers__receiving_machine"
        )
    )
    moves = services.crisis_moves_from(crisis.status) if can_manage else []
    return render(
        request,
        "cyber_continuity/crisis_detail.html",
        {
            "crisis": crisis,
            "can_manage": can_manage,
            "own_referent_ids": own,
            "groups": groups,
            "events": crisis.events.select_related("user"),
            "transitions": crisis.transitions.select_related("actor"),
            "moves": moves,
            "unplaced_warnings": services.crisis_unplaced_warnings(crisis)
            if any(to in services.GUARDED_MOVES for to, _move in moves)
            else [],
            "can_record_phone": perms.can_record_phone_answer(user, None),
            "actions": crisis.actions.all(),
            "metrics_rows": reports.metrics_rows(services.crisis_metrics(crisis)),
            "report_items": [
                (item, reports.duration(item.clock))
                for item in services.crisis_report_checklist(crisis)
            ],
            "group_form": PatientGroupForm(),
            "action_form": CrisisActionForm(),
            "event_form": EventForm(),
            "comment_form": comment_form,
            "systems_down": selectors.systems_down_labels(crisis),
            # Once the crisis is lifted the countdown means nothing; the deadline stays shown.
            "countdown": crisis.status in ACUTE_STATUSES,
        },
    )


def _managed_crisis(request, pk: int):
    crisis = selectors.crisis_get_for_user(request.user, pk)
    if not perms.can_manage_crisis(request.user, crisis):
        raise PermissionDenied
    return crisis


@require_POST
@registry_reader
def crisis_transition(request, pk: int):
    crisis = _managed_crisis(request, pk)
    form = CrisisTransitionForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("The comment is too long."))
        services.crisis_transition(
            crisis=crisis,
            to_status=request.POST.get("to", ""),
            user=request.user,
            comment=form.cleaned_data["comment"],
            override_reason=form.cleaned_data["override_reason"],
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
        crisis.refresh_from_db()
        return _render_crisis_detail(request, crisis, form)
    messages.success(request, _("Status changed."))
    return redirect("cyber_continuity:crisis-detail", pk=crisis.pk)


def _subform_view(request, subject, route: str, form_class, save, success: str, heading: str):
    """POST a small form on a crisis or an exercise (``subject``, whose detail page is
    ``route``); on error re-render it with what was typed."""
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            save(subject, form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, success)
            return redirect(route, pk=subject.pk)
    return render(
        request,
        "cyber_continuity/subform.html",
        {
            "subject": subject,
            "back_url": reverse(route, args=[subject.pk]),
            "form": form,
            "heading": heading,
        },
    )


def _crisis_form_view(request, pk: int, form_class, save, success: str, heading: str):
    crisis = _managed_crisis(request, pk)
    return _subform_view(
        request, crisis, "cyber_continuity:crisis-detail", form_class, save, success, heading
    )


@registry_reader
def patient_group_add(request, pk: int):
    return _crisis_form_view(
        request,
        pk,
        PatientGroupForm,
        lambda crisis, data: services.patient_group_add(crisis=crisis, user=request.user, **data),
        _("Patient group added."),
        _("Add a patient group"),
    )


@registry_reader
def crisis_action_add(request, pk: int):
    return _crisis_form_view(
        request,
        pk,
        CrisisActionForm,
        lambda crisis, data: services.crisis_action_add(crisis=crisis, user=request.user, **data),
        _("Action added."),
        _("Add an action"),
    )


@registry_reader
def crisis_report_add(request, pk: int):
    return _crisis_form_view(
        request,
        pk,
        CrisisReportForm,
        lambda crisis, data: services.crisis_report_record(
            crisis=crisis, user=request.user, **data
        ),
        _("Mandatory report recorded."),
        _("Record a mandatory report"),
    )


@registry_reader
def crisis_event_add(request, pk: int):
    return _crisis_form_view(
        request,
        pk,
        EventForm,
        lambda crisis, data: services.crisis_event_add(crisis=crisis, user=request.user, **data),
        _("Event added to the timeline."),
        _("Add an event to the timeline"),
    )


def _managed_action(request, pk: int) -> CrisisAction:
    action = get_object_or_404(CrisisAction, pk=pk)
    if action.exercise_id:
        _managed_exercise(request, action.exercise_id)
    else:
        _managed_crisis(request, action.crisis_id)
    return action


def _action_origin(action: CrisisAction):
    if action.exercise_id:
        return redirect("cyber_continuity:exercise-detail", pk=action.exercise_id)
    return redirect("cyber_continuity:crisis-detail", pk=action.crisis_id)


@require_POST
@registry_reader
def crisis_action_done(request, pk: int):
    action = _managed_action(request, pk)
    services.crisis_action_done(action=action, user=request.user)
    return _action_origin(action)


@require_POST
@registry_reader
def crisis_action_status(request, pk: int):
    action = _managed_action(request, pk)
    try:
        services.crisis_action_status(
            action=action, status=request.POST.get("status", ""), user=request.user
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("Action updated."))
    return _action_origin(action)


@registry_reader
def patient_group_match(request, pk: int):
    group = get_object_or_404(PatientGroup.objects.select_related("crisis__centre"), pk=pk)
    crisis = _managed_crisis(request, group.crisis_id)
    form = TransferProposeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        receiver = (
            selectors.centre_list_for_user(request.user)
            .filter(pk=form.cleaned_data["receiving_centre"])
            .first()
        )
        machine_id = form.cleaned_data["receiving_machine"]
        machine = (
            Machine.objects.filter(pk=machine_id, centre=receiver).first()
            if receiver is not None and machine_id is not None
            else None
        )
        try:
            if receiver is None:
                raise ValidationError(_("Unknown centre."))
            if machine_id is not None and machine is None:
                raise ValidationError(_("Unknown machine."))
            services.transfer_propose(
                group=group,
                receiving_centre=receiver,
                patient_count=form.cleaned_data["patient_count"],
                receiving_machine=machine,
                user=request.user,
            )
        except ValidationError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(request, _("Transfer proposed; the receiving centre was notified."))
            return redirect("cyber_continuity:crisis-detail", pk=crisis.pk)
    candidates = services.match_receivers(group)
    return render(
        request,
        "cyber_continuity/patient_group_match.html",
        {
            "crisis": crisis,
            "group": group,
            "candidates": [c for c in candidates if not c.unavailable],
            "unavailable": [c for c in candidates if c.unavailable],
            "transfers": group.transfers.select_related("receiving_centre"),
            "remaining": services.patients_left_to_place(group),
            "can_propose": crisis.status in services.PROPOSAL_STATUSES,
            "countdown": crisis.status in ACUTE_STATUSES,
        },
    )


# Who moves a transfer: the receiving centre answers; the affected centre tracks the rest.
TRANSFER_ACTORS = {
    TransferStatus.ACCEPTED: "receiver",
    TransferStatus.REFUSED: "receiver",
    TransferStatus.TREATING: "receiver",
    TransferStatus.RETURNED: "sender",
}


@require_POST
@registry_reader
def transfer_update(request, pk: int):
    transfer = selectors.transfer_get_for_user(request.user, pk)
    to_status = request.POST.get("to", "")
    actor = TRANSFER_ACTORS.get(to_status)
    allowed = (
        perms.can_answer_transfer(request.user, transfer)
        if actor == "receiver"
        else actor == "sender" and perms.can_manage_crisis(request.user, transfer.group.crisis)
    )
    if not allowed:
        raise PermissionDenied
    form = TransferUpdateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The date is not valid."))
    else:
        try:
            services.transfer_update(
                transfer=transfer,
                to_status=to_status,
                user=request.user,
                comment=form.cleaned_data["comment"],
                on=form.cleaned_data["on"],
            )
        except ValidationError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(request, _("Transfer updated."))
    return redirect("cyber_continuity:crisis-detail", pk=transfer.group.crisis_id)


@registry_reader
def transfer_phone_answer(request, pk: int):
    transfer = selectors.transfer_get_for_user(request.user, pk)
    if not perms.can_record_phone_answer(request.user, transfer):
        raise PermissionDenied
    form = PhoneAnswerForm(
        request.POST or None,
        initial={"answered_at": timezone.localtime().replace(second=0, microsecond=0)},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.transfer_update(
                transfer=transfer,
                to_status=data["to"],
                user=request.user,
                comment=data["comment"],
                answered_by_name=data["answered_by_name"],
                answered_at=data["answered_at"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Phone answer recorded on behalf of the receiving centre."))
            return redirect("cyber_continuity:crisis-detail", pk=transfer.group.crisis_id)
    return render(
        request,
        "cyber_continuity/transfer_phone_answer.html",
        {"transfer": transfer, "crisis": transfer.group.crisis, "form": form},
    )


# --- Exercises ------------------------------------------------------------------------
@registry_reader
def exercise_list(request):
    exercises = selectors.exercise_list_for_user(request.user).prefetch_related("centres")
    return render(
        request,
        "cyber_continuity/exercise_list.html",
        {
            "exercises": exercises,
            "can_schedule": perms.can_schedule_exercise(request.user),
            "compliance": _compliance_rows(request.user),
        },
    )


def _compliance_rows(user) -> list[tuple]:
    """This year's exercise of each centre the user sees (done / planned / overdue)."""
    from cyber_continuity import steering

    centres = list(selectors.centre_list_for_user(user).filter(is_active=True))
    if not is_regional_reader(user):
        centres = [c for c in centres if c.pk in centre_ids_for(user)]
    found = steering.exercise_compliance(user)
    return [
        (centre, steering.exercise_cell(*found.get(centre.pk, ("overdue", None))))
        for centre in centres
    ]


@require(perms.can_schedule_exercise)
def exercise_schedule(request):
    scenarios = selectors.scenario_list(active_only=True)
    initial = {}
    chosen = request.GET.get("scenario", "")
    if chosen.isdigit() and len(chosen) < 10:
        initial["scenario"] = scenarios.filter(pk=int(chosen)).first()
    form = ExerciseScheduleForm(
        request.POST or None,
        scenarios=scenarios,
        centres=selectors.declarable_centres(request.user),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            exercise = services.exercise_schedule(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Exercise scheduled."))
            return redirect("cyber_continuity:exercise-detail", pk=exercise.pk)
    return render(request, "cyber_continuity/exercise_form.html", {"form": form})


@registry_reader
def exercise_detail(request, pk: int):
    exercise = selectors.exercise_get_for_user(request.user, pk)
    can_manage = perms.can_manage_exercise(request.user, exercise)
    running = exercise.status == ExerciseStatus.RUNNING
    injects = []
    for inject in exercise.injects.select_related("played_by"):
        due = None
        if exercise.started_at and inject.minutes_after_start is not None:
            due = exercise.started_at + timedelta(minutes=inject.minutes_after_start)
        injects.append((inject, due))
    return render(
        request,
        "cyber_continuity/exercise_detail.html",
        {
            "exercise": exercise,
            "centres": exercise.centres.order_by("name"),
            "can_manage": can_manage,
            "running": running,
            "injects": injects,
            "metrics": [
                (row.crisis, reports.metrics_rows(row.metrics))
                for row in services.exercise_metrics(exercise)
            ],
            "actions": exercise.actions.all(),
            "inject_form": InjectForm(),
        },
    )


@registry_reader
def exercise_pdf(request, pk: int):
    exercise = selectors.exercise_get_for_user(request.user, pk)
    response = _pdf_response(reports.build_exercise_report_context(exercise=exercise))
    audit_read(user=request.user, obj=exercise, action=ReadAction.DOWNLOAD, detail="exercise")
    return response


def _managed_exercise(request, pk: int):
    exercise = selectors.exercise_get_for_user(request.user, pk)
    if not perms.can_manage_exercise(request.user, exercise):
        raise PermissionDenied
    return exercise


EXERCISE_MOVES = {
    "start": (services.exercise_start, gettext_lazy("Exercise started: the alert is raised.")),
    "end": (services.exercise_end, gettext_lazy("Exercise ended.")),
    "cancel": (services.exercise_cancel, gettext_lazy("Exercise cancelled.")),
}


@require_POST
@registry_reader
def exercise_transition(request, pk: int):
    exercise = _managed_exercise(request, pk)
    service, success = EXERCISE_MOVES.get(request.POST.get("to", ""), (None, ""))
    try:
        if service is None:
            raise ValidationError(_("Unknown move."))
        service(exercise=exercise, user=request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, str(success))
    return redirect("cyber_continuity:exercise-detail", pk=exercise.pk)


@require_POST
@registry_reader
def exercise_inject_play(request, pk: int):
    inject = get_object_or_404(ExerciseInject, pk=pk)
    _managed_exercise(request, inject.exercise_id)
    try:
        services.exercise_inject_play(inject=inject, user=request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("Inject played: it is on the timeline of every centre."))
    return redirect("cyber_continuity:exercise-detail", pk=inject.exercise_id)


def _exercise_form_view(request, pk: int, form_class, save, success: str, heading: str):
    exercise = _managed_exercise(request, pk)
    return _subform_view(
        request, exercise, "cyber_continuity:exercise-detail", form_class, save, success, heading
    )


@registry_reader
def exercise_inject_add(request, pk: int):
    return _exercise_form_view(
        request,
        pk,
        InjectForm,
        lambda exercise, data: services.exercise_inject_add(
            exercise=exercise, user=request.user, **data
        ),
        _("Free inject played: it is on the timeline of every centre."),
        _("Play a free inject"),
    )


@registry_reader
def exercise_action_add(request, pk: int):
    return _exercise_form_view(
        request,
        pk,
        CrisisActionForm,
        lambda exercise, data: services.crisis_action_add(
            exercise=exercise, user=request.user, **data
        ),
        _("RETEX action added."),
        _("Add a RETEX action"),
    )


@registry_reader
def scenario_list(request):
    return render(
        request,
        "cyber_continuity/scenario_list.html",
        {
            "scenarios": selectors.scenario_list(),
            "can_edit": perms.can_manage_scenarios(request.user),
            "can_schedule": perms.can_schedule_exercise(request.user),
        },
    )


@require(perms.can_manage_scenarios)
def scenario_edit(request, pk: int | None = None):
    scenario = get_object_or_404(selectors.scenario_list(), pk=pk) if pk else None
    form = ScenarioForm(request.POST or None, instance=scenario)
    formset = ScenarioInjectFormSet(request.POST or None, instance=scenario, prefix="injects")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        services.scenario_save(form=form, formset=formset)
        messages.success(request, _("Scenario saved."))
        return redirect("cyber_continuity:scenario-list")
    return render(
        request,
        "cyber_continuity/scenario_form.html",
        {"form": form, "formset": formset, "scenario": scenario},
    )
