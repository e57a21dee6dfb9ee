"""The habilitation sheet workflow: ONE table of transitions and who may do each.

Actors are relative to the sheet: ``subject`` is the physician the sheet is about;
``head`` a head of department of the sheet's centre; ``pm`` the regional project manager;
``system`` the daily beat task. Neither ``head`` nor ``pm`` ever matches the subject, so a
sheet cannot be validated by its own physician.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from habilitations.models import SheetStatus as S
from onco_hdf.models import Role
from onco_hdf.permissions import has_centre_role, is_project_manager

SUBJECT, HEAD, PM, SYSTEM = "subject", "head", "pm", "system"

ACTOR_LABELS = {
    SUBJECT: _("the physician"),
    HEAD: _("the head of department of the centre"),
    PM: _("the regional project manager"),
    SYSTEM: _("automatic (daily check)"),
}


@dataclass(frozen=True)
class Transition:
    action: str
    label: object
    sources: frozenset
    target: str
    actors: frozenset
    comment_required: bool = False
    # False: done through its own page (review) or by another service, never a plain button.
    button: bool = True
    style: str = "primary"


TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        "submit",
        _("Submit for validation"),
        frozenset({S.DRAFT}),
        S.SUBMITTED,
        frozenset({SUBJECT}),
    ),
    Transition(
        "return",
        _("Return to the physician"),
        frozenset({S.SUBMITTED}),
        S.DRAFT,
        frozenset({HEAD}),
        comment_required=True,
        button=False,
    ),
    Transition(
        "validate_head",
        _("Validate (head of department)"),
        frozenset({S.SUBMITTED}),
        S.HEAD_VALIDATED,
        frozenset({HEAD}),
        button=False,
    ),
    Transition(
        "return_regional",
        _("Return to the physician (regional)"),
        frozenset({S.HEAD_VALIDATED}),
        S.DRAFT,
        frozenset({PM}),
        comment_required=True,
        style="outline-danger",
    ),
    Transition(
        "validate_regional",
        _("Record the regional validation"),
        frozenset({S.HEAD_VALIDATED}),
        S.REGIONAL_VALIDATED,
        frozenset({PM}),
        button=False,  # a signature: through its confirmation page
    ),
    Transition(
        "activate",
        _("Activate"),
        frozenset({S.REGIONAL_VALIDATED}),
        S.ACTIVE,
        frozenset({HEAD, PM}),
    ),
    Transition(
        "flag_renewal",
        _("Mark as to be renewed"),
        frozenset({S.ACTIVE}),
        S.TO_RENEW,
        frozenset({HEAD, PM, SYSTEM}),
        style="outline-secondary",
    ),
    Transition(
        "mark_renewed",
        _("Replaced by its renewal"),
        frozenset({S.ACTIVE, S.TO_RENEW}),
        S.RENEWED,
        frozenset({HEAD, PM}),
        button=False,
    ),
    Transition(
        "suspend",
        _("Suspend"),
        frozenset({S.REGIONAL_VALIDATED, S.ACTIVE, S.TO_RENEW}),
        S.SUSPENDED,
        frozenset({HEAD, PM}),
        comment_required=True,
        style="outline-danger",
    ),
    Transition(
        "reinstate",
        _("Reinstate"),
        frozenset({S.SUSPENDED}),
        S.ACTIVE,
        frozenset({PM}),
        comment_required=True,
        style="outline-primary",
    ),
    Transition(
        "archive",
        _("Archive"),
        frozenset({S.DRAFT, S.ACTIVE, S.TO_RENEW, S.RENEWED, S.SUSPENDED}),
        S.ARCHIVED,
        frozenset({HEAD, PM}),
        comment_required=True,
        style="outline-secondary",
    ),
)

BY_ACTION = {t.action: t for t in TRANSITIONS}


def actor_kinds(user, sheet) -> set[str]:
    """What ``user`` is with respect to ``sheet`` (``system`` when user is None)."""
    if user is None:
        return {SYSTEM}
    if user.pk == sheet.physician_id:
        return {SUBJECT}
    kinds = set()
    if has_centre_role(user, sheet.centre_id, Role.HEAD_OF_DEPARTMENT):
        kinds.add(HEAD)
    if is_project_manager(user):
        kinds.add(PM)
    return kinds


def may(user, sheet, action: str) -> bool:
    transition = BY_ACTION.get(action)
    if transition is None or sheet.status not in transition.sources:
        return False
    return bool(actor_kinds(user, sheet) & transition.actors)


def available(user, sheet, *, buttons_only: bool = True) -> list[Transition]:
    return [t for t in TRANSITIONS if (t.button or not buttons_only) and may(user, sheet, t.action)]


def describe() -> list[dict]:
    """The table in words, for the help page."""
    labels = dict(S.choices)
    return [
        {
            "label": t.label,
            "sources": [labels[s] for s in S.values if s in t.sources],
            "target": labels[t.target],
            "actors": [ACTOR_LABELS[a] for a in (SUBJECT, HEAD, PM, SYSTEM) if a in t.actors],
            "comment_required": t.comment_required,
        }
        for t in TRANSITIONS
    ]
