"""``{% habilitations_centre_panel centre %}``: the centre's expiries and reminders, for the
foundation's centre page (renders nothing for users who may not see them)."""

from __future__ import annotations

from django import template

from habilitations import permissions as perms
from habilitations import selectors, services

register = template.Library()


@register.inclusion_tag("habilitations/includes/centre_panel.html", takes_context=True)
def habilitations_centre_panel(context, centre):
    request = context.get("request")
    user = getattr(request, "user", None)
    if (
        user is None
        or not user.is_authenticated
        or not perms.can_view_centre_habilitations(user, centre)
    ):
        return {"show": False}
    return {
        "show": True,
        "centre": centre,
        "expiring": selectors.expiring_for_user(user, on_date=services.today(), centre=centre),
        "reminders": selectors.reminder_list_for_centre(centre)[:10],
    }
