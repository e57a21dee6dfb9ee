"""Home page tile and menu entry of the contouring comparison."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from contouring import permissions, selectors
from contouring.models import ComparisonResult
from onco_hdf.dashboard import NavItem, Tile


def tile(user) -> Tile | None:
    if not permissions.can_view_cases(user):
        return None
    cases = selectors.case_list_for_user(user)
    submissions = selectors.submission_list_for_user(user).filter(is_current=True)
    counts = [
        (_("clinical cases"), cases.count()),
        (_("submissions"), submissions.count()),
        (_("mappings to confirm"), submissions.filter(mapping_confirmed_at__isnull=True).count()),
    ]
    if permissions.can_view_all_results(user):
        counts.append((_("results"), ComparisonResult.objects.count()))
    return Tile(
        key="contouring",
        title=_("Auto-contouring comparison"),
        description=_("Contours of each solution on 2 clinical cases, unretouched, compared."),
        url=reverse("contouring:case-list"),
        counts=counts,
    )


def nav_items(user) -> list[NavItem]:
    if not permissions.can_view_cases(user):
        return []
    return [NavItem(_("Contouring"), reverse("contouring:case-list"), order=20)]
