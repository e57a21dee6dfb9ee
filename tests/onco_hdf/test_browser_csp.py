"""The browser fixtures catch Content-Security-Policy violations (real Chromium)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import fixtures_browser

pytestmark = [pytest.mark.browser]


def test_a_violation_in_any_page_is_recorded(page):
    page.route(
        "http://csp.invalid/",
        lambda route: route.fulfill(
            status=200,
            headers={"Content-Security-Policy": "style-src 'self'; script-src 'self'"},
            content_type="text/html",
            body='<p style="color: red">inline</p><script>document.title = "ran"</script>',
        ),
    )
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.goto("http://csp.invalid/")
    expect(page.locator("p")).to_have_text("inline")
    found = list(fixtures_browser.CSP_VIOLATIONS)
    fixtures_browser.CSP_VIOLATIONS.clear()  # expected here: do not fail this test
    assert any("style" in text for text in found)
    assert any("script" in text for text in found)
