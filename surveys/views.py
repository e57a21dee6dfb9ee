"""Survey pages. Function views: check permission, call one service or selector, render."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from onco_hdf import permissions as core
from onco_hdf.audit import ReadAction, audit_read
from onco_hdf.models import Centre, Membership
from onco_hdf.pdf import render_pdf
from surveys import (
    answers,
    centre_summary,
    exports,
    filling,
    results,
    rule_editor,
    services,
    suppression,
)
from surveys import permissions as perms
from surveys.forms import (
    CampaignForm,
    ImportForm,
    InviteForm,
    QuestionForm,
    QuestionnaireCreateForm,
    ReopenForm,
    ReportForm,
    SectionForm,
    VersionForm,
)
from surveys.interop import redcap
from surveys.models import (
    Invitation,
    Question,
    Response,
    ResponseStatus,
    ResponseUnit,
    Section,
)
from surveys.selectors import (
    answer_tokens,
    campaign_get_for_user,
    campaign_list_for_user,
    invitation_list,
    questionnaire_list_for_user,
    report_job_list_for_user,
    response_get_for_user,
    response_values,
    version_bin,
    version_get_for_user,
    version_structure,
)
from surveys.services import Actor, SurveyError
from surveys.themes import themes_text

require = core.require


def _error_text(error: SurveyError) -> str:
    return " ".join(error.messages)


# --- Filling: one set of views for the token link and for logged-in members --------------
@dataclass
class Access:
    response: Response
    actor: Actor
    may_fill: bool
    token: str = ""

    def url(self, kind: str, section: str = "") -> str:
        args = [self.token] if self.token else [self.response.pk]
        prefix = "surveys:token-" if self.token else "surveys:response-"
        if kind in ("section", "autosave"):
            args.append(section)
        return reverse(prefix + kind, args=args)


def _token_access(request, token: str) -> Access:
    invitation = services.invitation_resolve(token)
    actor = Actor.for_invitation(invitation)
    response = services.response_open(
        campaign=invitation.campaign, centre=invitation.centre, actor=actor
    )
    return Access(response=response, actor=actor, may_fill=True, token=token)


def _member_access(request, pk: int) -> Access:
    response = response_get_for_user(request.user, pk)
    actor = Actor.for_user(request.user, response.centre)
    may_fill = bool(actor.roles)
    if response.campaign.unit == ResponseUnit.PERSON:
        may_fill = response.respondent_id == request.user.pk
    return Access(response=response, actor=actor, may_fill=may_fill)


def _invalid_token(request, error: SurveyError):
    return render(
        request, "surveys/token_invalid.html", {"message": _error_text(error)}, status=404
    )


def _read_only_reason(access: Access, section_code: str) -> str:
    response = access.response
    if not response.is_editable:
        return _("This response has been submitted: it is shown read-only.")
    if not response.campaign.is_open():
        return _("This campaign is closed: answers can no longer be changed.")
    if not access.may_fill:
        return _("You can read this response; only the members of the centre fill it.")
    if section_code and not access.actor.may_edit_section(response.campaign, section_code):
        return _("This section is filled by another role of your centre; you can read it.")
    return ""


def _posted(section, request) -> dict:
    """What the page posted, to show it again as typed when it could not be saved."""
    return {q.code: answers.parse(q, request.POST) for q in section.question_list}


def _section_page(request, access: Access, section_code: str):
    response = access.response
    structure = version_structure(response.campaign.version)
    section = structure.section(section_code)
    if section is None:
        raise Http404
    parsed = conflicts = None
    reason = _read_only_reason(access, section.code)
    if request.method == "POST":
        if reason:
            messages.error(request, reason)
            parsed = _posted(section, request)
        else:
            try:
                result = services.response_save_section(
                    response=response,
                    section_code=section.code,
                    data=request.POST,
                    actor=access.actor,
                    structure=structure,
                )
            except SurveyError as error:
                messages.error(request, _error_text(error))
                parsed = _posted(section, request)
            else:
                if result.conflicts:
                    messages.warning(
                        request,
                        _(
                            "Someone else changed %(count)d answer(s) of this page meanwhile: "
                            "choose the value to keep. The other answers are saved."
                        )
                        % {"count": len(result.conflicts)},
                    )
                    parsed, conflicts = result.parsed, result.conflicts
                if result.errors:
                    messages.error(
                        request, _("Some answers need correcting; the other answers are saved.")
                    )
                    parsed = result.parsed
                if not result.errors and not result.conflicts:
                    return redirect(_next_url(request, access, structure, section.code))
    values, others = response_values(response, structure)
    views = filling.page_views(
        structure,
        section.code,
        values,
        others,
        parsed=parsed,
        editable=not reason,
        tokens=answer_tokens(response, structure),
        conflicts=conflicts,
    )
    previous, following = structure.neighbours(section.code)
    return render(
        request,
        "surveys/response_section.html",
        {
            "access": access,
            "response": response,
            "campaign": response.campaign,
            "structure": structure,
            "section": section,
            "questions": views,
            "blocks": filling.page_blocks(structure, section, views, values, others),
            "any_visible": any(not view.hidden for view in views),
            "previous": previous,
            "following": following,
            "read_only_reason": reason,
            "other_answers": filling.browser_answers(structure, values, section.code),
            "autosave_url": access.url("autosave", section.code),
            "review_url": access.url("review"),
            "section_urls": [(s, access.url("section", s.code)) for s in structure.sections],
        },
    )


def _next_url(request, access: Access, structure, current: str) -> str:
    action = request.POST.get("action", "save")
    goto = request.POST.get("goto", "")
    if goto == "review":
        return access.url("review")
    if goto and structure.section(goto):
        return access.url("section", goto)
    previous, following = structure.neighbours(current)
    if action == "next":
        return access.url("section", following.code) if following else access.url("review")
    if action == "previous" and previous:
        return access.url("section", previous.code)
    if action == "review":
        return access.url("review")
    messages.success(
        request, _("Your answers are saved. You can come back later with the same link.")
    )
    return access.url("section", current)


def _autosave(request, access: Access, section_code: str):
    reason = _read_only_reason(access, section_code)
    if reason:
        return JsonResponse({"ok": False, "message": reason}, status=409)
    try:
        result = services.response_save_section(
            response=access.response,
            section_code=section_code,
            data=request.POST,
            actor=access.actor,
        )
    except SurveyError as error:
        return JsonResponse({"ok": False, "message": _error_text(error)}, status=409)
    return JsonResponse(
        {
            "ok": True,
            "errors": result.errors,
            "conflicts": {
                code: {"mine": c.mine, "theirs": c.theirs, "by": c.by, "message": c.message}
                for code, c in result.conflicts.items()
            },
            "tokens": result.tokens,
            "saved_at": timezone.localtime().strftime("%H:%M"),
        }
    )


def _review_page(request, access: Access):
    response = access.response
    if request.method == "POST":
        if not access.may_fill:
            raise PermissionDenied
        try:
            services.response_submit(response=response, actor=access.actor)
        except services.AlreadySubmitted as error:
            messages.info(request, _error_text(error))
        except SurveyError as error:
            messages.error(request, _error_text(error))
        else:
            messages.success(request, _("Thank you: your response has been submitted."))
        return redirect(access.url("review"))
    structure = version_structure(response.campaign.version)
    values, others = response_values(response, structure)
    problems = services.response_problems(response, structure) if response.is_editable else []
    return render(
        request,
        "surveys/response_review.html",
        {
            "access": access,
            "response": response,
            "campaign": response.campaign,
            "summary": filling.summary(structure, values, others),
            "problems": problems,
            "read_only_reason": _read_only_reason(access, ""),
            "section_urls": {s.code: access.url("section", s.code) for s in structure.sections},
            "first_url": access.url("section", structure.sections[0].code)
            if structure.sections
            else "",
        },
    )


def _start(access: Access):
    response = access.response
    structure = version_structure(response.campaign.version)
    if not structure.sections:
        raise Http404
    if not response.is_editable:
        return redirect(access.url("review"))
    code = (
        response.last_section
        if structure.section(response.last_section)
        else structure.sections[0].code
    )
    return redirect(access.url("section", code))


def token_start(request, token: str):
    try:
        access = _token_access(request, token)
    except SurveyError as error:
        return _invalid_token(request, error)
    return _start(access)


def token_section(request, token: str, section: str):
    try:
        access = _token_access(request, token)
    except SurveyError as error:
        return _invalid_token(request, error)
    return _section_page(request, access, section)


@require_POST
def token_autosave(request, token: str, section: str):
    try:
        access = _token_access(request, token)
    except SurveyError as error:
        return JsonResponse({"ok": False, "message": _error_text(error)}, status=404)
    return _autosave(request, access, section)


def token_review(request, token: str):
    try:
        access = _token_access(request, token)
    except SurveyError as error:
        return _invalid_token(request, error)
    return _review_page(request, access)


@require(perms.can_answer_survey)
def response_start(request, pk: int):
    """A member opens (or starts) the response of their centre for a campaign."""
    campaign = campaign_get_for_user(request.user, pk)
    surveyed = set(campaign.centres.values_list("pk", flat=True)) | set(
        campaign.invitations.values_list("centre_id", flat=True)
    )
    centre_ids = sorted(core.centre_ids_for(request.user) & surveyed)
    if not centre_ids:
        raise Http404
    wanted = request.GET.get("centre", "")
    centre_id = int(wanted) if wanted.isdigit() and int(wanted) in centre_ids else centre_ids[0]
    centre = get_object_or_404(Centre, pk=centre_id)
    if not campaign.is_open() and not campaign.responses.filter(centre=centre).exists():
        messages.error(request, _("This campaign is closed: answers can no longer be changed."))
        return redirect("surveys:campaign-list")
    actor = Actor.for_user(request.user, centre)
    response = services.response_open(campaign=campaign, centre=centre, actor=actor)
    return _start(Access(response=response, actor=actor, may_fill=True))


@login_required
def response_section(request, pk: int, section: str):
    return _section_page(request, _member_access(request, pk), section)


@login_required
@require_POST
def response_autosave(request, pk: int, section: str):
    return _autosave(request, _member_access(request, pk), section)


@login_required
def response_review(request, pk: int):
    return _review_page(request, _member_access(request, pk))


@login_required
def response_detail(request, pk: int):
    response = response_get_for_user(request.user, pk)
    audit_read(user=request.user, obj=response)
    structure = version_structure(response.campaign.version)
    values, others = response_values(response, structure)
    return render(
        request,
        "surveys/response_detail.html",
        {
            "response": response,
            "campaign": response.campaign,
            "summary": filling.summary(structure, values, others),
            "transitions": response.transitions.select_related("actor"),
            "changes": response.changes.select_related("question").order_by("-at", "-pk")[:200],
            "can_view_history": core.can_view_history(request.user),
            "can_reopen": perms.can_reopen_response(request.user)
            and response.status == ResponseStatus.SUBMITTED,
            "reopen_form": ReopenForm(),
            "can_fill": Actor.for_user(request.user, response.centre).roles,
        },
    )


@require(perms.can_reopen_response)
@require_POST
def response_reopen(request, pk: int):
    response = response_get_for_user(request.user, pk)
    form = ReopenForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the reason for reopening the response."))
        return redirect("surveys:response-detail", pk=pk)
    try:
        services.response_reopen(
            response=response, user=request.user, comment=form.cleaned_data["comment"]
        )
    except SurveyError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("The response is reopened; the centre can change it."))
    return redirect("surveys:response-detail", pk=pk)


# --- Builder --------------------------------------------------------------------------
@require(perms.can_build_questionnaire)
def questionnaire_list(request):
    return render(
        request,
        "surveys/questionnaire_list.html",
        {"questionnaires": questionnaire_list_for_user(request.user)},
    )


@require(perms.can_build_questionnaire)
def questionnaire_create(request):
    form = QuestionnaireCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = services.questionnaire_create(user=request.user, **form.cleaned_data)
        except SurveyError as error:
            form.add_error(None, error)
        else:
            return redirect("surveys:version-detail", pk=version.pk)
    return render(request, "surveys/questionnaire_form.html", {"form": form})


IMPORT_PREVIEW_SALT = "surveys.questionnaire-import-preview"


@require(perms.can_build_questionnaire)
def questionnaire_import(request):
    """Upload → (REDCap, LimeSurvey: preview of what is not carried over) → a new draft."""
    if request.method == "POST" and "payload" in request.POST:
        try:
            data = signing.loads(request.POST["payload"], salt=IMPORT_PREVIEW_SALT, max_age=3600)
        except signing.BadSignature:
            messages.error(request, _("This preview has expired: import the file again."))
            return redirect("surveys:questionnaire-import")
        return _import_and_open(request, ImportForm(), data)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        conversion = form.cleaned_data["file"]
        if conversion.source_format == "json":
            return _import_and_open(request, form, conversion.data)
        try:
            services.validate_questionnaire_dict(conversion.data)
        except SurveyError as error:
            form.add_error("file", error)
        else:
            payload = signing.dumps(conversion.data, salt=IMPORT_PREVIEW_SALT, compress=True)
            sections = [
                {
                    "code": section["code"],
                    "title": section["title"],
                    "count": len(section["questions"]),
                    "rules": sum(1 for q in section["questions"] if q.get("show_if")),
                }
                for section in conversion.data["sections"]
            ]
            return render(
                request,
                "surveys/questionnaire_import_preview.html",
                {"conversion": conversion, "payload": payload, "sections": sections},
            )
    return render(request, "surveys/questionnaire_import.html", {"form": form})


def _import_and_open(request, form, data):
    try:
        version = services.questionnaire_import(data=data, user=request.user)
    except SurveyError as error:
        form.add_error(None, error)
        return render(request, "surveys/questionnaire_import.html", {"form": form})
    messages.success(request, _("Questionnaire imported as a draft."))
    return redirect("surveys:version-detail", pk=version.pk)


@require(perms.can_build_questionnaire)
def version_detail(request, pk: int):
    version = version_get_for_user(request.user, pk)
    structure = version_structure(version, expand=False)
    bin_ = version_bin(version) if version.is_editable else None
    return render(
        request,
        "surveys/version_detail.html",
        {
            "version": version,
            "structure": structure,
            "versions": version.questionnaire.versions.order_by("-number"),
            "bin": bin_,
            "publish_confirm": _publish_confirm(version, structure, bin_),
            "close_confirm": _close_confirm(version),
        },
    )


def _publish_confirm(version, structure, bin_) -> str:
    sections = ngettext("%(n)d section", "%(n)d sections", len(structure.sections)) % {
        "n": len(structure.sections)
    }
    questions = ngettext("%(n)d question", "%(n)d questions", len(structure.questions)) % {
        "n": len(structure.questions)
    }
    text = _(
        "Publish version %(number)d? Its %(sections)s and %(questions)s will be frozen: "
        "changing them will need a new version."
    ) % {"number": version.number, "sections": sections, "questions": questions}
    if bin_:
        text += " " + _("The %(n)d item(s) in the bin will be erased for good.") % {"n": len(bin_)}
    return text


def _close_confirm(version) -> str:
    campaigns = version.campaigns.count()
    return _(
        "Close version %(number)d? No new campaign will be able to use it; the %(count)s "
        "using it keep running until their closing date."
    ) % {
        "number": version.number,
        "count": ngettext("%(n)d campaign", "%(n)d campaigns", campaigns) % {"n": campaigns},
    }


@require(perms.can_build_questionnaire)
def version_update(request, pk: int):
    version = version_get_for_user(request.user, pk)
    form = VersionForm(request.POST or None, instance=version)
    if request.method == "POST" and form.is_valid():
        try:
            services.version_update(version=version, **form.cleaned_data)
        except SurveyError as error:
            form.add_error(None, error)
        else:
            return redirect("surveys:version-detail", pk=pk)
    return render(request, "surveys/version_form.html", {"form": form, "version": version})


@require(perms.can_build_questionnaire)
def version_preview(request, pk: int):
    version = version_get_for_user(request.user, pk)
    structure = version_structure(version, expand=False)
    pages = [
        (s, filling.page_views(structure, s.code, {}, {}, editable=True, preview=True))
        for s in structure.sections
    ]
    return render(request, "surveys/version_preview.html", {"version": version, "pages": pages})


def _version_action(request, pk: int, action, success: str):
    version = version_get_for_user(request.user, pk)
    try:
        result = action(version=version, user=request.user)
    except SurveyError as error:
        messages.error(request, _error_text(error))
        return redirect("surveys:version-detail", pk=pk)
    messages.success(request, success)
    return redirect("surveys:version-detail", pk=result.pk)


@require(perms.can_build_questionnaire)
@require_POST
def version_publish(request, pk: int):
    return _version_action(
        request, pk, services.version_publish, _("The version is published; it is now frozen.")
    )


@require(perms.can_build_questionnaire)
@require_POST
def version_new(request, pk: int):
    return _version_action(
        request, pk, services.version_new_draft, _("A new draft version was created from this one.")
    )


@require(perms.can_build_questionnaire)
@require_POST
def version_close(request, pk: int):
    return _version_action(request, pk, services.version_close, _("The version is closed."))


@require(perms.can_build_questionnaire)
def version_export(request, pk: int):
    version = version_get_for_user(request.user, pk)
    data = services.version_to_dict(version)
    if request.GET.get("format") == "redcap":
        content, extension = redcap.questionnaire_to_dictionary(data), "csv"
        content_type = "text/csv; charset=utf-8"
    else:
        content, extension = json.dumps(data, ensure_ascii=False, indent=2), "json"
        content_type = "application/json; charset=utf-8"
    response = HttpResponse(content, content_type=content_type)
    filename = f"{version.questionnaire.code}-v{version.number}.{extension}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _section_for_user(user, pk: int) -> Section:
    return get_object_or_404(
        Section.objects.select_related("version").filter(
            version__questionnaire__in=questionnaire_list_for_user(user)
        ),
        pk=pk,
    )


def _question_for_user(user, pk: int) -> Question:
    return get_object_or_404(
        Question.objects.select_related("section", "version").filter(
            version__questionnaire__in=questionnaire_list_for_user(user)
        ),
        pk=pk,
    )


@require(perms.can_build_questionnaire)
def section_edit(request, version_pk: int | None = None, pk: int | None = None):
    section = _section_for_user(request.user, pk) if pk else None
    version = section.version if section else version_get_for_user(request.user, version_pk)
    initial = (
        {name: getattr(section, name) for name in SectionForm.base_fields if name != "repeat_for"}
        if section
        else {}
    )
    if section is not None and section.repeat_for_id:
        initial["repeat_for"] = section.repeat_for.code
    form = SectionForm(request.POST or None, initial=initial, version=version, section=section)
    if request.method == "POST" and form.is_valid():
        try:
            services.section_save(version=version, section=section, **form.cleaned_data)
        except SurveyError as error:
            field = getattr(error, "field", None)
            form.add_error(field if field in form.fields else None, error)
        else:
            return redirect("surveys:version-detail", pk=version.pk)
    return render(
        request, "surveys/section_form.html", {"form": form, "version": version, "section": section}
    )


@require(perms.can_build_questionnaire)
@require_POST
def section_delete(request, pk: int):
    section = _section_for_user(request.user, pk)
    try:
        count = services.section_delete(section=section)
    except SurveyError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(
            request,
            ngettext(
                "Section %(code)s and its %(n)d question are in the bin: restore them there "
                "until the version is published.",
                "Section %(code)s and its %(n)d questions are in the bin: restore them there "
                "until the version is published.",
                count,
            )
            % {"code": section.code, "n": count},
        )
    return redirect("surveys:version-detail", pk=section.version_id)


@require(perms.can_build_questionnaire)
@require_POST
def section_restore(request, pk: int):
    section = _section_for_user(request.user, pk)
    try:
        services.section_restore(section=section)
    except SurveyError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("Section %(code)s is restored.") % {"code": section.code})
    return redirect("surveys:version-detail", pk=section.version_id)


@require(perms.can_build_questionnaire)
@require_POST
def section_move(request, pk: int):
    section = _section_for_user(request.user, pk)
    try:
        services.section_move(section=section, direction=request.POST.get("direction", ""))
    except SurveyError as error:
        messages.error(request, _error_text(error))
    return redirect("surveys:version-detail", pk=section.version_id)


@require(perms.can_build_questionnaire)
def question_edit(request, section_pk: int | None = None, pk: int | None = None):
    question = _question_for_user(request.user, pk) if pk else None
    section = question.section if question else _section_for_user(request.user, section_pk)
    initial = QuestionForm.initial_for(question) if question else {}
    form = QuestionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.question_save(section=section, question=question, data=form.to_input())
        except SurveyError as error:
            field = getattr(error, "field", None)
            form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, _("Question saved."))
            return redirect(
                reverse("surveys:version-detail", args=[section.version_id])
                + f"#section-{section.pk}"
            )
    structure = version_structure(section.version, expand=False)
    return render(
        request,
        "surveys/question_form.html",
        {
            "form": form,
            "section": section,
            "question": question,
            "version": section.version,
            "structure": structure,
            "rule_editor": rule_editor.editor_data(structure, section, question),
        },
    )


@require(perms.can_build_questionnaire)
@require_POST
def question_delete(request, pk: int):
    question = _question_for_user(request.user, pk)
    try:
        services.question_delete(question=question)
    except SurveyError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(
            request,
            _("Question %(code)s is in the bin: restore it there until the version is published.")
            % {"code": question.code},
        )
    return redirect("surveys:version-detail", pk=question.version_id)


@require(perms.can_build_questionnaire)
@require_POST
def question_restore(request, pk: int):
    question = _question_for_user(request.user, pk)
    try:
        services.question_restore(question=question)
    except SurveyError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("Question %(code)s is restored.") % {"code": question.code})
    return redirect("surveys:version-detail", pk=question.version_id)


@require(perms.can_build_questionnaire)
@require_POST
def question_move(request, pk: int):
    question = _question_for_user(request.user, pk)
    try:
        services.question_move(question=question, direction=request.POST.get("direction", ""))
    except SurveyError as error:
        messages.error(request, _error_text(error))
    return redirect("surveys:version-detail", pk=question.version_id)


# --- Campaigns ------------------------------------------------------------------------
@require(perms.can_use_surveys)
def campaign_list(request):
    user = request.user
    campaigns = list(campaign_list_for_user(user))
    own = {}
    centre_ids = core.centre_ids_for(user)
    if centre_ids:
        for response in Response.objects.filter(campaign__in=campaigns, centre__in=centre_ids):
            own.setdefault(response.campaign_id, response)
    rows = [(c, own.get(c.pk)) for c in campaigns]
    return render(
        request,
        "surveys/campaign_list.html",
        {
            "rows": rows,
            "can_manage": perms.can_manage_campaign(user),
            "can_build": perms.can_build_questionnaire(user),
            "can_view_results": perms.can_view_results(user),
            "can_answer": perms.can_answer_survey(user),
        },
    )


@require(perms.can_manage_campaign)
def campaign_edit(request, pk: int | None = None):
    campaign = campaign_get_for_user(request.user, pk) if pk else None
    form = CampaignForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        instance = form.save(commit=False)
        instance.section_roles = form.section_roles() if campaign else {}
        try:
            campaign = services.campaign_save(
                campaign=instance, user=request.user, centres=form.cleaned_data["centres"]
            )
        except SurveyError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("surveys:campaign-detail", pk=campaign.pk)
    return render(request, "surveys/campaign_form.html", {"form": form, "campaign": campaign})


@require(perms.can_view_results)
def campaign_detail(request, pk: int):
    campaign = campaign_get_for_user(request.user, pk)
    return render(
        request,
        "surveys/campaign_detail.html",
        {
            "campaign": campaign,
            "participation": results.participation(campaign),
            "invitations": invitation_list(campaign),
            "reminders": campaign.reminders.all()[:10],
            "can_manage": perms.can_manage_campaign(request.user),
            "can_export": perms.can_export_responses(request.user),
            "formats": exports.FORMATS,
        },
    )


@require(perms.can_manage_campaign)
def campaign_invite(request, pk: int):
    campaign = campaign_get_for_user(request.user, pk)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        targets = []
        for membership in Membership.objects.filter(
            centre__in=data["centres"], role__in=data["roles"]
        ).select_related("user", "centre"):
            if membership.user.email:
                targets.append(
                    (
                        membership.centre,
                        membership.user.email,
                        membership.user.get_full_name(),
                        membership.role,
                    )
                )
        for email in data["emails"]:
            targets.append((data["centres"][0], email, "", data["role"]))
        if targets:
            created, existing = services.campaign_invite(
                campaign=campaign, targets=targets, days=data["days"]
            )
            if created:
                text = ngettext(
                    "%(count)d invitation sent.", "%(count)d invitations sent.", created
                ) % {"count": created}
                if existing:
                    text += " " + ngettext(
                        "%(count)d person was already invited.",
                        "%(count)d people were already invited.",
                        existing,
                    ) % {"count": existing}
                messages.success(request, text)
            else:
                messages.info(
                    request,
                    ngettext(
                        "No new invitation: %(count)d person was already invited.",
                        "No new invitation: the %(count)d people were already invited.",
                        existing,
                    )
                    % {"count": existing},
                )
            return redirect("surveys:campaign-detail", pk=pk)
        form.add_error(
            None, _("Nobody to invite: no member with these roles has an e-mail address.")
        )
    return render(request, "surveys/campaign_invite.html", {"form": form, "campaign": campaign})


def _invitation_for_user(user, pk: int) -> Invitation:
    """An invitation of a campaign the user may see (404 otherwise)."""
    campaigns = campaign_list_for_user(user)
    return get_object_or_404(
        Invitation.objects.select_related("campaign", "centre"), pk=pk, campaign__in=campaigns
    )


def _invitation_action(request, pk: int, action, success: str):
    invitation = _invitation_for_user(request.user, pk)
    try:
        action(invitation=invitation, user=request.user)
    except SurveyError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, success % {"email": invitation.email})
    return redirect("surveys:campaign-detail", pk=invitation.campaign_id)


@require(perms.can_manage_campaign)
@require_POST
def invitation_revoke(request, pk: int):
    return _invitation_action(
        request,
        pk,
        services.invitation_revoke,
        _("The invitation of %(email)s is revoked: its link no longer works."),
    )


@require(perms.can_manage_campaign)
@require_POST
def invitation_reissue(request, pk: int):
    return _invitation_action(
        request,
        pk,
        services.invitation_reissue,
        _("A new invitation link was sent to %(email)s."),
    )


@require(perms.can_manage_campaign)
@require_POST
def campaign_remind(request, pk: int):
    campaign = campaign_get_for_user(request.user, pk)
    try:
        count = services.campaign_remind(campaign=campaign, user=request.user)
    except SurveyError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("%(count)d reminder(s) sent.") % {"count": count})
    return redirect("surveys:campaign-detail", pk=pk)


@require(perms.can_manage_campaign)
@require_POST
def campaign_close(request, pk: int):
    campaign = campaign_get_for_user(request.user, pk)
    services.campaign_close(campaign=campaign, user=request.user)
    messages.success(request, _("The campaign is closed."))
    return redirect("surveys:campaign-detail", pk=pk)


def _filters(request) -> dict:
    return {key: request.GET.get(key, "") for key in ("sector", "departement")}


@require(perms.can_view_results)
def campaign_results(request, pk: int):
    campaign = campaign_get_for_user(request.user, pk)
    filters = _filters(request)
    data = results.campaign_results(campaign, **filters)
    return render(
        request,
        "surveys/campaign_results.html",
        {
            "campaign": campaign,
            "results": data,
            "filters": filters,
            "sectors": results.sector_choices(),
            "departements": results.departement_choices(),
            "can_export": perms.can_export_responses(request.user),
            "min_cell": suppression.threshold(),
            "suppression_note": suppression.note(),
        },
    )


def _comparison_centres(user, campaign):
    """Centres of the campaign whose comparison the user may read: every centre for the
    regional readers, their own centres for the members (any role)."""
    taking_part = Q(pk__in=campaign.centres.values("pk")) | Q(
        pk__in=campaign.responses.values("centre")
    )
    return core.centres_for_user(user).filter(taking_part).order_by("name")


@require(perms.can_view_centre_results)
def campaign_centre_results(request, pk: int, centre_pk: int | None = None):
    campaign = campaign_get_for_user(request.user, pk)
    centres = _comparison_centres(request.user, campaign)
    wanted = request.GET.get("centre", "")
    if centre_pk is None and wanted:
        centre_pk = int(wanted) if wanted.isdigit() and len(wanted) < 10 else 0
    if centre_pk is not None:
        centre = get_object_or_404(centres, pk=centre_pk)  # another centre's: 404
    else:
        answered = centres.filter(pk__in=campaign.responses.values("centre"))
        centre = answered.first() or centres.first()
    context = {"campaign": campaign, "centre": centre, "centres": centres}
    if centre is not None:
        context.update(
            centre_summary.build_centre_summary_context(campaign=campaign, centre=centre)
        )
    return render(request, "surveys/campaign_centre_results.html", context)


@require(perms.can_view_centre_results)
def campaign_centre_pdf(request, pk: int, centre_pk: int):
    campaign = campaign_get_for_user(request.user, pk)
    centre = get_object_or_404(_comparison_centres(request.user, campaign), pk=centre_pk)
    spec = centre_summary.centre_summary_spec(campaign=campaign, centre=centre)
    content = render_pdf(spec.template_name, spec.context)
    audit_read(
        user=request.user,
        obj=campaign,
        centre=centre,
        action=ReadAction.DOWNLOAD,
        detail=spec.filename,
    )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{spec.filename}"'
    return response


@require(perms.can_export_responses)
def campaign_export(request, pk: int, fmt: str | None = None):
    """One export; ``?en_cours=1`` adds the responses still being filled. Without ``fmt``
    in the path (the campaign page's form), the format comes from ``?format=``."""
    campaign = campaign_get_for_user(request.user, pk)
    if fmt is None:
        fmt = request.GET.get("format", "")
        if fmt not in exports.FORMATS:
            messages.error(request, _("Choose an export format from the list."))
            return redirect("surveys:campaign-detail", pk=pk)
    if fmt not in exports.FORMATS:
        raise Http404
    include_in_progress = request.GET.get("en_cours") == "1"
    try:
        content, content_type, filename = exports.export(
            campaign, fmt, include_in_progress=include_in_progress
        )
    except exports.ExportUnavailable as error:
        messages.error(request, str(error))
        return redirect("surveys:campaign-detail", pk=pk)
    detail = f"{fmt}+en_cours" if include_in_progress else fmt
    audit_read(user=request.user, obj=campaign, action=ReadAction.EXPORT, detail=detail)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require(perms.can_view_results)
def campaign_report(request, pk: int):
    campaign = campaign_get_for_user(request.user, pk)
    can_edit = perms.can_manage_campaign(request.user)
    initial = {
        "introduction": campaign.introduction,
        "conclusions": campaign.conclusions,
        "cross_tabs": "\n".join(" × ".join(p) for p in campaign.cross_tabs),
        "text_themes": themes_text(campaign.text_themes),
    }
    form = ReportForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.campaign_report_update(campaign=campaign, **form.cleaned_data)
            except SurveyError as error:
                form.add_error("cross_tabs", error)
            else:
                messages.success(request, _("The report texts are saved."))
                return redirect("surveys:campaign-report", pk=pk)
    return render(
        request,
        "surveys/campaign_report.html",
        {
            "campaign": campaign,
            "form": form,
            "can_edit": can_edit,
            "report_params": {"campaign": campaign.pk},
            "submitted": campaign.responses.filter(status=ResponseStatus.SUBMITTED).count(),
            "report_jobs": report_job_list_for_user(request.user, campaign),
            "printed_texts": [
                (_("Introduction"), campaign.introduction),
                (_("Conclusions"), campaign.conclusions),
            ],
        },
    )
