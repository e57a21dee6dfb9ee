"""Reads of the habilitations app, already scoped to what the user may see."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from habilitations.models import (
    VALID_STATUSES,
    Activity,
    CatalogueStatus,
    CatalogueVersion,
    Evidence,
    HabilitationSheet,
    Level,
    Reminder,
    SheetLine,
    SheetStatus,
)
from habilitations.permissions import head_centre_ids
from habilitations.services import REMINDER_DAYS, expiries_of, watched_sheets
from onco_hdf.permissions import is_project_manager, is_regional_reader

# Sheets shown in the competence matrix: validated at least regionally and not over.
MATRIX_STATUSES = (SheetStatus.REGIONAL_VALIDATED, SheetStatus.ACTIVE, SheetStatus.TO_RENEW)


def sheet_list_for_user(user) -> QuerySet[HabilitationSheet]:
    """Regional readers: every sheet; heads: their centres' sheets; anyone: their own and
    those they sign (as tutor, as director / RAN)."""
    qs = HabilitationSheet.objects.select_related("physician", "centre", "catalogue_version")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if is_regional_reader(user):
        return qs
    # Tutors see the sheets they sign, the centre's director / RAN its centre's sheets.
    tutored = SheetLine.objects.filter(tutor=user).values("sheet_id")
    return qs.filter(
        Q(physician=user)
        | Q(centre_id__in=head_centre_ids(user))
        | Q(pk__in=tutored)
        | Q(centre__habilitation_director=user)
    )


def sheet_get_for_user(user, pk: int) -> HabilitationSheet:
    return get_object_or_404(sheet_list_for_user(user), pk=pk)


def line_get_for_user(user, pk: int) -> SheetLine:
    return get_object_or_404(
        SheetLine.objects.select_related("sheet", "activity").filter(
            sheet__in=sheet_list_for_user(user)
        ),
        pk=pk,
    )


def evidence_get_for_user(user, pk: int) -> Evidence:
    return get_object_or_404(
        Evidence.objects.select_related("line__sheet").filter(
            line__sheet__in=sheet_list_for_user(user)
        ),
        pk=pk,
    )


def catalogue_version_list_for_user(user) -> QuerySet[CatalogueVersion]:
    qs = CatalogueVersion.objects.all()
    if is_project_manager(user):
        return qs
    return qs.filter(status=CatalogueStatus.PUBLISHED)


def catalogue_version_get_for_user(user, pk: int) -> CatalogueVersion:
    return get_object_or_404(catalogue_version_list_for_user(user), pk=pk)


def sheets_awaiting_head(user) -> QuerySet[HabilitationSheet]:
    return (
        sheet_list_for_user(user)
        .filter(status=SheetStatus.SUBMITTED, centre_id__in=head_centre_ids(user))
        .exclude(physician=user)
    )


def sheet_return_of(sheet: HabilitationSheet):
    """The step that sent this draft back to its physician (with its comment), or None."""
    if sheet.status != SheetStatus.DRAFT:
        return None
    last = sheet.transitions.select_related("actor").order_by("-at", "-pk").first()
    if last is not None and last.action in ("return", "return_regional"):
        return last
    return None


def sheets_returned_to(user) -> list[tuple[HabilitationSheet, str]]:
    """The user's draft sheets sent back to them, with the comment that came with them."""
    returned = []
    for sheet in sheet_list_for_user(user).filter(physician=user, status=SheetStatus.DRAFT):
        step = sheet_return_of(sheet)
        if step is not None:
            returned.append((sheet, step.comment))
    return returned


def sheets_awaiting_regional(user) -> QuerySet[HabilitationSheet]:
    if not is_project_manager(user):
        return HabilitationSheet.objects.none()
    return (
        sheet_list_for_user(user).filter(status=SheetStatus.HEAD_VALIDATED).exclude(physician=user)
    )


@dataclass(frozen=True)
class Expiry:
    sheet: HabilitationSheet
    label: str
    date: dt.date
    days_left: int
    reminders: tuple[int, ...]


def expiring_for(sheets, *, on_date: dt.date, within_days: int = max(REMINDER_DAYS)):
    """Everything expiring within ``within_days`` (or already expired) on watched sheets."""
    sheets = list(sheets)
    sent = defaultdict(list)
    for sheet_id, key, expiry, days in Reminder.objects.filter(sheet__in=sheets).values_list(
        "sheet_id", "target_key", "expiry_date", "days_before"
    ):
        sent[(sheet_id, key, expiry)].append(days)
    rows = []
    for sheet in sheets:
        for _target, key, label, expiry, _line in expiries_of(sheet):
            left = (expiry - on_date).days
            if left <= within_days:
                rows.append(
                    Expiry(
                        sheet=sheet,
                        label=label,
                        date=expiry,
                        days_left=left,
                        reminders=tuple(sorted(sent[(sheet.pk, key, expiry)], reverse=True)),
                    )
                )
    return sorted(rows, key=lambda row: row.date)


def reminder_list_for_centre(centre) -> QuerySet[Reminder]:
    """Reminders sent about the centre's sheets (callers check the user may see the centre)."""
    return Reminder.objects.filter(sheet__centre=centre).select_related(
        "sheet__physician", "line__activity"
    )


def expiring_for_user(user, *, on_date: dt.date, centre=None):
    sheets = watched_sheets().filter(pk__in=sheet_list_for_user(user).values("pk"))
    if centre is not None:
        sheets = sheets.filter(centre=centre)
    return expiring_for(sheets, on_date=on_date)


@dataclass
class Matrix:
    activities: list[Activity]
    rows: list[tuple[HabilitationSheet, list[str]]]
    counts: list[tuple[Activity, list[int]]]


def competence_matrix(sheets) -> Matrix:
    """Physicians × activities (by code) with the level granted on validated sheets."""
    sheets = list(
        sheets.filter(status__in=MATRIX_STATUSES).prefetch_related("lines__activity__domain")
    )
    by_code: dict[str, Activity] = {}
    for sheet in sheets:
        for line in sheet.lines.all():
            known = by_code.get(line.activity.code)
            if known is None or known.version_id < line.activity.version_id:
                by_code[line.activity.code] = line.activity
    activities = sorted(by_code.values(), key=lambda a: (a.domain.order, a.order, a.code))
    rows = []
    counts = {code: Counter() for code in by_code}
    for sheet in sheets:
        levels = {line.activity.code: line.level_granted for line in sheet.lines.all()}
        rows.append((sheet, [levels.get(a.code, "") for a in activities]))
        for code, level in levels.items():
            if level:
                counts[code][level] += 1
    return Matrix(
        activities=activities,
        rows=rows,
        counts=[(a, [counts[a.code][level] for level in Level.values]) for a in activities],
    )


def level_totals(matrix: Matrix) -> list[tuple[str, int]]:
    totals = [0] * len(Level.values)
    for _activity, values in matrix.counts:
        totals = [t + v for t, v in zip(totals, values, strict=True)]
    return list(zip(Level.labels, totals, strict=True))


def status_counts(sheets) -> list[tuple[str, int]]:
    found = Counter(sheets.values_list("status", flat=True))
    return [(label, found.get(value, 0)) for value, label in SheetStatus.choices]


# Levels at which a physician treats on their own (what a receiving centre needs).
AUTONOMOUS_LEVELS = (Level.AUTONOMOUS, Level.REFERENT)


def habilitated_physicians(
    *, centre_ids, activity_codes, on_date: dt.date | None = None
) -> dict[int, list[str]]:
    """Physicians of ``centre_ids`` with an active autonomous habilitation for an activity.

    Returns, per centre id, the physicians' names (sorted). An active habilitation is a line
    granted autonomous (or referent) on a valid sheet, neither line nor sheet expired.
    """
    on_date = on_date or dt.date.today()
    lines = (
        SheetLine.objects.filter(
            sheet__centre_id__in=list(centre_ids),
            sheet__status__in=list(VALID_STATUSES),
            activity__code__in=list(activity_codes),
            level_granted__in=AUTONOMOUS_LEVELS,
        )
        .filter(Q(expiry_date__isnull=True) | Q(expiry_date__gte=on_date))
        .filter(Q(sheet__valid_until__isnull=True) | Q(sheet__valid_until__gte=on_date))
        .select_related("sheet__physician")
    )
    found: dict[int, set[str]] = defaultdict(set)
    for line in lines:
        physician = line.sheet.physician
        found[line.sheet.centre_id].add(physician.get_full_name() or physician.username)
    return {centre_id: sorted(names) for centre_id, names in found.items()}
