"""One small-count rule on every survey output: results page (filtered or not), centre view,
PDF report, exports. The data set has three centres: A (59, public), B (80, private) and
C (62, ESPIC); Q1 = Oui for A and C, Non for B; Q2 (shown if Oui) = 42 for A and 58 for C."""

import io
import re

import pytest
from pypdf import PdfReader

from onco_hdf.models import Job, JobStatus
from surveys import results, suppression
from surveys.suppression import Hidden
from tests.conftest import login

pytestmark = pytest.mark.django_db


def cells(values):
    return [str(v) for v in values]


def page_content(response, campaign) -> str:
    """The page's ``<main>`` without random tokens (CSRF values, CSP nonces) and without the
    campaign's numbered title, so that "58" not in it says no answer is shown, not that a
    token or "Campagne 158" happened to spell 58."""
    html = response.content.decode()
    main = html[html.index("<main") : html.index("</main>")]
    return re.sub(r'(value|nonce)="[^"]*"', "", main).replace(campaign.title, "")


# --- The rule -------------------------------------------------------------------------
def test_small_counts_are_masked_and_zero_is_shown():
    assert cells(suppression.mask_counts([5, 2, 0, 1], exclusive=False)) == ["5", "< 3", "0", "< 3"]
    assert suppression.mask(3) == 3 and suppression.mask(0) == 0
    assert suppression.mask(2) == Hidden(3)


def test_a_lone_masked_cell_of_exclusive_answers_takes_the_smallest_other_with_it():
    # n = 12 is printed: "7, 4, < 3" would give the 1 away by subtraction.
    assert cells(suppression.mask_counts([7, 4, 1], exclusive=True)) == ["7", "masqué", "< 3"]
    # Two masked cells already protect each other.
    assert cells(suppression.mask_counts([7, 2, 1], exclusive=True)) == ["7", "< 3", "< 3"]
    # Several answers per respondent: cells do not add up to n, nothing to recompute.
    assert cells(suppression.mask_counts([7, 4, 1], exclusive=False)) == ["7", "4", "< 3"]
    # Only zeros beside it: a zero is masked so the cell is not known to be the lone one.
    assert cells(suppression.mask_counts([0, 1, 0], exclusive=True)) == ["masqué", "< 3", "0"]


def test_the_threshold_is_a_setting(settings):
    settings.SURVEY_MIN_CELL = 5
    assert cells(suppression.mask_counts([4, 5, 6], exclusive=False)) == ["< 5", "5", "6"]
    assert suppression.too_few(4) and not suppression.too_few(5)


def test_results_apply_the_rule_and_keep_the_raw_figures_for_exports(dataset):
    data = results.campaign_results(dataset)
    q1 = data.by_code("Q1")
    assert cells(n for _c, _l, n in q1.counts) == ["< 3", "< 3", "0"]
    assert [pct for *_x, pct in q1.percentages] == [None, None, 0.0]
    q2 = data.by_code("Q2")  # two answers: nothing but "fewer than 3"
    assert q2.suppressed and q2.stats is None and q2.values == [] and q2.chart is None
    t1 = data.by_code("T1")
    assert t1.suppressed and t1.texts == []
    assert data.by_code("Q3").texts == ["Maison"]  # 3 answers: the "other" text is kept
    raw = results.campaign_results(dataset, suppress=False)
    assert [n for _c, _l, n in raw.by_code("Q1").counts] == [2, 1, 0]
    assert raw.by_code("Q2").stats.median == 50


# --- Every view -----------------------------------------------------------------------
def test_results_page_filtered_to_one_departement_shows_none_of_its_answers(dataset, pm):
    client = login(pm)
    page = client.get(f"/enquetes/campagnes/{dataset.pk}/resultats/?departement=62")
    html = page_content(page, dataset)
    assert page.status_code == 200
    assert "Moins de 3 réponses dans cette sélection" in html
    # Centre C is alone in the Pas-de-Calais: its 58 % and its "Oui" must not be shown.
    assert "58" not in html
    assert 'class="num text-end">1<' not in html
    assert "Q2" not in html


def test_results_page_of_the_region_masks_the_same_cells_as_the_centre_view(
    dataset, pm, oncologist_a
):
    html = login(pm).get(f"/enquetes/campagnes/{dataset.pk}/resultats/").content.decode()
    assert html.count('<td class="num text-end">&lt; 3</td>') >= 2
    assert "Moins de 3 réponses (N = &lt; 3 répondants" in html  # Q2, shown to 2 centres
    assert "Très utile" not in html  # T1 answered by two centres
    assert "Maison" in html
    centre = login(oncologist_a).get(f"/enquetes/campagnes/{dataset.pk}/mon-centre/")
    centre_html = centre.content.decode()
    assert "Oui : <strong>&lt; 3</strong>" in centre_html
    assert "Non : <strong>&lt; 3</strong>" in centre_html


def test_results_page_with_the_rule_off_shows_every_count(dataset, pm, settings):
    settings.SURVEY_MIN_CELL = 1
    html = login(pm).get(f"/enquetes/campagnes/{dataset.pk}/resultats/").content.decode()
    assert "&lt; 3" not in html and "Très utile" in html


def test_report_pdf_applies_the_rule(dataset, pm, django_capture_on_commit_callbacks):
    client = login(pm)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/rapports/surveys.report/generer/", {"p_campaign": dataset.pk})
    job = Job.objects.get()
    assert job.status == JobStatus.DONE, job.message
    reader = PdfReader(io.BytesIO(job.result_file.read()))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "< 3" in text
    assert "Moins de 3 réponses (N = < 3 répondants" in text
    assert "n = 2 réponses" not in text
    assert "Très utile" not in text and "-rm tout" not in text  # T1: two answers
    assert "Maison" in text


def test_cross_tab_cells_are_masked(dataset):
    from surveys.reports import cross_tab

    by_sector = cross_tab(results.campaign_results(dataset), "Q1", "SECTOR")
    assert cells(by_sector.counts[0]) == ["< 3", "0", "< 3"]


@pytest.mark.parametrize("persona", ["copil", "referent_a", "oncologist_a", "oncologist_b"])
def test_raw_exports_are_for_the_project_manager_only(dataset, persona, request):
    user = request.getfixturevalue(persona)
    for fmt in ("csv", "xlsx"):
        response = login(user).get(f"/enquetes/campagnes/{dataset.pk}/export/{fmt}/")
        assert response.status_code == 403


def test_results_page_filtered_by_sector_masks_too(dataset, pm):
    # One public centre (A, Q2 = 42): the selection is too small to show anything.
    text = page_content(
        login(pm).get(f"/enquetes/campagnes/{dataset.pk}/resultats/?sector=public"), dataset
    )
    assert "Moins de 3 réponses dans cette sélection" in text
    assert "42" not in text and "Maison" not in text


def test_word_copy_applies_the_rule(dataset, pm, django_capture_on_commit_callbacks):
    from docx import Document

    with django_capture_on_commit_callbacks(execute=True):
        login(pm).post("/rapports/surveys.report_docx/generer/", {"p_campaign": dataset.pk})
    job = Job.objects.get()
    assert job.status == JobStatus.DONE, job.message
    document = Document(io.BytesIO(job.result_file.read()))
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    text = "\n".join(parts)
    assert "< 3" in text
    assert "Très utile" not in text and "-rm tout" not in text  # T1: two answers
    assert "Maison" in text
