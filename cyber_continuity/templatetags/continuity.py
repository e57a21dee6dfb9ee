from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def person(user) -> str:
    """A user's full name, else username; "system" when there is none."""
    if user is None:
        return _("system")
    return user.get_full_name() or user.username
