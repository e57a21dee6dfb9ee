"""Request guards: the second factor for regional roles, and input no page can store."""

import json

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from onco_hdf.http import bad_request
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


NUL = "\x00"


class RefuseNulBytesMiddleware:
    """A NUL character in the path, a parameter name or value, an upload's file name or a
    JSON body answers a French 400 before any view runs.

    No text a person types contains one, and PostgreSQL refuses to store or compare it, so
    without this guard every view that filters on or saves a raw value would answer 500.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._has_nul(request):
            return bad_request(
                request,
                _(
                    "The data sent contains a null character, which cannot be saved. "
                    "Remove it and try again."
                ),
            )
        return self.get_response(request)

    @staticmethod
    def _has_nul(request) -> bool:
        if NUL in request.path or _query_has_nul(request.GET):
            return True
        if request.method not in ("POST", "PUT", "PATCH"):
            return False
        if request.content_type.startswith("application/json"):
            try:
                return _json_has_nul(json.loads(request.body or b"null"))
            except ValueError:
                return False  # not JSON: the view answers for it
        if _query_has_nul(request.POST):
            return True
        names = (upload.name or "" for _key, files in request.FILES.lists() for upload in files)
        return any(NUL in name for name in names)


def _query_has_nul(query) -> bool:
    return any(NUL in key or any(NUL in value for value in query.getlist(key)) for key in query)


def _json_has_nul(value) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_json_has_nul(key) or _json_has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_json_has_nul(item) for item in value)
    return False


class PdfTooSlowMiddleware:
    """A PDF page whose layout ran out of time answers a French page, not a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.shortcuts import render

        from onco_hdf.pdf import PdfTooSlow

        if not isinstance(exception, PdfTooSlow):
            return None
        response = render(request, "pdf_too_slow.html", {"message": str(exception)}, status=503)
        response["Retry-After"] = "3600"
        return response


class HealthCheckMiddleware:
    """Answer ``/sante/`` before any other middleware looks at the host or the scheme.

    The container healthcheck probes ``http://127.0.0.1:8000/sante/``: neither an allowed
    host nor HTTPS. Answering here, first in the chain, never calls ``get_host()`` nor
    redirects to HTTPS; the answer holds nothing but a status.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/sante/" and request.method in ("GET", "HEAD"):
            from onco_hdf.views import health

            return health(request)
        return self.get_response(request)
