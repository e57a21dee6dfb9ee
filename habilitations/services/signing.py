"""Signature steps: tutors, head of department (with the levels granted), director, regional."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from habilitations import workflow
from habilitations.models import HabilitationSheet, SheetStatus, level_rank
from habilitations.services.common import (
    TransitionError,
    _check_actor,
    _forbidden_message,
    _transition,
    one_year_after,
    today,
)
from habilitations.services.sheets import _check_line_dates, check_line_level
from onco_hdf import signatures
from onco_hdf.models import SignatureCapacity

TUTOR, HEAD, DIRECTOR, REGIONAL = "tutor", "head", "director", "regional"
SIGN_STEPS = (TUTOR, HEAD, DIRECTOR, REGIONAL)
SIGNED_ACTIONS = ("validate_regional",)
STEP_CAPACITY = {
    TUTOR: SignatureCapacity.TUTOR,
    HEAD: SignatureCapacity.HEAD_OF_DEPARTMENT,
    DIRECTOR: SignatureCapacity.DIRECTOR,
    REGIONAL: SignatureCapacity.REGIONAL_VALIDATOR,
}


@dataclass(frozen=True)
class Grant:
    level: str
    expiry_date: dt.date | None = None
    restrictions: str = ""


@transaction.atomic
def sheet_grants_save(*, sheet: HabilitationSheet, user, grants: dict[int, Grant]) -> None:
    """The head of department's decision on each line, before signing the validation."""
    transition = workflow.BY_ACTION["validate_head"]
    sheet = HabilitationSheet.objects.select_for_update().select_related("centre").get(pk=sheet.pk)
    if sheet.status not in transition.sources:
        raise TransitionError(_forbidden_message(transition, sheet))
    _check_actor(transition, sheet, user)
    day = today()
    errors = []
    for line in sheet.lines.select_related("activity"):
        grant = grants.get(line.pk)
        if grant is None or not grant.level:
            errors.append(_("Grant a level for “%(a)s”.") % {"a": line.activity.label})
            continue
        if level_rank(grant.level) > level_rank(line.level_requested):
            errors.append(
                _("“%(a)s”: the level granted cannot exceed the level requested.")
                % {"a": line.activity.label}
            )
            continue
        line.level_granted = grant.level
        line.restrictions = grant.restrictions
        line.validation_date = day
        line.expiry_date = grant.expiry_date or one_year_after(day)
        try:
            check_line_level(line=line, level=grant.level, field="level_granted")
            _check_line_dates(line)
        except ValidationError as error:
            errors.extend(m for messages in error.message_dict.values() for m in messages)
            continue
        line.save()
    if errors:
        raise TransitionError(errors)


def step_key(step: str, user) -> str:
    """The signature slot: one per tutor, one for each other step."""
    return f"{TUTOR}:{user.pk}" if step == TUTOR else step


def tutors_of(sheet: HabilitationSheet) -> list:
    seen = {}
    for line in sheet.lines.select_related("tutor"):
        if line.tutor_id and line.tutor_id != sheet.physician_id:
            seen[line.tutor_id] = line.tutor
    return list(seen.values())


def current_acts(sheet: HabilitationSheet) -> dict:
    """Valid signatures of the current cycle (since the last return to draft), by slot."""
    last_return = (
        sheet.transitions.filter(to_status=SheetStatus.DRAFT).order_by("-at", "-pk").first()
    )
    return {
        act.step: act
        for act in signatures.signatories(sheet)
        if act.valid and (last_return is None or act.signed_at >= last_return.at)
    }


def missing_signatures(sheet: HabilitationSheet, before: str) -> list[str]:
    """Names of the signatures still needed before step ``before`` (head or regional)."""
    acts = current_acts(sheet)
    missing = [
        _("the tutor %(name)s") % {"name": tutor.get_full_name() or tutor.username}
        for tutor in tutors_of(sheet)
        if step_key(TUTOR, tutor) not in acts
    ]
    if before == REGIONAL:
        # The head's signature is the move to "validated by the head" itself.
        director = sheet.centre.habilitation_director
        if director is not None and DIRECTOR not in acts:
            missing.append(
                _("the director / RAN %(name)s") % {"name": director.get_full_name() or director}
            )
    return missing


def _require_signed(sheet: HabilitationSheet, before: str) -> None:
    missing = missing_signatures(sheet, before)
    if missing:
        raise TransitionError(
            _("Still to sign before this step: %(who)s.") % {"who": ", ".join(missing)}
        )


def may_sign(user, sheet: HabilitationSheet, step: str) -> bool:
    """Whether ``user`` may sign ``step`` of ``sheet`` now (the pages' permission)."""
    if user is None or user.pk == sheet.physician_id or step not in SIGN_STEPS:
        return False
    if step == TUTOR:
        return sheet.status == SheetStatus.SUBMITTED and any(
            t.pk == user.pk for t in tutors_of(sheet)
        )
    if step == HEAD:
        return workflow.may(user, sheet, "validate_head")
    if step == DIRECTOR:
        return (
            sheet.status == SheetStatus.HEAD_VALIDATED
            and sheet.centre.habilitation_director_id == user.pk
        )
    return workflow.may(user, sheet, "validate_regional")


def _record(sheet, *, step, user, credentials, expected_hash):
    return signatures.signature_record(
        document=sheet,
        step=step_key(step, user),
        capacity=STEP_CAPACITY[step],
        user=user,
        credentials=credentials,
        expected_hash=expected_hash,
        on_behalf_of=sheet.centre if step in (HEAD, DIRECTOR) else None,
    )


@transaction.atomic
def sheet_sign(
    *,
    sheet: HabilitationSheet,
    user,
    step: str,
    credentials: signatures.Credentials,
    expected_hash: str | None = None,
    comment: str = "",
) -> HabilitationSheet:
    """Sign one step, re-authenticated: the tutor's and the director's signatures are
    recorded on the sheet; the head's and the regional one also move it."""
    if step == HEAD:
        return sheet_validate_head(
            sheet=sheet,
            user=user,
            credentials=credentials,
            expected_hash=expected_hash,
            comment=comment,
        )
    if step == REGIONAL:

        def sign(locked):
            _require_signed(locked, REGIONAL)
            _record(
                locked,
                step=REGIONAL,
                user=user,
                credentials=credentials,
                expected_hash=expected_hash,
            )

        return _transition(
            sheet_id=sheet.pk, user=user, action="validate_regional", comment=comment, sign=sign
        )
    locked = (
        HabilitationSheet.objects.select_for_update()
        .select_related("centre", "physician")
        .get(pk=sheet.pk)
    )
    if not may_sign(user, locked, step):
        raise TransitionError(_("You cannot sign this sheet at this step."))
    if step_key(step, user) in current_acts(locked):
        raise TransitionError(_("You have already signed this sheet."))
    _record(locked, step=step, user=user, credentials=credentials, expected_hash=expected_hash)
    return locked


@transaction.atomic
def sheet_validate_head(
    *,
    sheet: HabilitationSheet,
    user,
    credentials: signatures.Credentials,
    grants: dict[int, Grant] | None = None,
    comment: str = "",
    expected_hash: str | None = None,
) -> HabilitationSheet:
    """The head of department grants a level per line (``grants``, or as already saved by
    sheet_grants_save), then signs the validation, re-authenticated."""
    if grants is not None:
        sheet_grants_save(sheet=sheet, user=user, grants=grants)

    def sign(locked):
        ungranted = [
            line for line in locked.lines.select_related("activity") if not line.level_granted
        ]
        if ungranted:
            raise TransitionError(
                [_("Grant a level for “%(a)s”.") % {"a": line.activity.label} for line in ungranted]
            )
        _require_signed(locked, HEAD)
        _record(locked, step=HEAD, user=user, credentials=credentials, expected_hash=expected_hash)

    return _transition(
        sheet_id=sheet.pk, user=user, action="validate_head", comment=comment, sign=sign
    )
