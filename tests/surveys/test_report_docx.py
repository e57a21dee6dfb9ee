"""The Word copy of the survey report: the PDF's chapters, numbers and words, charts as PNG."""

import io
import re

import pytest
from django.utils import timezone
from docx import Document

from onco_hdf.models import Job, JobStatus
from surveys.report_docx import chart_png
from surveys.reports import Figure, Table, report_document
from tests.conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def every_count_shown(settings):
    settings.SURVEY_MIN_CELL = 1  # the 3-centre data set printed whole


def docx_text(document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def test_word_copy_job_has_every_chapter_figure_table_and_finding(
    dataset, pm, django_capture_on_commit_callbacks
):
    dataset.introduction = "Introduction **régionale**\n\n- premier point"
    dataset.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = login(pm).post(
            "/rapports/surveys.report_docx/generer/", {"p_campaign": dataset.pk}
        )
    assert response.status_code == 302
    job = Job.objects.get()
    assert job.status == JobStatus.DONE, job.message
    assert job.result_file.name.endswith(".docx")
    document = Document(io.BytesIO(job.result_file.read()))
    text = docx_text(document)
    context = report_document(dataset)
    headings = [c.heading for c in context["chapters"]]
    assert headings[:5] == [
        "1. Principaux résultats",
        "2. Contexte et objectifs",
        "3. Méthodes",
        "4. Participation",
        "5. Résultats",
    ]
    styled = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert [h for h in styled if h != "Sommaire"] == headings
    figures = [b for c in context["chapters"] for b in c.blocks if isinstance(b, Figure)]
    tables = [b for c in context["chapters"] for b in c.blocks if isinstance(b, Table)]
    for block in figures + tables:
        assert block.caption in text, block.caption
    assert len(document.inline_shapes) == len(figures)  # one PNG per chart
    assert len(document.tables) == len(tables)
    for finding in context["chapters"][0].blocks[0].items:
        assert finding in text
    assert "Oui | 2 | 67\u00a0% | 21–94\u00a0%" in text  # the Wilson interval, as in the PDF
    assert "Introduction régionale" in text and "premier point" in text
    bold = [r.text for p in document.paragraphs for r in p.runs if r.bold]
    assert "régionale" in bold
    codes = [q.code for q in context["results"].structure.questions]
    for caption in [b.caption for b in figures + tables]:
        words = re.sub(r"\(réponse à \w+\)", "", caption)
        assert not any(re.search(rf"\b{code}\b", words) for code in codes), caption
    footer = document.sections[0].footer.paragraphs[0]._p.xml
    assert 'w:instr="PAGE"' in footer and 'w:instr="NUMPAGES"' in footer


def test_chart_becomes_a_png_of_twice_its_size(dataset):
    figure = next(
        b for c in report_document(dataset)["chapters"] for b in c.blocks if isinstance(b, Figure)
    )
    png = chart_png(figure.chart)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert width == 2 * int(re.search(r'width="(\d+)"', figure.chart.markup).group(1))


def test_word_copy_of_an_unknown_campaign_fails_readably(pm, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        login(pm).post("/rapports/surveys.report_docx/generer/", {"p_campaign": "999"})
    job = Job.objects.get()
    assert job.status == JobStatus.FAILED and job.message == "Cette campagne n'existe pas."


def test_report_page_offers_both_and_says_what_and_when(
    dataset, pm, django_capture_on_commit_callbacks
):
    client = login(pm)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/rapports/surveys.report_docx/generer/", {"p_campaign": dataset.pk})
    page = client.get(f"/enquetes/campagnes/{dataset.pk}/rapport/").content.decode()
    assert "Télécharger la copie Word (modifiable)" in page and "Télécharger le PDF" in page
    assert "à partir des 3 réponses envoyées à cette date" in page
    job = Job.objects.get()
    assert "Rapports demandés" in page and "Rapport d&#x27;enquête (Word)" in page
    assert timezone.localtime(job.finished_at).strftime("%d/%m/%Y %H:%M") in page
    assert f"/taches/{job.pk}/resultat/" in page
