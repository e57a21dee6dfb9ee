"""Steering hooks of the habilitation project: sheets per centre, expiries, validations."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from habilitations.models import VALID_STATUSES, SheetStatus, SheetTransition
from habilitations.selectors import expiring_for_user, sheet_list_for_user, sheets_awaiting_head
from onco_hdf import permissions as core
from onco_hdf.steering_hooks import LATE, NONE, OK, WARN, Cell, Column, TodoItem, Trend

DUE_WITHIN_DAYS = 90


def participation(user, centres) -> list[Column]:
    if not core.is_regional_reader(user):
        return []
    today = timezone.localdate()
    active = {}
    for centre_id in (
        sheet_list_for_user(user)
        .filter(status__in=VALID_STATUSES)
        .values_list("centre_id", flat=True)
    ):
        active[centre_id] = active.get(centre_id, 0) + 1
    due = {}
    for row in expiring_for_user(user, on_date=today):
        if row.days_left <= DUE_WITHIN_DAYS:
            due.setdefault(row.sheet.centre_id, set()).add(row.sheet.pk)
    cells = {}
    for centre in centres:
        n_active, n_due = active.get(centre.pk, 0), len(due.get(centre.pk, ()))
        url = reverse("habilitations:centre-detail", args=[centre.pk])
        if not n_active and not n_due:
            cells[centre.pk] = Cell("—", url, NONE)
        else:
            text = _("%(active)s active / %(due)s due") % {"active": n_active, "due": n_due}
            cells[centre.pk] = Cell(text, url, WARN if n_due else OK)
    return [Column("habilitation_sheets", "habilitations", _("Habilitation sheets"), cells)]


def todo(user) -> list:
    if core.is_regional_reader(user):
        return []
    items = []
    today = timezone.localdate()
    first = {}  # the earliest expiry of each of the user's own sheets
    for row in expiring_for_user(user, on_date=today):
        if row.sheet.physician_id == user.pk and row.sheet.pk not in first:
            first[row.sheet.pk] = row
    for row in first.values():
        url = reverse("habilitations:sheet-detail", args=[row.sheet.pk])
        if row.days_left < 0:
            text = _("Your habilitation sheet expired on %(date)s (%(what)s)") % {
                "what": row.label,
                "date": row.date.strftime("%d/%m/%Y"),
            }
        else:
            text = ngettext(
                "Your habilitation sheet expires in %(n)s day (%(what)s)",
                "Your habilitation sheet expires in %(n)s days (%(what)s)",
                row.days_left,
            ) % {"what": row.label, "n": row.days_left}
        items.append(TodoItem(text, url, _("renew"), LATE if row.days_left < 30 else WARN))
    awaiting = sheets_awaiting_head(user).count()
    if awaiting:
        items.append(
            TodoItem(
                ngettext(
                    "%(n)s habilitation sheet to validate",
                    "%(n)s habilitation sheets to validate",
                    awaiting,
                )
                % {"n": awaiting},
                reverse("habilitations:sheet-list"),
                _("validate"),
                WARN,
            )
        )
    return items


def trends(user) -> list[Trend]:
    if not core.is_regional_reader(user):
        return []
    today = timezone.localdate()
    months = []
    year, month = today.year, today.month
    for _n in range(12):
        months.append((year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    months.reverse()
    since = timezone.make_aware(dt.datetime(months[0][0], months[0][1], 1))
    counts = dict.fromkeys(months, 0)
    validated = SheetTransition.objects.filter(
        sheet__in=sheet_list_for_user(user),
        to_status=SheetStatus.REGIONAL_VALIDATED,
        at__gte=since,
    ).values_list("at", flat=True)
    for at in validated:
        local = timezone.localtime(at)
        if (local.year, local.month) in counts:
            counts[(local.year, local.month)] += 1
    return [
        Trend(
            "sheets_validated_per_month",
            _("Habilitation sheets validated per month"),
            [f"{m:02d}/{y % 100:02d}" for y, m in months],
            [counts[key] for key in months],
        )
    ]


def artefact_lines(artefact) -> list[str] | None:
    """The catalogue version as text lines, for the COPIL pack's version diff."""
    from habilitations.models import CatalogueVersion

    if not isinstance(artefact, CatalogueVersion):
        return None
    lines = []
    for domain in artefact.domains.order_by("order", "pk").prefetch_related("activities"):
        lines.append(f"{domain.code} — {domain.name}")
        for activity in sorted(domain.activities.all(), key=lambda a: (a.order, a.pk)):
            lines.append(f"  {activity.code} — {activity.label}")
    return lines
