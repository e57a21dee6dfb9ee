"""Home tile and menu entries of the surveys app."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from onco_hdf.dashboard import NavItem, Tile
from surveys import permissions
from surveys.models import Campaign, ResponseStatus
from surveys.selectors import campaign_list_for_user


def tile(user) -> Tile | None:
    if not permissions.can_use_surveys(user):
        return None
    today = timezone.localdate()
    campaigns = campaign_list_for_user(user)
    open_campaigns = Campaign.objects.filter(
        pk__in=campaigns.values("pk"),
        closed_at__isnull=True,
        opens_on__lte=today,
        closes_on__gte=today,
    )
    submitted = sum(
        c.responses.filter(status=ResponseStatus.SUBMITTED).count() for c in open_campaigns
    )
    expected = sum(c.centres.count() for c in open_campaigns)
    counts = [
        (_("open campaigns"), open_campaigns.count()),
        (_("responses submitted / expected"), f"{submitted} / {expected}"),
    ]
    return Tile(
        key="surveys",
        title=_("Auto-contouring survey"),
        description=_("Questionnaire to radiation oncologists on AI contouring, and its report."),
        url=reverse("surveys:campaign-list"),
        counts=counts,
    )


def nav_items(user) -> list[NavItem]:
    items = []
    if permissions.can_use_surveys(user):
        items.append(NavItem(_("Surveys"), reverse("surveys:campaign-list"), order=10))
    if permissions.can_build_questionnaire(user):
        items.append(NavItem(_("Questionnaires"), reverse("surveys:questionnaire-list"), order=11))
    return items
