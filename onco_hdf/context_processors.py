from django.conf import settings

from onco_hdf import permissions
from onco_hdf.dashboard import navigation_for


class UserPermissions:
    """``{% if onco_perms.can_manage_centres %}``: the permission helpers, for templates."""

    def __init__(self, user):
        self._user = user

    def __getattr__(self, name: str) -> bool:
        if not name.startswith(("can_", "is_")):
            raise AttributeError(name)
        check = getattr(permissions, name, None)
        if check is None:
            raise AttributeError(name)
        return bool(self._user.is_authenticated and check(self._user))


def platform(request):
    user = getattr(request, "user", None)
    authenticated = user is not None and user.is_authenticated
    return {
        "platform_version": settings.PLATFORM_VERSION,
        "nav_items": navigation_for(user) if authenticated else [],
        "onco_perms": UserPermissions(user) if user is not None else None,
        "is_demo_platform": settings.DEBUG,
    }
