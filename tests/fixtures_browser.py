"""Playwright driving Debian's Chromium (no browser download: the machine has no internet)."""

from __future__ import annotations

import os

import pytest

from tests.requirements import missing, need_chromium

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


# Every page of every browser context reports Content-Security-Policy violations here
# (Chromium's console message and the DOM's securitypolicyviolation event); the autouse
# fixture below fails the test that caused one.
CSP_VIOLATIONS: list[str] = []
_REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("Content Security Policy violation: " + event.violatedDirective + " "
    + event.blockedURI + " at " + event.documentURI);
});
"""


def _watch_csp(context) -> None:
    context.add_init_script(_REPORT_VIOLATIONS)

    def on_console(message):
        if "Content Security Policy" in message.text:
            CSP_VIOLATIONS.append(message.text)

    context.on("console", on_console)


def _csp_watching(new_context):
    def wrapped(*args, **kwargs):
        context = new_context(*args, **kwargs)
        _watch_csp(context)
        return context

    return wrapped


@pytest.fixture(autouse=True)
def _no_csp_violation():
    CSP_VIOLATIONS.clear()
    yield
    if CSP_VIOLATIONS:
        found = list(dict.fromkeys(CSP_VIOLATIONS))
        CSP_VIOLATIONS.clear()
        pytest.fail("Content-Security-Policy violations in the browser:\n" + "\n".join(found))


@pytest.fixture(scope="session")
def browser():
    executable = need_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package is not installed")
    # Playwright's sync API runs an event loop in this thread, which makes Django refuse
    # ORM calls from the test body unless async safety is relaxed, for the tests only.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            instance = playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
            instance.new_context = _csp_watching(instance.new_context)
            yield instance
            instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="fr-FR", accept_downloads=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def new_page(browser):
    """One browser context per person (their own cookies), closed after the test."""
    contexts = []

    def open_page():
        context = browser.new_context(locale="fr-FR", accept_downloads=True)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
