"""Errors, dates and the locked workflow move shared by the habilitation services."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from habilitations import workflow
from habilitations.models import HabilitationSheet, SheetTransition
from onco_hdf import workflow as shared_workflow

REVIEW_MONTHS = 12


class TransitionError(shared_workflow.TransitionError):
    """A refused workflow step; its message is shown to the user as is."""


def one_year_after(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def today() -> dt.date:
    return timezone.localdate()


def _forbidden_message(transition, sheet: HabilitationSheet) -> str:
    return _(
        "“%(action)s” is not possible: this sheet is now “%(status)s” (someone may have "
        "acted on it in the meantime)."
    ) % {"action": transition.label, "status": sheet.get_status_display()}


def _check_actor(transition, sheet: HabilitationSheet, user) -> None:
    kinds = workflow.actor_kinds(user, sheet)
    if not kinds & transition.actors:
        if workflow.SUBJECT in kinds:
            raise TransitionError(_("A physician cannot validate or decide on their own sheet."))
        raise TransitionError(
            _("You are not allowed to do “%(action)s” on this sheet.")
            % {"action": transition.label}
        )


def _transition(
    *, sheet_id: int, user, action: str, comment: str = "", sign=None
) -> HabilitationSheet:
    """Lock the sheet, check the table, move it, record the step. Call inside atomic.

    ``sign(sheet)`` records the signature act of a signed step on the locked sheet, after
    the table and the actor are checked and before the sheet moves.
    """
    transition = workflow.BY_ACTION[action]
    comment = (comment or "").strip()

    def check(sheet: HabilitationSheet) -> None:
        _check_actor(transition, sheet, user)
        if transition.comment_required and not comment:
            raise TransitionError(
                _("A comment is required for “%(action)s”.") % {"action": transition.label}
            )
        if sign is not None:
            sign(sheet)
        sheet.revision += 1

    sheet, _record = shared_workflow.transition(
        queryset=HabilitationSheet.objects.select_related("centre", "physician"),
        pk=sheet_id,
        to_status=transition.target,
        allowed_from=transition.sources,
        actor=user,
        record_model=SheetTransition,
        subject_field="sheet",
        comment=comment,
        record_fields={"action": action},
        check=check,
        forbidden=lambda sheet: _forbidden_message(transition, sheet),
        update_fields=["revision", "valid_from", "valid_until", "updated_at"],
        error=TransitionError,
    )
    return sheet
