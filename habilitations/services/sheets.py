"""Habilitation sheets and their lines: creation, edits and the level rules."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from habilitations.models import HabilitationSheet, Level, SheetLine, SheetStatus, level_rank
from habilitations.services.catalogue import catalogue_current
from habilitations.services.common import one_year_after, today
from onco_hdf import governance
from onco_hdf.models import Membership, Role

OPEN_STATUSES = (
    SheetStatus.DRAFT,
    SheetStatus.SUBMITTED,
    SheetStatus.HEAD_VALIDATED,
    SheetStatus.REGIONAL_VALIDATED,
)
PRIOR_STATUSES = (SheetStatus.ACTIVE, SheetStatus.TO_RENEW, SheetStatus.RENEWED)


def _check_sheet_dates(sheet: HabilitationSheet) -> None:
    errors = {}
    if (
        sheet.rp_training_date
        and sheet.rp_training_expiry
        and (sheet.rp_training_expiry <= sheet.rp_training_date)
    ):
        errors["rp_training_expiry"] = _(
            "The expiry of the radiation-protection training must be after its date."
        )
    if sheet.rp_training_date and sheet.rp_training_date > today():
        errors["rp_training_date"] = _("The training date cannot be in the future.")
    if (
        sheet.diploma_date
        and sheet.ordre_registration_date
        and (sheet.ordre_registration_date < sheet.diploma_date)
    ):
        errors["ordre_registration_date"] = _(
            "The registration with the Ordre cannot precede the diploma."
        )
    if sheet.diploma_date and sheet.diploma_date > today():
        errors["diploma_date"] = _("The diploma date cannot be in the future.")
    if errors:
        raise ValidationError(errors)


def _ensure_editable(sheet: HabilitationSheet) -> None:
    if sheet.status != SheetStatus.DRAFT:
        raise ValidationError(
            _("This sheet is “%(status)s”: it can only be changed as a draft.")
            % {"status": sheet.get_status_display()}
        )


@transaction.atomic
def sheet_create(*, user, sheet: HabilitationSheet) -> HabilitationSheet:
    """Save a new draft sheet (fields already filled) against the current catalogue."""
    version = catalogue_current()
    if version is None:
        raise ValidationError(_("No catalogue version is published yet."))
    governance.require_validated(version)
    if not Membership.objects.filter(
        user=sheet.physician,
        centre=sheet.centre,
        role__in=[Role.ONCOLOGIST, Role.HEAD_OF_DEPARTMENT],
    ).exists():
        raise ValidationError(_("This physician does not work in this centre."))
    if HabilitationSheet.objects.filter(
        physician=sheet.physician, centre=sheet.centre, status__in=OPEN_STATUSES
    ).exists():
        raise ValidationError(
            _("A sheet for this physician and centre is already in progress; complete it first.")
        )
    _check_sheet_dates(sheet)
    sheet.catalogue_version = version
    sheet.status = SheetStatus.DRAFT
    sheet.created_by = user
    sheet.save()
    return sheet


@transaction.atomic
def sheet_update(*, sheet: HabilitationSheet) -> HabilitationSheet:
    current = HabilitationSheet.objects.select_for_update().get(pk=sheet.pk)
    _ensure_editable(current)
    _check_sheet_dates(sheet)
    sheet.status = current.status
    sheet.revision = current.revision
    sheet.save()
    return sheet


def prior_level(*, physician, activity_code: str, exclude_sheet_id=None) -> str | None:
    """The highest level granted to ``physician`` for this activity on a validated sheet."""
    granted = (
        SheetLine.objects.filter(
            sheet__physician=physician,
            sheet__status__in=PRIOR_STATUSES,
            activity__code=activity_code,
        )
        .exclude(sheet_id=exclude_sheet_id)
        .exclude(level_granted="")
        .values_list("level_granted", flat=True)
    )
    return max(granted, key=level_rank, default=None)


def check_line_level(*, line: SheetLine, level: str, field: str) -> None:
    """New activities start under supervision; autonomy needs the supervised cases."""
    activity = line.activity
    previous = prior_level(
        physician=line.sheet.physician, activity_code=activity.code, exclude_sheet_id=line.sheet_id
    )
    if level_rank(level) > level_rank(Level.SUPERVISED) and level_rank(previous) < level_rank(
        Level.SUPERVISED
    ):
        raise ValidationError(
            {
                field: _(
                    "“%(activity)s” is a new activity for this physician: it starts with a "
                    "supervised period (level “Under supervision” at most)."
                )
                % {"activity": activity.label}
            }
        )
    if (
        level_rank(level) >= level_rank(Level.AUTONOMOUS)
        and level_rank(previous) < level_rank(Level.AUTONOMOUS)
        and line.supervised_cases < activity.min_supervised_cases
    ):
        raise ValidationError(
            {
                field: _(
                    "Autonomy for “%(activity)s” requires at least %(n)d supervised cases "
                    "(%(done)d recorded)."
                )
                % {
                    "activity": activity.label,
                    "n": activity.min_supervised_cases,
                    "done": line.supervised_cases,
                }
            }
        )


def _check_line_dates(line: SheetLine) -> None:
    if line.validation_date and line.expiry_date:
        if line.expiry_date <= line.validation_date:
            raise ValidationError(
                {"expiry_date": _("The expiry date must be after the validation date.")}
            )
        if line.expiry_date > one_year_after(line.validation_date):
            raise ValidationError(
                {
                    "expiry_date": _(
                        "A habilitation is reviewed at least every 12 months: the expiry date "
                        "cannot be more than one year after the validation date."
                    )
                }
            )


@transaction.atomic
def line_save(*, line: SheetLine) -> SheetLine:
    sheet = HabilitationSheet.objects.select_for_update().get(pk=line.sheet_id)
    _ensure_editable(sheet)
    line.sheet = sheet
    if line.activity.version_id != sheet.catalogue_version_id:
        raise ValidationError(
            {"activity": _("This activity is not in the catalogue version of the sheet.")}
        )
    if SheetLine.objects.filter(sheet=sheet, activity=line.activity).exclude(pk=line.pk).exists():
        raise ValidationError({"activity": _("This activity is already on the sheet.")})
    if line.tutor_id and line.tutor_id == sheet.physician_id:
        raise ValidationError({"tutor": _("A physician cannot be their own tutor.")})
    check_line_level(line=line, level=line.level_requested, field="level_requested")
    _check_line_dates(line)
    line.save()
    return line


@transaction.atomic
def line_delete(*, line: SheetLine) -> None:
    _ensure_editable(HabilitationSheet.objects.select_for_update().get(pk=line.sheet_id))
    for evidence in line.evidence.all():
        evidence.file.delete(save=False)
    line.delete()
