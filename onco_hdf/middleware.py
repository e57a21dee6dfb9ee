"""Request guards: the second factor for regional roles, the session's absolute limit,
and input no page can store."""

import json
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.dispatch import receiver
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


SESSION_STARTED_KEY = "onco_hdf_signed_in_at"


@receiver(user_logged_in)
def _remember_sign_in_time(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_STARTED_KEY] = int(time.time())


class SessionLimitMiddleware:
    """End a session ``SESSION_ABSOLUTE_SECONDS`` after the login, however active.

    The idle limit is Django's own (``SESSION_COOKIE_AGE`` with the expiry pushed back on
    every request); this one stops a session kept alive by polling pages forever.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            started = request.session.setdefault(SESSION_STARTED_KEY, now)
            if now - started > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
                messages.info(
                    request,
                    _("Your session has lasted more than %(hours)s hours: please sign in again.")
                    % {"hours": _hours(settings.SESSION_ABSOLUTE_SECONDS)},
                )
                return redirect_to_login(request.get_full_path())
        return self.get_response(request)


def _hours(seconds: int) -> str:
    hours = seconds / 3600
    return str(int(hours)) if hours.is_integer() else f"{hours:.1f}"


NUL = "\x00"


class RefuseUnstorableInputMiddleware:
    """Input no page can store answers a French 400 before any view runs: a NUL character
    in the path, a parameter name or value, an upload's file name or a JSON body.

    No text a person types contains a NUL, and PostgreSQL refuses to store or compare it,
    so without this guard every view that filters on or saves a raw value would answer 500.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        values = list(_request_values(request))
        if any(NUL in value for value in values):
            return bad_request(
                request,
                _(
                    "The data sent contains a null character, which cannot be saved. "
                    "Remove it and try again."
                ),
            )
        return self.get_response(request)


def _request_values(request):
    """The path, then every parameter name and value, file name and JSON string."""
    yield request.path
    yield from _query_values(request.GET)
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    if request.content_type.startswith("application/json"):
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            return  # not JSON: the view answers for it
        yield from _json_values(body)
        return
    yield from _query_values(request.POST)
    for _key, files in request.FILES.lists():
        yield from (upload.name or "" for upload in files)


def _query_values(query):
    for key in query:
        yield key
        yield from query.getlist(key)


def _json_values(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _json_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_values(item)


class PdfTooSlowMiddleware:
    """A PDF page whose layout ran out of time, or that could not be signed, answers a
    French page, not a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.shortcuts import render

        from onco_hdf.pdf import PdfTooSlow
        from onco_hdf.signing import SigningUnavailable

        if not isinstance(exception, PdfTooSlow | SigningUnavailable):
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
