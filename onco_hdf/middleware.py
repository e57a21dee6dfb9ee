"""Second factor for regional roles (project manager, administrator)."""

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from onco_hdf.permissions import needs_second_factor

# Pages an authenticated but not yet verified user may still reach.
_OPEN_PREFIXES = ("/static/", "/media/", "/sante/", "/i18n/")
_OPEN_URL_NAMES = ("otp-setup", "otp-verify", "logout")


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            settings.TWO_FACTOR_REQUIRED
            and user is not None
            and user.is_authenticated
            and not user.is_verified()
            and needs_second_factor(user)
            and not self._is_open(request.path)
        ):
            target = "account:otp-verify" if _has_device(user) else "account:otp-setup"
            return redirect(f"{reverse(target)}?next={request.get_full_path()}")
        return self.get_response(request)

    @staticmethod
    def _is_open(path: str) -> bool:
        if path.startswith(_OPEN_PREFIXES):
            return True
        return any(path == reverse(f"account:{name}") for name in _OPEN_URL_NAMES)


def _has_device(user) -> bool:
    from django_otp import devices_for_user

    return any(True for _ in devices_for_user(user, confirmed=True))
