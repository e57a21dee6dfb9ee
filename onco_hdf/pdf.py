"""PDF rendering: the project's only WeasyPrint import.

Reports are HTML templates rendered to PDF. The URL fetcher serves only the project's
static files and ``data:`` URIs, so user text inside a report can never make the renderer
read a local file or reach the network (no ``file:`` outside static, no HTTP, no redirects).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone, translation
from weasyprint import HTML, URLFetcher
from weasyprint.urls import URLFetcherResponse

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


def render_pdf(template_name: str, context: dict | None = None, *, language: str = "fr") -> bytes:
    """Render ``template_name`` with ``context`` into PDF bytes (French by default)."""
    with translation.override(language):
        html = render_html(template_name, context)
    return HTML(string=html, base_url=BASE_URL, url_fetcher=StaticOnlyFetcher()).write_pdf()
