"""“Your centre vs the region”: the page and its one-page PDF, for the centre's members.

Data set: A (Oui, Q2 = 42, "Maison" as other), B (Non), C (Oui, Q2 = 58); three responses."""

import io

import pytest
from pypdf import PdfReader

from onco_hdf.models import ReadAction, ReadAudit
from surveys import results
from tests.conftest import login

pytestmark = pytest.mark.django_db


def page_url(campaign, centre, pdf=False):
    return f"/enquetes/campagnes/{campaign.pk}/centres/{centre.pk}/" + ("pdf/" if pdf else "")


def pdf_text(content: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(content))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def cells(row):
    return [(c.label, str(c.value), c.share, c.mine) for c in row.regional]


def test_rows_put_the_centre_answer_beside_the_masked_regional_figures(dataset, centre_a):
    comparison = results.centre_comparison(dataset, centre_a)
    assert comparison.submitted == 3 and comparison.response.centre == centre_a
    rows = {row.question.code: row for row in comparison.rows}
    assert rows["Q1"].own == "Oui"
    assert cells(rows["Q1"]) == [
        ("Oui", "< 3", "", True),
        ("Non", "< 3", "", False),
        ("En projet", "0", "0\u00a0%", False),
    ]
    assert rows["Q2"].own == "42 %" and rows["Q2"].regional == []
    assert "Moins de 3 centres" in rows["Q2"].note
    assert rows["T1"].regional == [] and rows["Q4"].note


def test_rows_with_the_rule_off_give_shares_and_medians(dataset, centre_a, settings):
    settings.SURVEY_MIN_CELL = 1
    rows = {r.question.code: r for r in results.centre_comparison(dataset, centre_a).rows}
    assert cells(rows["Q1"])[:2] == [
        ("Oui", "2", "67\u00a0%", True),
        ("Non", "1", "33\u00a0%", False),
    ]
    assert [(c.label, c.value) for c in rows["Q2"].regional] == [
        ("médiane", "50\u00a0%"),
        ("intervalle interquartile", "46 – 54\u00a0%"),
    ]


def test_page_shows_own_answers_and_names_no_other_centre(dataset, oncologist_a, centre_a):
    for url in (f"/enquetes/campagnes/{dataset.pk}/mon-centre/", page_url(dataset, centre_a)):
        page = login(oncologist_a).get(url)
        html = page.content.decode()
        assert page.status_code == 200
        assert "Votre centre face à la région — Centre A (test)" in html
        assert "Oui : <strong>&lt; 3</strong>" in html and "votre réponse" in html
        assert "Maison" in html  # its own "other" answer
        assert "Centre B (test)" not in html and "Centre C (test)" not in html
        assert f"/centres/{centre_a.pk}/pdf/" in html


@pytest.mark.parametrize("pdf", [False, True])
@pytest.mark.parametrize(
    ("persona", "centre", "status"),
    [
        ("anonymous", "centre_a", 302),
        ("admin_user", "centre_a", 403),  # no centre, not regional
        ("referent_a", "centre_a", 200),
        ("oncologist_a", "centre_a", 200),
        ("physicist_a", "centre_a", 200),
        ("oncologist_a", "centre_b", 404),  # another centre's
        ("referent_a", "centre_c", 404),
        ("oncologist_b", "centre_a", 404),
        ("pm", "centre_b", 200),
        ("copil", "centre_c", 200),
    ],
)
def test_permissions(dataset, persona, centre, status, pdf, request):
    from django.test import Client

    client = Client() if persona == "anonymous" else login(request.getfixturevalue(persona))
    response = client.get(page_url(dataset, request.getfixturevalue(centre), pdf))
    assert response.status_code == status
    if status == 302:
        assert "/connexion/" in response["Location"] or "login" in response["Location"]


def test_choosing_another_centre_in_the_query_is_a_404(dataset, oncologist_a, centre_b, pm):
    base = f"/enquetes/campagnes/{dataset.pk}/mon-centre/"
    assert login(oncologist_a).get(f"{base}?centre={centre_b.pk}").status_code == 404
    assert login(oncologist_a).get(f"{base}?centre=abc").status_code == 404
    assert login(oncologist_a).get(f"{base}?centre=99999999999999999999").status_code == 404
    page = login(pm).get(f"{base}?centre={centre_b.pk}")
    assert "Votre centre face à la région — Centre B (test)" in page.content.decode()


def test_a_centre_outside_the_campaign_is_a_404(dataset, pm):
    from onco_hdf.models import Centre

    other = Centre.objects.create(
        name="Centre D (test)", short_name="D", finess="590000099", departement="59"
    )
    assert login(pm).get(page_url(dataset, other)).status_code == 404
    assert login(pm).get(page_url(dataset, other, pdf=True)).status_code == 404


def test_one_page_pdf_for_the_referent(dataset, referent_a, centre_a):
    response = login(referent_a).get(page_url(dataset, centre_a, pdf=True))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].endswith('-a-face-a-la-region.pdf"')
    pages, text = pdf_text(response.content)
    assert pages == 1
    assert "Votre centre face à la région — Centre A (test)" in text
    assert "des 3 réponses envoyées" in text and "Région, n = 3" in text
    assert "Oui < 3" in text and "En projet 0 (0\u00a0%)" in text
    assert "Maison" in text and "42" in text  # its own answers
    assert "Moins de 3 centres ont répondu" in text
    assert "Centre B" not in text and "Centre C" not in text
    assert "58" not in text.replace(dataset.title, "")  # centre C's Q2 ("Campagne 158" aside)
    audit = ReadAudit.objects.get(action=ReadAction.DOWNLOAD)
    assert audit.actor == "referent_a" and audit.centre_id == centre_a.pk


def test_demo_centre_pdf_fits_on_one_page(pm):
    from onco_hdf import demo as core_demo
    from surveys import demo
    from surveys.models import Campaign, ResponseStatus

    core_demo.seed()
    demo.seed()
    campaign = Campaign.objects.get(title=demo.CAMPAIGN_TITLE)
    response = campaign.responses.filter(status=ResponseStatus.SUBMITTED).first()
    centre = response.centre
    pdf = login(pm).get(page_url(campaign, centre, pdf=True))
    pages, text = pdf_text(pdf.content)
    assert pages == 1, text
    text = " ".join(text.split())  # a long centre name wraps in the title
    others = campaign.centres.exclude(pk=centre.pk).values_list("name", flat=True)
    assert all(name not in text for name in others)
    assert centre.name in text and "des 11 réponses envoyées" in text


def test_campaign_page_links_each_responding_centre_to_its_summary(dataset, copil, centre_b):
    html = login(copil).get(f"/enquetes/campagnes/{dataset.pk}/").content.decode()
    assert html.count("Centre face à la région") == 3
    assert page_url(dataset, centre_b) in html
