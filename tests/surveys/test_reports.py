"""Results and report: numbers on a fixed data set, the centre view, the PDF text."""

import io

import pytest
from pypdf import PdfReader

from onco_hdf.models import Job, JobStatus
from surveys import results
from surveys.reports import Heading, Quotes, Table, report_document
from tests.conftest import login

pytestmark = pytest.mark.django_db


def test_results_count_n_over_the_respondents_who_saw_the_question(dataset):
    data = results.campaign_results(dataset, suppress=False)
    q1 = data.by_code("Q1")
    assert (q1.answered, q1.shown) == (3, 3)
    assert [(c, n) for c, _l, n in q1.counts] == [("a", 2), ("b", 1), ("c", 0)]
    assert [round(p) for *_x, p in q1.percentages] == [67, 33, 0]
    q2 = data.by_code("Q2")
    assert (q2.answered, q2.shown) == (2, 2)
    assert (q2.stats.median, q2.stats.minimum, q2.stats.maximum) == (50, 42, 58)
    rt = data.by_code("RT")
    assert (rt.answered, rt.shown, rt.stats.median) == (2, 2, 7)
    q3 = data.by_code("Q3")
    assert dict((c, n) for c, _l, n in q3.counts) == {"x": 2, "y": 2, "z": 0, "other": 1}
    assert q3.texts == ["Maison"]
    r1 = data.by_code("R1")
    assert [(label, round(score, 2), firsts) for label, score, firsts in r1.scores] == [
        ("Temps", 1.33, 2),
        ("Prix", 1.0, 1),
        ("Confiance", 0.67, 0),
    ]
    m1 = data.by_code("M1")
    assert m1.matrix[0] == ("Ligne 1", [1, 0, 2, 0])
    assert m1.chart is not None
    mm = data.by_code("MM")
    assert (mm.answered, mm.shown) == (2, 3) and mm.heatmap is not None
    assert mm.matrix[0] == ("ORL", [2, 1])


def test_filters_by_sector(dataset):
    public = results.campaign_results(dataset, sector="public")
    assert [r.centre.short_name for r in public.responses] == ["A"]
    assert public.by_code("Q1").answered == 1


def test_participation(dataset, centre_a):
    follow = results.participation(dataset)
    assert (follow.expected, follow.submitted, round(follow.rate)) == (3, 3, 100)


def test_report_document_numbers(dataset, settings):
    settings.SURVEY_MIN_CELL = 1  # the arithmetic, without the small-count rule
    context = report_document(dataset)
    assert context["participation"].submitted == 3
    chapters = {c.anchor: c.blocks for c in context["chapters"]}
    by_sector, q1_y1 = [b for b in chapters["crosstabs"] if isinstance(b, Table)]
    assert by_sector.title == "Équipé ? × Secteur (n = 3 centres)"
    assert by_sector.header == ["", "Public", "Privé", "ESPIC (privé non lucratif)", "Total"]
    assert by_sector.rows == [
        ["Oui", "1 (50\u00a0%)", "0 (0\u00a0%)", "1 (50\u00a0%)", "2"],
        ["Non", "0 (0\u00a0%)", "1 (100\u00a0%)", "0 (0\u00a0%)", "1"],
        ["En projet", "0", "0", "0", "0"],
        ["Total", "1", "1", "1", "3"],
    ]
    assert [row[1:3] for row in q1_y1.rows[:3]] == [  # A and C: yes; B: no
        ["2 (100\u00a0%)", "0 (0\u00a0%)"],
        ["0 (0\u00a0%)", "1 (100\u00a0%)"],
        ["0", "0"],
    ]
    free: dict[str, list[str]] = {}
    for block in chapters["free-texts"]:
        if isinstance(block, Heading):
            question = free.setdefault(block.title, [])
        elif isinstance(block, Quotes):
            question.extend(block.items)
    assert free == {
        "Nom court": ['=HYPERLINK("x")', "Court"],
        "Commentaires": ["-rm tout", "Très utile"],
    }


def test_report_pdf_job_has_french_headings_and_figures(
    dataset, pm, django_capture_on_commit_callbacks, settings
):
    settings.SURVEY_MIN_CELL = 1  # every figure of the small data set is printed
    dataset.introduction = "<p>Introduction <strong>régionale</strong></p><script>x</script>"
    dataset.conclusions = "<p>Conclusion du COPIL</p>"
    dataset.save()
    client = login(pm)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/rapports/surveys.report/generer/", {"p_campaign": dataset.pk})
    assert response.status_code == 302
    job = Job.objects.get()
    assert job.status == JobStatus.DONE, job.message
    reader = PdfReader(io.BytesIO(job.result_file.read()))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for heading in (
        "Rapport d'enquête",
        "1. Principaux résultats",
        "2. Contexte et objectifs",
        "3. Méthodes",
        "4. Participation",
        "5. Résultats",
        "Tableaux croisés",
        "Réponses libres",
        "Limites et non-réponse",
        "Conclusions",
        "Annexe A : le questionnaire",
        "Annexe B : dictionnaire des variables condensé",
        "Période de recueil",
    ):
        assert heading in text, heading
    assert "3 réponses envoyées sur 3 centres : taux de réponse 100 % (3/3 ; IC 95 % 44–100 %)" in (
        text.replace("\u00a0", " ").replace("\n", " ")
    )
    assert "2 réponses sur 2 répondants à qui la question a été posée." in text
    assert "Introduction régionale" in text and "Conclusion du COPIL" in text
    assert "Maison" in text and "Très utile" in text
    assert "<script>" not in text


def test_report_job_fails_readably_on_bad_input(pm, django_capture_on_commit_callbacks):
    client = login(pm)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/rapports/surveys.report/generer/", {"p_campaign": "999"})
    job = Job.objects.get()
    assert job.status == JobStatus.FAILED
    assert job.message == "Cette campagne n'existe pas."


def test_report_page_saves_texts_and_cross_tabs(dataset, pm):
    client = login(pm)
    response = client.post(
        f"/enquetes/campagnes/{dataset.pk}/rapport/",
        {
            "introduction": "<p>Bonjour</p><img src=x onerror=alert(1)>",
            "conclusions": "<em>Fin</em>",
            "cross_tabs": "Q1 × SECTOR\nY1 x Q1",
        },
    )
    assert response.status_code == 302
    dataset.refresh_from_db()
    assert dataset.introduction == "<p>Bonjour</p><img src=x onerror=alert(1)>"  # Markdown source
    html = client.get(f"/enquetes/campagnes/{dataset.pk}/rapport/").content.decode()
    assert "<p>Bonjour</p>" in html and "<img" not in html  # sanitised when shown
    assert dataset.cross_tabs == [["Q1", "SECTOR"], ["Y1", "Q1"]]
    page = client.post(
        f"/enquetes/campagnes/{dataset.pk}/rapport/",
        {"introduction": "", "conclusions": "", "cross_tabs": "Q1 × NOPE"},
    )
    assert page.status_code == 200
    assert "n&#x27;existe pas" in page.content.decode()


def test_cross_tab_refuses_matrices_and_free_text(dataset, pm, settings):
    settings.SURVEY_MIN_CELL = 1
    from surveys import services
    from surveys.reports import cross_tab

    data = results.campaign_results(dataset, with_charts=False)
    table = cross_tab(data, "Q1", "SECTOR")
    assert table.table_rows()[0] == ["Oui", "1 (50\u00a0%)", "0 (0\u00a0%)", "1 (50\u00a0%)", "2"]
    assert table.table_rows()[-1] == ["Total", "1", "1", "1", "3"]
    assert "trop peu de répondants" in table.test.text or table.test.method
    for code in ("T1", "MM", "R1"):  # free text, matrix × sector, ranking: no cross-tab
        with pytest.raises(services.SurveyError, match="pas une question à choix"):
            services.campaign_report_update(
                campaign=dataset, introduction="", conclusions="", cross_tabs=[[code, "SECTOR"]]
            )
