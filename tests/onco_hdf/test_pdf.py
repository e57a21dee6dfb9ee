"""onco_hdf.pdf: French PDF with page numbers; nothing outside static is ever fetched."""

from __future__ import annotations

import http.server
import io
import os
import threading
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from onco_hdf import pdf
from tests.requirements import REPO_ROOT


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def test_templates(settings):
    settings.TEMPLATES = [
        {
            **settings.TEMPLATES[0],
            "DIRS": [*settings.TEMPLATES[0]["DIRS"], REPO_ROOT / "tests/templates"],
        }
    ]


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_recorder():
    _Recorder.hits = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], _Recorder.hits
    server.shutdown()


@pytest.mark.django_db
def test_base_report_has_cover_toc_and_page_numbers():
    content = pdf.render_pdf(
        "reports/onco_hdf/dashboard.html",
        {
            "report_title": "Tableau de bord régional",
            "toc": [
                {"anchor": "network", "title": "Le réseau"},
                {"anchor": "centres", "title": "Centres"},
            ],
            "summary": {"centre_count": 17, "user_count": 3, "centres_without_referent": 2},
            "tiles": [],
            "centres": [],
        },
    )
    assert content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(content))
    pages = len(reader.pages)
    assert pages >= 3
    text = pdf_text(content)
    assert "Tableau de bord régional" in text
    assert "Sommaire" in text and "Le réseau" in text
    # No-break spaces: "page 8 / 29" never splits across two lines of the footer.
    assert f"page\u00a02\u00a0/\u00a0{pages}" in text
    assert "Généré le" in text
    assert "17" in text


@pytest.mark.django_db
def test_hostile_report_fetches_nothing(test_templates, http_recorder):
    port, hits = http_recorder
    content = pdf.render_pdf(
        "tests/hostile_report.html",
        {
            "report_title": "Rapport",
            "port": port,
            "user_text": '<img src="file:///etc/passwd"> <script>alert(1)</script>',
        },
    )
    reader = PdfReader(io.BytesIO(content))
    assert reader.attachments == {}
    assert hits == []  # no HTTP request reached the server
    text = pdf_text(content)
    assert "Fin du rapport hostile." in text
    # User text is escaped, shown as text, never interpreted.
    assert '<img src="file:///etc/passwd">' in text
    assert Path("/etc/hostname").read_text().strip() not in text.replace("ONCO-HDF", "")
    for page in reader.pages:
        resources = page["/Resources"].get_object()
        assert not resources.get("/XObject")  # no image made it in


def test_fetcher_serves_static_files_only():
    fetcher = pdf.StaticOnlyFetcher()
    response = fetcher.fetch("file:///static/css/report.css")
    assert b"@page" in response.read()
    for url in (
        "file:///etc/passwd",
        "file:///static/../../etc/passwd",
        "http://127.0.0.1:1/x",
        "https://example.org/x.css",
        "ftp://x/y",
    ):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain;base64,T0s=").read() == b"OK"


def test_only_pdf_module_imports_weasyprint():
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for path in REPO_ROOT.glob("**/*.py")
        if ".venv" not in path.parts
        and path.name != "pdf.py"
        and "tests" not in path.parts
        and ("import weasyprint" in path.read_text() or "from weasyprint" in path.read_text())
    ]
    assert offenders == []


# --- Time limits ------------------------------------------------------------------------
LONG = {"report_title": "Long", "lines": [f"Ligne {i} " * 20 for i in range(20000)]}


def _zombies() -> int:
    """Children of this process that ended but were not reaped."""
    import subprocess

    out = subprocess.run(
        ["ps", "--ppid", str(os.getpid()), "-o", "stat="], capture_output=True, text=True
    )
    return sum(1 for stat in out.stdout.split() if stat.startswith("Z"))


@pytest.mark.django_db
def test_a_pdf_too_long_to_lay_out_is_stopped_with_a_french_message(test_templates):
    started = time.monotonic()
    with pytest.raises(pdf.PdfTooSlow) as stopped:
        pdf.render_pdf("tests/long_report.html", LONG, time_limit=1)
    assert time.monotonic() - started < 10  # the render of 20,000 lines would take minutes
    assert str(stopped.value) == (
        "La construction du PDF a dépassé la durée autorisée (1 s) et a été arrêtée : le "
        "document est trop volumineux. Raccourcissez les textes les plus longs, ou contactez "
        "l’équipe."
    )
    assert _zombies() == 0


@pytest.mark.django_db
def test_synchronous_renders_use_the_default_cap(test_templates, settings):
    settings.PDF_RENDER_SECONDS = 1
    with pytest.raises(pdf.PdfTooSlow):
        pdf.render_pdf("tests/long_report.html", LONG)
    settings.PDF_RENDER_SECONDS = 60
    short = pdf.render_pdf("tests/long_report.html", {"report_title": "Court", "lines": ["x"]})
    assert "Court" in pdf_text(short)


@pytest.mark.django_db
def test_a_failing_layout_is_reported_not_hung(monkeypatch):
    def broken(html):
        raise ValueError("mise en page impossible")

    monkeypatch.setattr(pdf, "_write_pdf", broken)
    with pytest.raises(pdf.PdfRenderError, match="ValueError: mise en page impossible"):
        pdf.render_pdf("reports/base_report.html", {"report_title": "x"}, time_limit=30)
