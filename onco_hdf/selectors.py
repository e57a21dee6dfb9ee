"""Reads of the foundation, already scoped to the user."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from onco_hdf import permissions
from onco_hdf.models import (
    CopilAction,
    CopilDecision,
    CopilMeeting,
    GateOverride,
    MeetingStatus,
    Milestone,
    Outcome,
)


# --- COPIL governance: regional readers only; anyone else sees nothing ---------------
def copil_meeting_list_for_user(user) -> QuerySet[CopilMeeting]:
    if not permissions.can_view_copil(user):
        return CopilMeeting.objects.none()
    return CopilMeeting.objects.annotate(
        item_count=Count("decisions", distinct=True),
        pending_count=Count(
            "decisions", filter=Q(decisions__outcome=Outcome.PENDING), distinct=True
        ),
    )


def copil_meeting_get_for_user(user, pk: int) -> CopilMeeting:
    return get_object_or_404(copil_meeting_list_for_user(user), pk=pk)


def copil_decision_list_for_user(user) -> QuerySet[CopilDecision]:
    if not permissions.can_view_copil(user):
        return CopilDecision.objects.none()
    return CopilDecision.objects.select_related("meeting", "content_type", "decided_by")


def copil_decision_get_for_user(user, pk: int) -> CopilDecision:
    return get_object_or_404(copil_decision_list_for_user(user), pk=pk)


def copil_next_meeting(user) -> CopilMeeting | None:
    return (
        copil_meeting_list_for_user(user)
        .filter(status=MeetingStatus.PLANNED, held_on__gte=timezone.localdate())
        .order_by("held_on", "pk")
        .first()
    )


def copil_decisions_awaiting(user) -> QuerySet[CopilDecision]:
    return (
        copil_decision_list_for_user(user)
        .filter(outcome=Outcome.PENDING)
        .order_by("meeting__held_on", "pk")
    )


def gate_override_list_for_user(user) -> QuerySet[GateOverride]:
    if not permissions.can_view_copil(user):
        return GateOverride.objects.none()
    return GateOverride.objects.select_related("granted_by", "content_type")


def milestone_list_for_user(user) -> QuerySet[Milestone]:
    if not permissions.can_view_copil(user):
        return Milestone.objects.none()
    return Milestone.objects.all()


def copil_open_actions(user) -> QuerySet[CopilAction]:
    if not permissions.can_view_copil(user):
        return CopilAction.objects.none()
    return CopilAction.objects.filter(done_on__isnull=True).select_related("meeting")
