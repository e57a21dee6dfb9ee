"""COPIL pages: meetings, the decisions on their agenda, comments, minutes, overrides."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from onco_hdf import governance, permissions, selectors, services
from onco_hdf.dashboard import milestone_rows
from onco_hdf.forms import (
    CopilActionForm,
    CopilCommentForm,
    CopilDecisionAddForm,
    CopilDecisionRecordForm,
    CopilMeetingForm,
    CopilMinutesForm,
    GateOverrideForm,
    MilestoneForm,
)
from onco_hdf.models import CopilMeeting, MeetingStatus, Milestone, Outcome
from onco_hdf.permissions import require


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


@require(permissions.can_view_copil)
def meeting_list(request):
    meetings = selectors.copil_meeting_list_for_user(request.user)
    today = timezone.localdate()
    return render(
        request,
        "onco_hdf/copil_meeting_list.html",
        {
            "upcoming": meetings.filter(held_on__gte=today, status=MeetingStatus.PLANNED).order_by(
                "held_on"
            ),
            "past": meetings.exclude(held_on__gte=today, status=MeetingStatus.PLANNED),
            "can_manage": permissions.can_manage_copil(request.user),
        },
    )


@require(permissions.can_manage_copil)
def meeting_edit(request, pk: int | None = None):
    meeting = selectors.copil_meeting_get_for_user(request.user, pk) if pk else None
    if meeting is not None and meeting.status == MeetingStatus.HELD:
        messages.error(request, _("This meeting is closed: it can no longer be edited."))
        return redirect("onco_hdf:copil-meeting-detail", pk=meeting.pk)
    form = CopilMeetingForm(request.POST or None, instance=meeting)
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.copil_meeting_save(
                meeting=form.save(commit=False),
                attendees=form.cleaned_data["attendees"],
                user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Meeting saved."))
            return redirect("onco_hdf:copil-meeting-detail", pk=meeting.pk)
    return render(request, "onco_hdf/copil_meeting_form.html", {"form": form, "meeting": meeting})


def _meeting_context(request, meeting: CopilMeeting, **forms) -> dict:
    user = request.user
    decisions = list(
        meeting.decisions.select_related("decided_by").prefetch_related("comments__author")
    )
    can_manage = permissions.can_manage_copil(user)
    return {
        "meeting": meeting,
        "decisions": decisions,
        "attendees": meeting.attendees.order_by("last_name", "first_name"),
        "can_manage": can_manage,
        "is_open": meeting.status == MeetingStatus.PLANNED,
        "add_form": forms.get("add_form") or (CopilDecisionAddForm() if can_manage else None),
        "minutes_form": forms.get("minutes_form") or (CopilMinutesForm() if can_manage else None),
        "action_form": forms.get("action_form") or (CopilActionForm() if can_manage else None),
        "actions": meeting.actions.all(),
        "minutes_versions": meeting.minutes_versions.select_related("created_by"),
        "pack_params": {"meeting": meeting.pk},
    }


@require(permissions.can_view_copil)
def meeting_detail(request, pk: int):
    meeting = selectors.copil_meeting_get_for_user(request.user, pk)
    return render(request, "onco_hdf/copil_meeting_detail.html", _meeting_context(request, meeting))


@require(permissions.can_manage_copil)
@require_POST
def decision_add(request, pk: int):
    meeting = selectors.copil_meeting_get_for_user(request.user, pk)
    form = CopilDecisionAddForm(request.POST)
    if form.is_valid():
        try:
            services.copil_decision_add(
                meeting=meeting,
                artefact=form.cleaned_data["artefact"],
                summary=form.cleaned_data["summary"],
                user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Item added to the agenda."))
            return redirect("onco_hdf:copil-meeting-detail", pk=meeting.pk)
    context = _meeting_context(request, meeting, add_form=form)
    return render(request, "onco_hdf/copil_meeting_detail.html", context, status=400)


@require(permissions.can_manage_copil)
def minutes_upload(request, pk: int):
    meeting = selectors.copil_meeting_get_for_user(request.user, pk)
    if request.method != "POST":
        return redirect("onco_hdf:copil-meeting-detail", pk=meeting.pk)
    form = CopilMinutesForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.copil_meeting_minutes_upload(
                meeting=meeting, upload=form.cleaned_data["minutes"], user=request.user
            )
        except ValidationError as error:
            form.add_error("minutes", error)
        else:
            messages.success(request, _("Minutes saved."))
            return redirect("onco_hdf:copil-meeting-detail", pk=meeting.pk)
    context = _meeting_context(request, meeting, minutes_form=form)
    return render(request, "onco_hdf/copil_meeting_detail.html", context, status=400)


@require(permissions.can_view_copil)
def minutes_download(request, pk: int, number: int | None = None):
    """The current minutes of the meeting, or version ``number`` of them."""
    meeting = selectors.copil_meeting_get_for_user(request.user, pk)
    if number is None:
        if not meeting.minutes_file:
            raise Http404
        stored, suffix = meeting.minutes_file, ""
    else:
        stored = get_object_or_404(meeting.minutes_versions, number=number).file
        suffix = f"-v{number}"
    name = f"compte-rendu-copil-{meeting.held_on:%Y-%m-%d}{suffix}.pdf"
    return FileResponse(stored.open("rb"), as_attachment=True, filename=name)


@require(permissions.can_manage_copil)
@require_POST
def meeting_close(request, pk: int):
    meeting = selectors.copil_meeting_get_for_user(request.user, pk)
    try:
        services.copil_meeting_close(meeting=meeting, user=request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("The meeting is marked as held."))
    return redirect("onco_hdf:copil-meeting-detail", pk=meeting.pk)


def _decision_context(request, decision, **forms) -> dict:
    user = request.user
    is_open = decision.meeting.status == MeetingStatus.PLANNED
    may_comment = (
        is_open
        and decision.outcome == Outcome.PENDING
        and permissions.can_comment_copil_decision(user)
    )
    return {
        "decision": decision,
        "meeting": decision.meeting,
        "comments": decision.comments.select_related("author"),
        "artefact_url": governance.artefact_url(decision.content_type_id, decision.object_id),
        "can_manage": permissions.can_manage_copil(user) and is_open,
        "comment_form": forms.get("comment_form") or (CopilCommentForm() if may_comment else None),
    }


@require(permissions.can_view_copil)
def decision_detail(request, pk: int):
    decision = selectors.copil_decision_get_for_user(request.user, pk)
    return render(
        request, "onco_hdf/copil_decision_detail.html", _decision_context(request, decision)
    )


@require(permissions.can_comment_copil_decision)
@require_POST
def decision_comment(request, pk: int):
    decision = selectors.copil_decision_get_for_user(request.user, pk)
    form = CopilCommentForm(request.POST)
    if form.is_valid():
        try:
            services.copil_decision_comment(
                decision=decision, user=request.user, text=form.cleaned_data["text"]
            )
        except ValidationError as error:
            form.add_error("text", error)
        else:
            messages.success(request, _("Comment added."))
            return redirect("onco_hdf:copil-decision-detail", pk=decision.pk)
    context = _decision_context(request, decision, comment_form=form)
    return render(request, "onco_hdf/copil_decision_detail.html", context, status=400)


@require(permissions.can_manage_copil)
def decision_record(request, pk: int):
    decision = selectors.copil_decision_get_for_user(request.user, pk)
    initial = {
        "outcome": decision.outcome if decision.outcome != Outcome.PENDING else Outcome.VALIDATED,
        "reservations": decision.reservations,
        "council_opinion": decision.council_opinion,
        "council_opinion_on": decision.council_opinion_on,
        "council_text": decision.council_text,
    }
    form = CopilDecisionRecordForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.copil_decision_record(
                decision=decision, user=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Decision recorded."))
            return redirect("onco_hdf:copil-meeting-detail", pk=decision.meeting_id)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "onco_hdf/copil_decision_record.html",
        {"decision": decision, "meeting": decision.meeting, "form": form},
        status=status,
    )


@require(permissions.can_view_copil)
def override_list(request):
    can_manage = permissions.can_manage_copil(request.user)
    form = GateOverrideForm(request.POST or None) if can_manage else None
    if request.method == "POST":
        if form is None:
            raise permissions.PermissionDenied
        if form.is_valid():
            try:
                services.gate_override_grant(
                    artefact=form.cleaned_data["artefact"],
                    reason=form.cleaned_data["reason"],
                    user=request.user,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Override recorded."))
                return redirect("onco_hdf:copil-override-list")
    return render(
        request,
        "onco_hdf/copil_override_list.html",
        {
            "overrides": selectors.gate_override_list_for_user(request.user),
            "form": form,
        },
        status=400 if request.method == "POST" else 200,
    )


@require(permissions.can_view_copil)
def milestone_list(request, pk: int | None = None):
    can_manage = permissions.can_manage_copil(request.user)
    milestone = get_object_or_404(Milestone, pk=pk) if pk else None
    if request.method == "POST" and not can_manage:
        raise permissions.PermissionDenied
    form = MilestoneForm(request.POST or None, instance=milestone) if can_manage else None
    if request.method == "POST" and form.is_valid():
        try:
            services.milestone_save(milestone=form.save(commit=False))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Milestone saved."))
            return redirect("onco_hdf:milestone-list")
    return render(
        request,
        "onco_hdf/milestone_list.html",
        {
            "milestones": milestone_rows(request.user),
            "form": form,
            "milestone": milestone,
        },
        status=400 if request.method == "POST" else 200,
    )


@require(permissions.can_manage_copil)
@require_POST
def action_add(request, pk: int):
    meeting = selectors.copil_meeting_get_for_user(request.user, pk)
    form = CopilActionForm(request.POST)
    if form.is_valid():
        try:
            services.copil_action_add(meeting=meeting, user=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Action added."))
            return redirect("onco_hdf:copil-meeting-detail", pk=meeting.pk)
    context = _meeting_context(request, meeting, action_form=form)
    return render(request, "onco_hdf/copil_meeting_detail.html", context, status=400)


@require(permissions.can_manage_copil)
@require_POST
def action_done(request, pk: int):
    action = get_object_or_404(selectors.copil_open_actions(request.user), pk=pk)
    services.copil_action_done(action=action, user=request.user)
    messages.success(request, _("Action marked as done."))
    return redirect("onco_hdf:copil-meeting-detail", pk=action.meeting_id)
