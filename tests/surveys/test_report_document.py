"""The survey report as a publication: numbered figures and tables, key findings, methods,
limitations, free-text themes, annexes; charts titled in words with whole labels."""

import io
import re

import pytest
from pypdf import PdfReader

from onco_hdf import charts, pdf
from surveys import answers, services
from surveys.models import Reminder, ReminderKind
from surveys.reports import Figure, Table, report_document, report_metadata

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def every_count_shown(settings):
    """The small data set (3 centres) printed whole; the masked report is tested apart."""
    settings.SURVEY_MIN_CELL = 1


def render(campaign) -> tuple[dict, str]:
    """The context and the PDF's text without any white space (lines wrap anywhere)."""
    context = report_document(campaign)
    context.update(report_metadata(campaign, context))
    content = pdf.render_pdf("reports/surveys/survey_report.html", context, time_limit=120)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return context, flat(text)


def flat(text: str) -> str:
    return re.sub(r"\s", "", text)


def blocks(context, kind):
    return [b for c in context["chapters"] for b in c.blocks if isinstance(b, kind)]


def svg_labels(svg) -> list[str]:
    """The row labels of a chart, each rebuilt from its wrapped lines."""
    found = re.findall(r'<text class="label"[^>]*>(.*?)</text>', svg.markup)
    return [" ".join(re.findall(r"<tspan[^>]*>(.*?)</tspan>", t)) for t in found]


def test_every_figure_and_table_number_key_finding_and_interval_is_in_the_pdf(dataset):
    """One rendering for the numbering, the findings, the titles and the codebook."""
    context, text = render(dataset)
    figures, tables = blocks(context, Figure), blocks(context, Table)
    assert [f.number for f in figures] == list(range(1, context["figure_count"] + 1))
    assert [t.number for t in tables] == list(range(1, context["table_count"] + 1))
    assert len(figures) >= 8 and len(tables) >= 12
    for figure in figures:
        assert flat(figure.caption) in text, figure.caption
    for table in tables:
        assert flat(table.caption) in text, table.caption
    findings = context["chapters"][0].blocks[0].items
    assert 5 <= len(findings) <= 8
    assert (
        findings[0]
        == "3 des 3 centres interrogés ont répondu : 100\u00a0% (3/3 ; IC 95 % 44–100\u00a0%)."
    )
    for finding in findings:
        assert flat(finding) in text, finding
    # Q1 (Oui 2 of 3): its row carries the Wilson interval, in the PDF as in the table.
    assert flat("Oui 2 67 % 21–94 %") in text
    assert flat("Figure 2 — Équipé ? (n = 3 centres)") in text
    # No variable code as a title (a piped "(réponse à Q1)" names the earlier answer).
    codes = [q.code for q in context["results"].structure.questions]
    titles = [f.title for f in blocks(context, Figure)] + [t.title for t in blocks(context, Table)]
    titles += [f.chart.title for f in blocks(context, Figure)]
    for title in titles:
        words = re.sub(r"\(réponse à \w+\)", "", title)
        assert not any(re.search(rf"\b{code}\b", words) for code in codes), title
    for result in context["results"].questions:
        if result.kind == "choice" and result.question.type != "likert" and result.chart:
            labels = answers.option_labels(result.question)
            expected = [labels[c] for c in answers.option_codes(result.question)]
            assert svg_labels(result.chart) == expected
    codebook = blocks(context, Table)[-1]
    assert len(codebook.rows) == len(context["results"].structure.questions)
    assert "specify" not in text


def test_long_labels_wrap_instead_of_being_clipped():
    label = "Siemens AI-Rad Companion Organs RT, version avec les aires ganglionnaires"
    svg = charts.bar_chart([label, "Court"], [40, 60], title="Solutions utilisées", unit=" %")
    assert svg_labels(svg) == [label, "Court"]
    assert "…" not in svg.markup
    heat = charts.heatmap([label], [label], [[1]], title="x")
    assert svg_labels(heat) == [label, label]


def test_methods_count_the_reminders_that_were_sent(dataset):
    Reminder.objects.create(campaign=dataset, kind=ReminderKind.MANUAL, sent_count=2)
    invitation = dataset.invitations.first()
    invitation.reminder_count = 4  # two more sent one by one from the invitation list
    invitation.save()
    _context, text = render(dataset)
    assert "aucunerelance" not in text
    assert flat("(manuelle, 2 envoyées) ; 2 relances individuelles") in text


def test_free_texts_are_grouped_under_the_themes_and_anonymised(dataset, centre_a):
    services.campaign_report_update(
        campaign=dataset,
        introduction="",
        conclusions="",
        cross_tabs=dataset.cross_tabs,
        text_themes=[["Utilité", ["utile"]], ["Suppression", ["rm"]]],
    )
    response = dataset.responses.get(centre=centre_a)
    answer = response.answers.get(question__code="T1")
    answer.value_text = (
        f"Très utile au {centre_a.name}, voir Dr Martin (martin@chu.fr, 03 20 44 59 62)"
    )
    answer.save()
    context, text = render(dataset)
    assert flat("Utilité (1)") in text and flat("Suppression (1)") in text
    assert flat("« Très utile au […], voir […] ([…], […]) »") in text
    assert "Martin" not in text and "20445962" not in text


def test_limitations_state_non_response_and_the_width_of_the_intervals(dataset, centre_b):
    dataset.responses.filter(centre=centre_b).update(status="in_progress")
    _context, text = render(dataset)
    assert flat("1 centre interrogé n'a pas envoyé de réponse") in text
    assert flat("Avec 2 réponses, une proportion proche de 50 % n'est connue qu'à ±") in text


def test_the_report_applies_the_small_count_rule(dataset, settings):
    settings.SURVEY_MIN_CELL = 3
    context, text = render(dataset)
    q1 = next(t for t in blocks(context, Table) if t.title.startswith("Équipé ?"))
    assert q1.rows[0] == ["Oui", "< 3", "—", "—"]  # 2 of 3: masked, no percentage, no interval
    assert flat("Moins de 3 réponses (N = < 3 répondants") in text
    assert flat("Les effectifs inférieurs à 3 ne sont pas affichés") in text


def test_tables_charts_and_text_round_alike(dataset):
    """Q1: 2 of 3 is 67 % in the table, on the chart's bar and in the key findings (the
    chart used to print 66,7 % beside a table's 67 %)."""
    context = report_document(dataset)
    q1 = context["results"].by_code("Q1")
    table = next(t for t in blocks(context, Table) if t.title.startswith("Équipé ?"))
    assert table.rows[0][2] == "67\u00a0%"
    assert ">67 %</text>" in q1.chart.markup and "66,7" not in q1.chart.markup
    assert any("« Oui » : 67\u00a0% (2/3" in f for f in context["chapters"][0].blocks[0].items)
