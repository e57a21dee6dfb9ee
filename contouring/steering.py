"""Steering hooks of the comparison project: submissions per centre, cases awaiting one."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from contouring.selectors import case_list_for_user, submission_list_for_user
from onco_hdf import permissions as core
from onco_hdf.models import Role
from onco_hdf.steering_hooks import NONE, OK, WARN, Cell, Column, TodoItem


def participation(user, centres) -> list[Column]:
    cases = list(case_list_for_user(user))
    if not cases:
        return []
    done = {}
    for centre_id, case_id in (
        submission_list_for_user(user).filter(is_current=True).values_list("centre_id", "case_id")
    ):
        done.setdefault(centre_id, set()).add(case_id)
    url = reverse("contouring:case-list")
    cells = {}
    for centre in centres:
        n = len(done.get(centre.pk, ()))
        if n == 0:
            cells[centre.pk] = Cell("—", url, NONE)
        else:
            cells[centre.pk] = Cell(f"{n}/{len(cases)}", url, OK if n >= len(cases) else WARN)
    return [Column("contour_submissions", "contouring", _("Contour submissions"), cells)]


def todo(user) -> list:
    centre_ids = core.centre_ids_for(user, [Role.PHYSICIST])
    if not centre_ids:
        return []
    submitted = set(
        submission_list_for_user(user)
        .filter(is_current=True, centre_id__in=centre_ids)
        .values_list("case_id", flat=True)
    )
    waiting = [case for case in case_list_for_user(user) if case.pk not in submitted]
    items = []
    for case in waiting:
        items.append(
            TodoItem(
                _("Case “%(case)s”: awaiting your centre's RTSTRUCT") % {"case": case.title},
                reverse("contouring:case-detail", args=[case.pk]),
                _("submit"),
                WARN,
            )
        )
    if items:
        summary = ngettext(
            "%(n)s comparison case awaits your centre's submission",
            "%(n)s comparison cases await your centre's submission",
            len(items),
        ) % {"n": len(items)}
        items.insert(0, TodoItem(summary, reverse("contouring:case-list"), "", WARN))
    return items


def artefact_lines(artefact) -> list[str] | None:
    """The comparison protocol version as text lines, for the COPIL pack's version diff."""
    from contouring.models import ComparisonProtocol
    from contouring.protocols import protocol_lines

    if not isinstance(artefact, ComparisonProtocol):
        return None
    return protocol_lines(artefact)
