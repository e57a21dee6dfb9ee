"""PDF rendering: the project's only WeasyPrint import.

Reports are HTML templates rendered to PDF. The URL fetcher serves only the project's
static files and ``data:`` URIs, so user text inside a report can never make the renderer
read a local file or reach the network (no ``file:`` outside static, no HTTP, no redirects).

Layout runs in a forked child process with a time limit (``PDF_RENDER_SECONDS`` for a
page that renders while the user waits, longer for report jobs): a document too large to
lay out in time is stopped, its memory freed with the child, and the caller gets a
:class:`PdfTooSlow` whose message says so in French, instead of a worker killed.
"""

from __future__ import annotations

import mimetypes
import os
import select
import signal
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext
from weasyprint import HTML, URLFetcher
from weasyprint.urls import URLFetcherResponse

from onco_hdf import signing

# Relative URLs in reports resolve against this base, so "/static/x.css" becomes
# "file:///static/x.css" and is looked up among the static files, never on disk as is.
BASE_URL = "file:///"


class StaticOnlyFetcher(URLFetcher):
    """Resolve ``/static/...`` through the staticfiles finders; ``data:`` as usual."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols={"data"}, allow_redirects=False, timeout=1)

    def fetch(self, url: str, headers=None):
        if url.startswith("data:"):
            return super().fetch(url, headers)
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise ValueError(f"Blocked resource in a report: {url}")
        path = unquote(parts.path)
        static_prefix = settings.STATIC_URL
        if not path.startswith(static_prefix):
            raise ValueError(f"Blocked resource in a report: {url}")
        found = static_file(path.removeprefix(static_prefix))
        if found is None:
            raise ValueError(f"Static file not found for a report: {url}")
        content_type = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, found.read_bytes(), headers={"Content-Type": content_type})


def static_file(relative: str) -> Path | None:
    """The file behind a static path, only if it lies inside a static directory."""
    if ".." in Path(relative).parts:
        return None
    found = finders.find(relative)
    if not found:
        return None
    path = Path(found).resolve()
    roots = [Path(d).resolve() for d in settings.STATICFILES_DIRS]
    if settings.STATIC_ROOT:
        roots.append(Path(settings.STATIC_ROOT).resolve())
    if not any(path.is_relative_to(root) for root in roots):
        return None
    return path if path.is_file() else None


def render_html(template_name: str, context: dict | None = None) -> str:
    context = dict(context or {})
    context.setdefault("generated_at", timezone.localtime())
    context.setdefault("platform_version", settings.PLATFORM_VERSION)
    return render_to_string(template_name, context)


class PdfTooSlow(Exception):
    """The layout took longer than allowed; ``str()`` is the user-facing (French) message."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(
            gettext(
                "Building the PDF took longer than allowed (%(seconds)d s) and was stopped: "
                "the document is too large. Shorten the longest texts, or contact the team."
            )
            % {"seconds": round(seconds)}
        )


class PdfRenderError(RuntimeError):
    """The layout failed in the child process (its error, as text)."""


def render_pdf(
    template_name: str,
    context: dict | None = None,
    *,
    language: str = "fr",
    time_limit: float | None = None,
    official: signing.Official | None = None,
) -> bytes:
    """Render ``template_name`` with ``context`` into PDF bytes (French by default).

    ``time_limit`` (seconds, default ``PDF_RENDER_SECONDS``) bounds the layout; beyond it
    :class:`PdfTooSlow` is raised. An ``official`` document gets a signature block listing
    its signatories and is signed by the platform (:mod:`onco_hdf.signing`); other PDFs
    stay unsigned.
    """
    with translation.override(language):
        context = dict(context or {})
        if official is not None:
            context["signature_block"] = signing.signature_block_context(official)
        html = render_html(template_name, context)
        limit = settings.PDF_RENDER_SECONDS if time_limit is None else time_limit
        content = _write_pdf_within(html, limit)
        if official is not None:
            content = signing.sign_pdf(content, official)
        return content


def _write_pdf(html: str) -> bytes:
    return HTML(string=html, base_url=BASE_URL, url_fetcher=StaticOnlyFetcher()).write_pdf()


def _write_pdf_within(html: str, seconds: float) -> bytes:
    """``_write_pdf`` in a forked child, killed after ``seconds``; its bytes come by a pipe."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: lay out, send the outcome, leave without any cleanup
        status = 1
        try:
            os.close(read_fd)
            try:
                payload, status = b"K" + _write_pdf(html), 0
            except BaseException as error:  # noqa: BLE001  (reported to the parent)
                payload = b"E" + f"{type(error).__name__}: {error}".encode(errors="replace")
            with os.fdopen(write_fd, "wb") as out:
                out.write(payload)
        finally:
            os._exit(status)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + seconds
    reaped = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_fd], [], [], left)[0]:
                raise PdfTooSlow(seconds)
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        os.waitpid(pid, 0)
        reaped = True
    finally:
        os.close(read_fd)
        if not reaped:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    outcome = b"".join(chunks)
    if outcome[:1] != b"K":
        raise PdfRenderError(outcome[1:].decode(errors="replace") or "the PDF child died")
    return outcome[1:]
