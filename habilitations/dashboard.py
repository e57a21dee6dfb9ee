"""Home tile and menu entries of the habilitations app."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from habilitations import permissions as perms
from habilitations import selectors, services
from habilitations.models import SheetStatus
from onco_hdf.dashboard import NavItem, Tile


def tile(user) -> Tile | None:
    if not perms.can_view_habilitations(user):
        return None
    sheets = selectors.sheet_list_for_user(user)
    counts = [
        (
            _("Active sheets"),
            sheets.filter(status__in=[SheetStatus.ACTIVE, SheetStatus.TO_RENEW]).count(),
        ),
        (
            _("Awaiting validation"),
            sheets.filter(status__in=[SheetStatus.SUBMITTED, SheetStatus.HEAD_VALIDATED]).count(),
        ),
        (
            _("Expiring within 90 days"),
            len(selectors.expiring_for_user(user, on_date=services.today())),
        ),
    ]
    return Tile(
        key="habilitations",
        title=_("Physician habilitations"),
        description=_("Regional habilitation sheets and their validation."),
        url=reverse("habilitations:home"),
        counts=counts,
    )


def nav_items(user) -> list[NavItem]:
    if not perms.can_view_habilitations(user):
        return []
    items = [NavItem(_("Habilitations"), reverse("habilitations:home"), order=40)]
    if perms.can_view_matrix(user):
        items.append(NavItem(_("Competence matrix"), reverse("habilitations:matrix"), order=41))
    return items


def centre_panel(request, centre) -> str:
    """Expiries and reminders of the centre, for the foundation's centre page."""
    if not perms.can_view_centre_habilitations(request.user, centre):
        return ""
    context = {
        "show": True,
        "centre": centre,
        "expiring": selectors.expiring_for_user(
            request.user, on_date=services.today(), centre=centre
        ),
        "reminders": selectors.reminder_list_for_centre(centre)[:10],
    }
    return render_to_string("habilitations/includes/centre_panel.html", context, request=request)
