"""Every URL of the platform refuses anonymous visitors (except the public ones)."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

# Public by design: login and password reset, health probe, language switch, the
# admin's own login, and the public verification pages the apps declare below.
PUBLIC_URL_NAMES = {
    "account:login",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "health",
    "set_language",
    # Survey invitation links: the token is the credential (no account needed).
    "surveys:token-start",
    "surveys:token-section",
    "surveys:token-autosave",
    "surveys:token-review",
    # Public verification of a habilitation sheet's code (what its PDF prints, no more).
    "habilitations:verify",
    "habilitations:verify-code",
    # Public check of an official PDF dropped on the page (its seal and its hash).
    "onco_hdf:document-verify",
    "onco_hdf:document-verify-code",
}


def _walk(resolver, prefix="", namespace=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            full_ns = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from _walk(entry, prefix + str(entry.pattern), full_ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield prefix + str(entry.pattern), name


def _sample_path(pattern: str) -> str:
    path = re.sub(r"<int:[^>]+>", "1", pattern)
    path = re.sub(r"<(?:str|slug):[^>]+>", "x", path)
    path = re.sub(r"<uuid:[^>]+>", "00000000-0000-0000-0000-000000000000", path)
    path = re.sub(r"<path:[^>]+>", "x", path)
    path = re.sub(r"<[^>]+>", "x", path)
    path = path.lstrip("^").rstrip("$").replace("\\Z", "")
    return "/" + path


def all_urls():
    return sorted(set(_walk(get_resolver())), key=lambda item: (item[0], item[1] or ""))


def is_public(name: str | None) -> bool:
    return name in PUBLIC_URL_NAMES


PROTECTED = [(p, n) for p, n in all_urls() if not is_public(n)]


@pytest.mark.django_db
@pytest.mark.parametrize(("pattern", "name"), PROTECTED, ids=[p for p, _n in PROTECTED])
def test_anonymous_is_sent_to_login(anonymous, pattern, name):
    response = anonymous.get(_sample_path(pattern))
    assert response.status_code in (302, 405), f"{pattern} answered {response.status_code}"
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith("/admin/login/"):  # the admin's login hands over to ours
            location = anonymous.get(location)["Location"]
        assert "/compte/connexion/" in location
    else:  # POST-only views must refuse anonymous POSTs too
        response = anonymous.post(_sample_path(pattern))
        assert response.status_code == 302
        assert "/compte/connexion/" in response["Location"]


def test_walker_sees_the_foundation_urls():
    names = {name for _pattern, name in all_urls()}
    assert {"home", "onco_hdf:centre-list", "onco_hdf:job-status", "account:otp-verify"} <= names


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/compte/connexion/", "/compte/mot-de-passe/oubli/", "/sante/", "/verifier/"]
)
def test_public_pages_answer_anonymous(anonymous, path):
    assert anonymous.get(path).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("pattern", "name"), [(p, n) for p, n in all_urls() if n in PUBLIC_URL_NAMES]
)
def test_public_urls_never_fail_on_made_up_arguments(anonymous, pattern, name):
    response = anonymous.get(_sample_path(pattern))
    assert response.status_code in (200, 302, 404, 405, 410)
