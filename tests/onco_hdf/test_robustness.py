"""No page answers 500 to made-up input: every URL, GET and POST, with existing and
unknown ids and junk parameters, for people of different roles, on the full demo data."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import Resolver404, resolve, reverse

from tests.onco_hdf.test_url_walker import all_urls

JUNK = {"x": "'<script>", "status": "zz", "statut": "zz", "page": "-1", "direction": "nowhere"}
USERS = ("cheffe.projet", "referent.lille", "oncologue.amiens", "physicien.lille")


def concrete_paths() -> list[str]:
    paths = []
    for pattern, name in all_urls():
        if pattern.startswith("admin/") or name in ("account:logout", "onco_hdf:system-status"):
            continue
        for value in ("1", "999999"):
            path = re.sub(r"<int:[^>]+>", value, pattern)
            paths.append("/" + re.sub(r"<[^>]+>", "x", path))
    return sorted(set(paths))


# --- Every form field and query parameter, as every persona -----------------------------
# One user per role of the demo, and an anonymous visitor holding a survey invitation link.
PERSONAS = (
    "cheffe.projet",
    "copil",
    "admin",
    "referent.lille",
    "oncologue.lille",
    "chef.service.lille",
    "physicien.lille",
    "oncologue.amiens",
    None,
)
LONG = 100_001
BAD_VALUES = {
    "nul": lambda value: f"{value}\x00x",
    "overlong": lambda value: "A" * LONG,
    "wrong type": lambda value: "abc'\"<>",
    "huge number": lambda value: "9" * 40,
    "negative": lambda value: "-1",
    "not a number": lambda value: "1e309",
}
# Fields the mutation leaves as rendered: CSRF token and the button that says which action.
KEPT = {"csrfmiddlewaretoken", "action"}
# Not visited: the Django admin (third-party), logging out, the worker check (it only
# starts a job) and the language switch (it only sets a cookie).
SKIPPED_NAMES = {"account:logout", "onco_hdf:system-status", "set_language"}
PAGES_PER_NAME = 1


class _PageParser(HTMLParser):
    """The forms (action, method, fields) and in-site links of one HTML page."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.links: list[str] = []
        self._form: dict | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag == "form":
            self._form = {
                "action": attrs.get("action") or "",
                "method": (attrs.get("method") or "get").lower(),
                "fields": {},
            }
            self.forms.append(self._form)
        elif self._form is not None and attrs.get("name"):
            name = attrs["name"]
            if tag == "input":
                kind = (attrs.get("type") or "text").lower()
                if kind in ("checkbox", "radio") and "checked" not in attrs:
                    self._form["fields"].setdefault(name, [])
                    self._form["fields"][name].append(("", kind))
                    return
                self._form["fields"].setdefault(name, []).append((attrs.get("value") or "", kind))
            elif tag in ("textarea", "select"):
                self._form["fields"].setdefault(name, []).append(("", tag))
            elif tag == "button" and attrs.get("value"):
                self._form["fields"].setdefault(name, []).append((attrs["value"], "button"))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def _name_of(path: str) -> str | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.view_name


def _mutated(fields: dict, mutate) -> dict:
    data = {}
    for name, entries in fields.items():
        if name in KEPT:
            data[name] = entries[0][0]
            continue
        kinds = {kind for _value, kind in entries}
        if kinds == {"button"}:
            data[name] = entries[0][0]
        elif "file" in kinds:
            data[name] = mutate("")
        else:
            data[name] = [mutate(value) for value, _kind in entries[:2]] or [mutate("")]
    return data


def _crawl_and_mutate(client, start: list[str], label: str) -> tuple[list[str], int]:
    failures, requests = [], 0
    seen_names: dict[str, int] = {}
    seen_forms: set = set()
    seen_params: set = set()
    queue, visited = list(start), set()
    while queue:
        url = queue.pop(0)
        path, _sep, query = url.partition("?")
        name = _name_of(path)
        if url in visited or name is None or name in SKIPPED_NAMES or path.startswith("/admin/"):
            continue
        if seen_names.get(name, 0) >= PAGES_PER_NAME:
            continue
        visited.add(url)
        seen_names[name] = seen_names.get(name, 0) + 1
        response = client.get(url)
        requests += 1
        if response.status_code >= 500:
            failures.append(f"{label} GET {url} → {response.status_code}")
            continue
        if "text/html" not in response.get("Content-Type", "") or response.status_code != 200:
            continue
        parser = _PageParser()
        parser.feed(response.content.decode("utf-8", "replace"))
        for href in parser.links:
            target = urljoin(path, href)
            if target.startswith("/") and not target.startswith("//"):
                queue.append(target.split("#")[0])
        jobs = []
        if query:
            params = sorted(parse_qs(query, keep_blank_values=True))
            if (name, tuple(params)) not in seen_params:
                seen_params.add((name, tuple(params)))
                jobs.append(("get", path, {p: [("1", "text")] for p in params}))
        for form in parser.forms:
            action = urljoin(path, form["action"]) if form["action"] else path
            action_path = action.split("?")[0]
            action_name = _name_of(action_path)
            if action_name is None or action_name in SKIPPED_NAMES or not form["fields"]:
                continue
            key = (form["method"], action_name, tuple(sorted(form["fields"])))
            if key not in seen_forms:
                seen_forms.add(key)
                jobs.append((form["method"], action_path, form["fields"]))
        for method, target, fields in jobs:
            for variant, mutate in BAD_VALUES.items():
                send = client.post if method == "post" else client.get
                status = send(target, _mutated(fields, mutate)).status_code
                requests += 1
                if status >= 500:
                    failures.append(
                        f"{label} {method.upper()} {target} [{variant}: "
                        f"{', '.join(sorted(fields))}] → {status}"
                    )
    return failures, requests


class TestOnTheDemo:
    """Both walks of the site on the demo of every app, seeded once for the two."""

    @pytest.mark.django_db
    def test_no_url_answers_500_to_made_up_input(self, demo_data):
        failures = []
        for username in USERS:
            client = Client(raise_request_exception=False)
            client.force_login(get_user_model().objects.get(username=username))
            for path in concrete_paths():
                for method in (client.get, client.post):
                    status = method(path, JUNK).status_code
                    if status >= 500:
                        failures.append(f"{username} {method.__name__.upper()} {path} → {status}")
        assert failures == []

    @pytest.mark.django_db
    def test_no_form_field_or_query_parameter_answers_500_to_bad_values(self, demo_data):
        """NUL, overlong, wrong-type, huge and negative values in every field of every form a
        persona is shown, and in every query parameter of the links it follows."""
        from surveys import services as survey_services
        from surveys.demo import CAMPAIGN_TITLE, NOT_OPENED
        from surveys.models import Campaign

        campaign = Campaign.objects.get(title=CAMPAIGN_TITLE)
        centre = campaign.centres.get(short_name=NOT_OPENED[0])
        invitation = survey_services.invitation_create(
            campaign=campaign, centre=centre, email="robustesse@example.org", role="", send=False
        )
        token_start = reverse(
            "surveys:token-start", args=[survey_services.invitation_token(invitation)]
        )
        start = ["/"] + [p for p in concrete_paths() if "999999" not in p]
        failures, total = [], 0
        for username in PERSONAS:
            client = Client(raise_request_exception=False)
            if username is None:
                found, count = _crawl_and_mutate(client, [token_start, *start], "anonyme")
            else:
                client.force_login(get_user_model().objects.get(username=username))
                found, count = _crawl_and_mutate(client, start, username)
            failures += found
            total += count
        assert total > 2000  # the crawl reached the forms, not only the start pages
        assert failures == []
