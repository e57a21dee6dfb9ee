"""Expiry reminders and the daily review job."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from habilitations.models import HabilitationSheet, Reminder, ReminderTarget, SheetLine, SheetStatus
from habilitations.services.common import TransitionError, _transition
from onco_hdf.models import Membership, Role

REMINDER_DAYS = (90, 60, 30, 7)


@dataclass(frozen=True)
class DueReminder:
    sheet: HabilitationSheet
    target: str
    target_key: str
    label: str
    expiry_date: dt.date
    days_before: int
    line: SheetLine | None = None


def expiries_of(sheet: HabilitationSheet) -> list[tuple[str, str, str, dt.date, SheetLine | None]]:
    """Everything on a sheet that expires: (target, key, label, date, line)."""
    items = []
    if sheet.valid_until:
        items.append(
            (
                ReminderTarget.SHEET,
                "sheet",
                str(ReminderTarget.SHEET.label),
                sheet.valid_until,
                None,
            )
        )
    if sheet.rp_training_expiry:
        items.append(
            (
                ReminderTarget.TRAINING,
                "training",
                str(ReminderTarget.TRAINING.label),
                sheet.rp_training_expiry,
                None,
            )
        )
    for line in sheet.lines.all():
        if line.expiry_date:
            items.append(
                (
                    ReminderTarget.LINE,
                    f"line:{line.pk}",
                    line.activity.label,
                    line.expiry_date,
                    line,
                )
            )
    return items


def threshold_for(days_left: int) -> int | None:
    """The most urgent threshold already reached (7 when 5 days are left), None if none."""
    reached = [d for d in REMINDER_DAYS if 0 <= days_left <= d]
    return min(reached) if reached else None


def watched_sheets():
    from habilitations.models import WATCHED_STATUSES

    return (
        HabilitationSheet.objects.filter(status__in=WATCHED_STATUSES)
        .select_related("centre", "physician")
        .prefetch_related("lines__activity")
    )


def reminders_due(*, on_date: dt.date, sheets=None) -> list[DueReminder]:
    """Reminders to send on ``on_date``: one per expiry per threshold, never twice."""
    sheets = watched_sheets() if sheets is None else sheets
    sent = set(
        Reminder.objects.filter(sheet__in=sheets).values_list(
            "sheet_id", "target_key", "expiry_date", "days_before"
        )
    )
    due = []
    for sheet in sheets:
        for target, key, label, expiry, line in expiries_of(sheet):
            days = threshold_for((expiry - on_date).days)
            if days is None or (sheet.pk, key, expiry, days) in sent:
                continue
            due.append(
                DueReminder(
                    sheet=sheet,
                    target=target,
                    target_key=key,
                    label=label,
                    expiry_date=expiry,
                    days_before=days,
                    line=line,
                )
            )
    return due


def reminder_recipients(sheet: HabilitationSheet) -> list[str]:
    heads = Membership.objects.filter(
        centre=sheet.centre, role=Role.HEAD_OF_DEPARTMENT
    ).values_list("user__email", flat=True)
    emails = [sheet.physician.email, *heads]
    return sorted({e for e in emails if e})


def reminders_send(*, on_date: dt.date) -> int:
    """Send the due reminders, one e-mail per sheet.

    Each reminder is claimed by its row (unique constraint) in the same transaction as its
    e-mail: a second run, even concurrent, never sends it twice, and a failed e-mail rolls
    its rows back so the next run sends it again.
    """
    by_sheet: dict[int, list[DueReminder]] = {}
    for item in reminders_due(on_date=on_date):
        by_sheet.setdefault(item.sheet.pk, []).append(item)
    sent = 0
    for items in by_sheet.values():
        recipients = reminder_recipients(items[0].sheet)
        with transaction.atomic():
            claimed = [item for item in items if _claim(item, on_date, recipients)]
            if claimed:
                _reminder_mail(claimed, recipients)
        sent += len(claimed)
    return sent


def _claim(item: DueReminder, on_date: dt.date, recipients: list[str]) -> bool:
    try:
        with transaction.atomic():
            Reminder.objects.create(
                sheet=item.sheet,
                target=item.target,
                line=item.line,
                target_key=item.target_key,
                expiry_date=item.expiry_date,
                days_before=item.days_before,
                sent_on=on_date,
                recipients=", ".join(recipients),
            )
    except IntegrityError:
        return False  # another run claimed it
    return True


def _reminder_mail(items: list[DueReminder], recipients: list[str]) -> None:
    sheet = items[0].sheet
    if not recipients:
        return
    with translation.override(settings.LANGUAGE_CODE):
        lines = "\n".join(
            _("- %(what)s: expires on %(date)s")
            % {"what": item.label, "date": item.expiry_date.strftime("%d/%m/%Y")}
            for item in items
        )
        send_mail(
            _("[ONCO-HDF] Habilitation of %(name)s: expiry approaching")
            % {"name": sheet.physician_name},
            _(
                "Hello,\n\nOn the habilitation sheet of %(name)s (%(centre)s), the following "
                "items expire soon:\n%(lines)s\n\nSheet: %(url)s\n"
            )
            % {
                "name": sheet.physician_name,
                "centre": sheet.centre.label,
                "lines": lines,
                "url": settings.SITE_URL.rstrip("/")
                + reverse("habilitations:sheet-detail", args=[sheet.pk]),
            },
            None,
            recipients,
        )


def sheets_flag_for_renewal(*, on_date: dt.date) -> int:
    """Active sheets whose review is due within 90 days become "to be renewed"."""
    limit = on_date + dt.timedelta(days=max(REMINDER_DAYS))
    flagged = 0
    for sheet_id in HabilitationSheet.objects.filter(
        status=SheetStatus.ACTIVE, valid_until__lte=limit
    ).values_list("pk", flat=True):
        with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
            try:
                _transition(
                    sheet_id=sheet_id,
                    user=None,
                    action="flag_renewal",
                    comment=_("Periodic review due within 90 days."),
                )
            except TransitionError:
                continue  # changed meanwhile; the next run will see it
        flagged += 1
    return flagged


def habilitations_daily(*, on_date: dt.date) -> dict:
    return {
        "flagged": sheets_flag_for_renewal(on_date=on_date),
        "reminders": reminders_send(on_date=on_date),
    }
