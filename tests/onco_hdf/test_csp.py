"""Content-Security-Policy on every page type, and no page relies on inline code.

The policy forbids inline scripts, style attributes and event handlers, so a template
that used one would silently break in the browser: this test reads every page a persona
reaches and fails on any of them."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from tests.onco_hdf.test_robustness import concrete_paths


class _InlineCode(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = {name for name, _value in attrs}
        if "style" in names:
            self.found.append(f"style attribute on <{tag}>")
        self.found += [f"{name} handler on <{tag}>" for name in names if name.startswith("on")]
        if tag == "style":
            self.found.append("<style> element")
        # A JSON data block (json_script) is not executed, so the policy lets it be.
        data_block = dict(attrs).get("type") == "application/json"
        self._in_script = tag == "script" and "src" not in names and not data_block

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.found.append(f"inline script: {data.strip()[:60]}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


def inline_code(html: str) -> list[str]:
    parser = _InlineCode()
    parser.feed(html)
    return parser.found


def test_the_policy_forbids_inline_code_and_framing(client):
    policy = client.get("/compte/connexion/")["Content-Security-Policy"]
    directives = dict(
        (part.split()[0], part.split()[1:]) for part in policy.split(";") if part.strip()
    )
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    for directive in ("script-src", "style-src"):
        assert directives[directive] == ["'self'"]


def test_the_checker_sees_inline_code():
    html = '<p style="x">a</p><script>alert(1)</script><a onclick="f()">b</a><style>p{}</style>'
    assert len(inline_code(html)) == 4
    assert inline_code('<script src="/static/js/app.js"></script><p class="x">ok</p>') == []
    assert inline_code('<script type="application/json" id="d">{"a": 1}</script>') == []


@pytest.mark.django_db
def test_every_page_has_the_policy_and_no_inline_code(settings):
    settings.TWO_FACTOR_REQUIRED = False
    call_command("seed_demo", allow_production=True)
    problems, html_pages = [], 0
    # /sante/ is the JSON probe of the container healthcheck, answered before any middleware.
    paths = [p for p in concrete_paths() if "999999" not in p and p != "/sante/"]
    paths += ["/", "/nulle-part/", "/?q=%00"]
    for username in (None, "cheffe.projet", "referent.lille", "physicien.lille"):
        client = Client(raise_request_exception=False)
        if username:
            client.force_login(get_user_model().objects.get(username=username))
        for path in paths:
            response = client.get(path)
            if response.status_code in (301, 302):
                continue
            if "Content-Security-Policy" not in response:
                problems.append(f"{username} {path}: no Content-Security-Policy header")
            if "text/html" in response.get("Content-Type", ""):
                html_pages += 1
                found = inline_code(response.content.decode("utf-8", "replace"))
                problems += [f"{username} {path}: {item}" for item in found]
    assert html_pages > 150
    assert problems == []
