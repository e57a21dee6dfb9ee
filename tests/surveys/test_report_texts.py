"""Report introduction and conclusions: Markdown, sanitised wherever it is shown."""

import importlib
import io

import pytest
from pypdf import PdfReader

from onco_hdf.models import Job, JobStatus
from surveys.richtext import render
from tests.conftest import login

pytestmark = pytest.mark.django_db

HOSTILE = (
    "# Contexte\n\n"
    "Texte **important** et *nuancé*.\n\n"
    "- premier point\n- second point\n\n"
    "[Site du réseau](https://onco-hdf.fr) [piège](javascript:alert(1))\n\n"
    "<script>alert('script')</script>\n\n"
    '<img src="x" onerror="alert(\'img\')">\n\n'
    "<a href=\"javascript:alert('a')\" onclick=\"alert('clic')\">lien HTML</a>\n\n"
    '<iframe src="https://example.org"></iframe><style>body { display: none }</style>\n\n'
    '<p style="color: red" onmouseover="alert(\'p\')">fin</p>'
)


def test_markdown_is_rendered_and_hostile_html_removed():
    html = render(HOSTILE)
    assert "<h3>Contexte</h3>" in html  # "#" sits under the report's own headings
    assert "<strong>important</strong>" in html and "<em>nuancé</em>" in html
    assert "<li>premier point</li>" in html
    assert '<a href="https://onco-hdf.fr" rel="noopener noreferrer nofollow">' in html
    for bad in ("<script", "alert(", "onerror", "onclick", "javascript:", "<img", "<iframe"):
        assert bad not in html, bad
    assert "style=" not in html and "<style" not in html
    assert "fin" in html and "lien HTML" in html
    assert render("") == "" and render("   ") == ""


@pytest.mark.parametrize(
    "text",
    [
        "[x](JaVaScRiPt:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x](file:///etc/passwd)",
        "![x](https://evil.example/pixel.png)",
        "<svg onload=alert(1)>",
        "<a href='vbscript:msgbox(1)'>x</a>",
    ],
)
def test_no_dangerous_address_or_image_survives(text):
    html = render(text)
    assert "href" not in html and "<img" not in html and "<svg" not in html
    assert "onload" not in html


def test_report_page_keeps_the_markdown_and_shows_it_sanitised(dataset, pm, copil):
    client = login(pm)
    response = client.post(
        f"/enquetes/campagnes/{dataset.pk}/rapport/",
        {"introduction": HOSTILE, "conclusions": "Conclusion **du COPIL**", "cross_tabs": ""},
    )
    assert response.status_code == 302
    dataset.refresh_from_db()
    assert dataset.introduction == HOSTILE.strip()  # the source, as typed, to edit again
    for reader in (pm, copil):
        html = login(reader).get(f"/enquetes/campagnes/{dataset.pk}/rapport/").content.decode()
        assert "<strong>important</strong>" in html and "<strong>du COPIL</strong>" in html
        assert "<script>alert" not in html and 'onerror="alert' not in html
        assert 'href="javascript:' not in html


def test_report_texts_too_long_are_refused_and_kept(dataset, pm, settings):
    page = login(pm).post(
        f"/enquetes/campagnes/{dataset.pk}/rapport/",
        {"introduction": "Mot " * 5001, "conclusions": "Court", "cross_tabs": ""},
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert f"au plus {settings.FORM_TEXT_MAX_LENGTH}" in html
    assert "Mot Mot Mot" in html  # nothing typed is lost
    dataset.refresh_from_db()
    assert dataset.introduction == ""


def test_report_pdf_prints_the_markdown_safely(dataset, pm, django_capture_on_commit_callbacks):
    dataset.introduction = HOSTILE
    dataset.conclusions = "1. Poursuivre\n2. **Évaluer** en 2027"
    dataset.save()
    with django_capture_on_commit_callbacks(execute=True):
        login(pm).post("/rapports/surveys.report/generer/", {"p_campaign": dataset.pk})
    job = Job.objects.get()
    assert job.status == JobStatus.DONE, job.message
    pages = PdfReader(io.BytesIO(job.result_file.read())).pages
    text = "".join("".join(p.extract_text() for p in pages).split())  # pypdf splits "T exte"
    for good in ("Contexte", "Texteimportantetnuancé.", "premierpoint", "Siteduréseau", "piège"):
        assert good in text, good
    assert "Poursuivre" in text and "Évalueren2027" in text
    for bad in ("**", "alert", "<script", "javascript", "#Contexte", "onerror"):
        assert bad not in text, bad


def test_html_saved_before_becomes_markdown():
    migration = importlib.import_module("surveys.migrations.0008_report_texts_as_markdown")
    convert = migration.html_to_markdown
    assert convert(
        "<p>Cette enquête <strong>régionale</strong> dresse l&#x27;état.</p>\n<p>Deux</p>"
    ) == ("Cette enquête **régionale** dresse l'état.\n\nDeux")
    assert convert("<ul><li>a</li><li><em>b</em></li></ul>") == "- a\n- *b*"
    assert convert("<p>ligne<br>suite</p>") == "ligne  \nsuite"
    assert render(convert("<ol><li>x</li><li>y</li></ol>")) == "<ol>\n<li>x</li>\n<li>y</li>\n</ol>"
