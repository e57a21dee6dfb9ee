"""The COPIL meeting pack (before the meeting) and minutes (after it), as PDF reports."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from onco_hdf import governance, permissions, selectors, services, signing
from onco_hdf.dashboard import steering_context
from onco_hdf.jobs import JobInputError
from onco_hdf.models import CopilDecision, CopilMeeting
from onco_hdf.reports import ReportSpec


@dataclass(frozen=True)
class PackItem:
    decision: CopilDecision
    exists: bool
    diff: governance.VersionDiff | None
    comments: list


def _meeting_from(job) -> CopilMeeting:
    try:
        meeting_id = int(job.params.get("p_meeting", ""))
    except ValueError as error:
        raise JobInputError(_("No meeting was chosen.")) from error
    meeting = selectors.copil_meeting_list_for_user(job.created_by).filter(pk=meeting_id).first()
    if meeting is None:
        raise JobInputError(_("This meeting does not exist."))
    return meeting


def pack_items(meeting: CopilMeeting) -> list[PackItem]:
    items = []
    for decision in meeting.decisions.select_related("content_type").prefetch_related(
        "comments__author"
    ):
        model = decision.content_type.model_class()
        artefact = model._default_manager.filter(pk=decision.object_id).first() if model else None
        diff = governance.version_diff(artefact) if artefact is not None else None
        items.append(PackItem(decision, artefact is not None, diff, list(decision.comments.all())))
    return items


def build_copil_pack_context(*, meeting: CopilMeeting, user) -> dict:
    return {
        "report_title": _("COPIL meeting pack"),
        "report_subtitle": str(meeting),
        "toc": [
            {"anchor": "agenda", "title": _("Agenda")},
            {"anchor": "items", "title": _("Items for decision")},
            {"anchor": "steering", "title": _("Milestones and COPIL")},
            {"anchor": "participation", "title": _("Participation of the centres")},
            {"anchor": "trends", "title": _("Trends")},
            {"anchor": "actions", "title": _("Open actions")},
        ],
        "meeting": meeting,
        "items": pack_items(meeting),
        "open_actions": list(selectors.copil_open_actions(user)),
        **steering_context(user),
    }


def build_copil_pack_report(*, job, report) -> ReportSpec:
    meeting = _meeting_from(job)
    return ReportSpec(
        template_name="reports/onco_hdf/copil_pack.html",
        context=build_copil_pack_context(meeting=meeting, user=job.created_by),
        filename=f"dossier-copil-{meeting.held_on:%Y-%m-%d}.pdf",
    )


def build_copil_minutes_context(*, meeting: CopilMeeting) -> dict:
    return {
        "report_title": _("COPIL minutes"),
        "report_subtitle": str(meeting),
        "toc": [
            {"anchor": "attendance", "title": _("Attendees")},
            {"anchor": "decisions", "title": _("Decisions")},
            {"anchor": "actions", "title": _("Actions")},
        ],
        "meeting": meeting,
        "attendees": meeting.attendees.order_by("last_name", "first_name"),
        "decisions": list(meeting.decisions.select_related("decided_by")),
        "actions": list(meeting.actions.all()),
    }


def build_copil_minutes_report(*, job, report) -> ReportSpec:
    meeting = _meeting_from(job)
    if meeting.decisions.filter(outcome="pending").exists():
        raise JobInputError(_("Record the outcome of every item before generating the minutes."))
    user = job.created_by

    def attach(content: bytes) -> None:
        services.copil_minutes_attach(meeting=meeting, content=content, user=user, job=job)

    return ReportSpec(
        template_name="reports/onco_hdf/copil_minutes.html",
        context=build_copil_minutes_context(meeting=meeting),
        filename=f"compte-rendu-copil-{meeting.held_on:%Y-%m-%d}.pdf",
        # The project manager's generation is the meeting's minutes; a reader's is a copy.
        on_rendered=attach if permissions.can_manage_copil(user) else None,
        official=signing.Official.of(meeting, title=_("COPIL minutes"), reference=str(meeting)),
    )
