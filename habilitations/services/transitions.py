"""Workflow steps of a sheet: submission, decisions, activation, return and renewal."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from habilitations import workflow
from habilitations.models import HabilitationSheet, SheetLine, SheetStatus
from habilitations.services.catalogue import catalogue_current
from habilitations.services.common import TransitionError, _transition, one_year_after, today
from habilitations.services.sheets import check_line_level
from habilitations.services.signing import SIGNED_ACTIONS


def _check_submittable(sheet: HabilitationSheet) -> None:
    lines = list(sheet.lines.select_related("activity", "sheet__physician"))
    if not lines:
        raise TransitionError(_("Add at least one activity before submitting the sheet."))
    if sheet.rp_training_expiry <= today():
        raise TransitionError(
            _("The patient radiation-protection training has expired: renew it before submitting.")
        )
    for line in lines:
        try:
            check_line_level(line=line, level=line.level_requested, field="level_requested")
        except ValidationError as error:
            raise TransitionError(error.message_dict["level_requested"][0]) from error


@transaction.atomic
def sheet_transition(
    *, sheet: HabilitationSheet, user, action: str, comment: str = ""
) -> HabilitationSheet:
    """Any step of the table except the head's validation (see sheet_validate_head)."""
    if action not in workflow.BY_ACTION or action in ("validate_head", "mark_renewed"):
        raise TransitionError(_("This action does not exist."))
    if action in SIGNED_ACTIONS:
        raise TransitionError(_("This step is a signature: sign it on its confirmation page."))
    if action == "submit":
        _check_submittable(sheet)
    sheet = _transition(sheet_id=sheet.pk, user=user, action=action, comment=comment)
    if action in ("activate", "reinstate"):
        _activate(sheet=sheet, user=user, reinstating=action == "reinstate")
    return sheet


def _activate(*, sheet: HabilitationSheet, user, reinstating: bool) -> None:
    if not reinstating or sheet.valid_from is None:
        sheet.valid_from = today()
        sheet.valid_until = one_year_after(sheet.valid_from)
        sheet.save(update_fields=["valid_from", "valid_until"])
    previous = sheet.previous
    if previous is not None and previous.status in workflow.BY_ACTION["mark_renewed"].sources:
        with translation.override(settings.LANGUAGE_CODE):
            comment = _("Replaced by sheet no. %(n)s.") % {"n": sheet.pk}
        _transition(
            sheet_id=previous.pk,
            user=user,
            action="mark_renewed",
            comment=comment,
        )


@transaction.atomic
def sheet_return(*, sheet: HabilitationSheet, user, comment: str) -> HabilitationSheet:
    return _transition(sheet_id=sheet.pk, user=user, action="return", comment=comment)


@transaction.atomic
def sheet_renew(*, sheet: HabilitationSheet, user) -> HabilitationSheet:
    """Start the renewal: a new draft copied from ``sheet`` on the current catalogue."""
    sheet = HabilitationSheet.objects.select_for_update().get(pk=sheet.pk)
    if sheet.status not in (SheetStatus.ACTIVE, SheetStatus.TO_RENEW):
        raise TransitionError(_("Only an active sheet or one to be renewed can be renewed."))
    if not workflow.actor_kinds(user, sheet) & {workflow.SUBJECT, workflow.HEAD}:
        raise TransitionError(_("Only the physician or the head of department may renew it."))
    if HabilitationSheet.objects.filter(previous=sheet).exists():
        raise TransitionError(_("A renewal of this sheet has already been started."))
    version = catalogue_current()
    old_lines = list(sheet.lines.select_related("activity"))
    new = HabilitationSheet.objects.get(pk=sheet.pk)
    new.pk = None
    new.previous = sheet
    new.status = SheetStatus.DRAFT
    new.revision = 1
    new.valid_from = new.valid_until = None
    new.catalogue_version = version
    new.created_by = user
    new.save()
    activities = {a.code: a for a in version.activities.all()}
    for line in old_lines:
        activity = activities.get(line.activity.code)
        if activity is None:
            continue
        SheetLine.objects.create(
            sheet=new,
            activity=activity,
            level_requested=line.level_granted or line.level_requested,
            tutor=line.tutor,
            supervised_cases=line.supervised_cases,
            peer_reviewed_contours=line.peer_reviewed_contours,
            courses=line.courses,
            vendor_training=line.vendor_training,
            restrictions=line.restrictions,
        )
    return new
