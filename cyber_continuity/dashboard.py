"""Home tile and menu entries of the continuity app."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from cyber_continuity import permissions, selectors
from cyber_continuity.models import ACTIVE_STATUSES, OPEN_STATUSES
from onco_hdf.dashboard import NavItem, Tile


def tile(user) -> Tile | None:
    if not permissions.can_view_registry(user):
        return None
    rows = selectors.registry_rows()
    crises = selectors.crisis_list_for_user(user).filter(status__in=OPEN_STATUSES)
    return Tile(
        key="cyber_continuity",
        title=_("Cyber-crisis continuity"),
        description=_("Capacities, transfer plans, conventions and crisis workflow."),
        url=reverse("cyber_continuity:registry-list"),
        counts=[
            (
                _("Centres with stale capacities"),
                sum(1 for r in rows if r["stale"] or not r["techniques"]),
            ),
            (
                _("Conventions in force"),
                selectors.convention_list_for_user(user).filter(status__in=ACTIVE_STATUSES).count(),
            ),
            (_("Open crises"), crises.filter(is_exercise=False).count()),
            (_("Exercises under way"), crises.filter(is_exercise=True).count()),
        ],
    )


def nav_items(user) -> list[NavItem]:
    if not permissions.can_view_registry(user):
        return []
    items = [
        NavItem(_("Continuity registry"), reverse("cyber_continuity:registry-list"), order=40),
        NavItem(_("Conventions"), reverse("cyber_continuity:convention-list"), order=41),
        NavItem(_("Crises"), reverse("cyber_continuity:crisis-list"), order=42),
    ]
    if permissions.can_view_overview(user):
        items.append(
            NavItem(_("Continuity overview"), reverse("cyber_continuity:overview"), order=43)
        )
    return items
