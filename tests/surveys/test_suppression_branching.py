"""Complementary masking: in tables with their totals, and across a branching (a filter
question and the follow-up it opens), no masked count can be recomputed by subtraction."""

import pytest

from onco_hdf.models import Centre
from surveys import reports, results, services, suppression
from surveys.reports import CrossTab
from surveys.services import Actor
from tests.conftest import login
from tests.surveys.factories import CampaignFactory, invite, post

pytestmark = pytest.mark.django_db


def cells(values):
    return [str(v) for v in values]


# --- Tables with totals ----------------------------------------------------------------
def test_a_table_line_never_has_a_lone_masked_entry():
    raw = [[5, 2, 4], [6, 5, 7]]
    counts, row_totals, column_totals, total = suppression.mask_table(raw)
    # Before: "5, < 3, 4 | 11" gave the 2 back (11 - 5 - 4); its column too (7 - 5).
    assert [cells(r) for r in counts] == [["5", "< 3", "masqué"], ["6", "masqué", "masqué"]]
    assert cells(row_totals) == ["11", "18"] and cells(column_totals) == ["11", "7", "11"]
    assert str(total) == "29"
    grid = [[*r, t] for r, t in zip(counts, row_totals, strict=True)]
    grid.append([*column_totals, total])
    lines = grid + [list(col) for col in zip(*grid, strict=True)]
    assert all(sum(map(suppression.is_hidden, line)) != 1 for line in lines)


def test_a_small_total_takes_a_cell_of_its_line_with_it():
    counts, row_totals, column_totals, _total = suppression.mask_table([[0, 0, 4], [2, 0, 5]])
    # Column 1 sums to 2: its total is masked; the total row and the second row would then
    # give it (or the 2) back, so each loses its smallest other entry.
    assert cells(column_totals) == ["< 3", "0", "masqué"]
    assert [cells(r) for r in counts] == [["0", "0", "4"], ["< 3", "0", "masqué"]]
    assert cells(row_totals) == ["4", "7"]


def test_cross_tab_printed_rows_keep_the_masked_cell_out_of_reach():
    counts, row_totals, column_totals, total = suppression.mask_table([[5, 2, 4], [6, 5, 7]])
    table = CrossTab(
        "Q",
        "Secteur",
        ["Oui", "Non"],
        ["public", "privé", "ESPIC"],
        counts,
        29,
        [[5, 2, 4], [6, 5, 7]],
        row_totals,
        column_totals,
        total,
    )
    first, second, totals = table.table_rows()
    assert first[0] == "Oui" and first[1].startswith("5 (45")
    assert first[2:] == ["< 3", "masqué", "11"]
    assert second[2:4] == ["masqué", "masqué"] and totals == ["Total", "11", "7", "11", "29"]


# --- Across a branching ----------------------------------------------------------------
def _campaign(answers_q1):
    """One submitted response per centre; Q2 (a number) and RT are shown only after Oui."""
    campaign = CampaignFactory()
    for index, q1 in enumerate(answers_q1):
        centre = Centre.objects.create(
            name=f"Centre {index} (branchement)",
            short_name=f"B{index}",
            finess=f"59100{index:04d}",
            city="Lille",
            departement="59",
            sector="public",
        )
        campaign.centres.add(centre)
        invitation, _token = invite(campaign, centre, f"ref{index}@example.org")
        actor = Actor.for_invitation(invitation)
        response = services.response_open(campaign=campaign, centre=centre, actor=actor)
        data = {"q-Q1": q1}
        if q1 == "a":
            data["q-Q2"] = str(40 + index)
        result = services.response_save_section(
            response=response, section_code="S1", data=post(data), actor=actor
        )
        assert not result.errors, result.errors
        if q1 == "a":
            services.response_save_section(
                response=response, section_code="S2", data=post({"q-RT": "7"}), actor=actor
            )
        services.response_submit(response=response, actor=actor)
    return campaign


@pytest.fixture
def five_yes_two_no(db):
    return _campaign(["a"] * 5 + ["b"] * 2)


def test_follow_up_of_a_masked_answer_is_masked_whole(five_yes_two_no):
    data = results.campaign_results(five_yes_two_no)
    q1 = data.by_code("Q1")
    assert q1.answered == 7
    assert cells(n for _c, _l, n in q1.counts) == ["masqué", "< 3", "0"]
    # Before: Q2 printed "n = 5 / N = 5", so Oui = 5 and Non = 7 - 5 = 2.
    for code in ("Q2", "RT"):
        follow_up = data.by_code(code)
        assert follow_up.follow_up_masked and follow_up.suppressed
        assert str(follow_up.shown_display) == "masqué"
        assert str(follow_up.answered_display) == "masqué"
        assert follow_up.stats is None and follow_up.values == [] and follow_up.chart is None
    # A question shown to everyone tells nothing of Q1: not masked.
    assert not data.by_code("Q3").follow_up_masked
    # The raw figures (project manager's exports) are untouched.
    raw = results.campaign_results(five_yes_two_no, suppress=False)
    assert raw.by_code("Q2").shown == 5 and raw.by_code("Q2").stats.median == 42


def test_follow_up_of_shown_answers_is_shown(db):
    data = results.campaign_results(_campaign(["a"] * 4 + ["b"] * 3))
    q2 = data.by_code("Q2")
    assert cells(n for _c, _l, n in data.by_code("Q1").counts) == ["4", "3", "0"]
    assert not q2.follow_up_masked and q2.shown_display == 4 and q2.stats.median == 41.5


def test_every_view_masks_the_follow_up(five_yes_two_no, pm):
    html = login(pm).get(f"/enquetes/campagnes/{five_yes_two_no.pk}/resultats/").content.decode()
    assert "n = 5" not in html and "N = 5" not in html
    assert html.count("donnerait un effectif masqué de la question qui l’ouvre") == 2
    blocks = [
        block
        for chapter in reports.report_document(five_yes_two_no)["chapters"]
        for block in chapter.blocks
    ]
    text = " ".join(getattr(b, "text", "") for b in blocks)
    assert "donnerait un effectif masqué de la question qui l’ouvre" in text
    assert "5 réponses sur 5 répondants" not in text
    comparison = results.centre_comparison(five_yes_two_no, Centre.objects.get(short_name="B0"))
    row = next(r for r in comparison.rows if r.question.code == "Q2")
    assert row.note == suppression.follow_up_note() and row.regional == []


def test_the_questionnaire_annex_prints_conditions_in_words_and_codes(five_yes_two_no):
    chapters = reports.report_document(five_yes_two_no)["chapters"]
    annex = next(c for c in chapters if c.anchor == "questionnaire")
    lines = [item for block in annex.blocks for item in getattr(block, "items", [])]
    q2 = next(line for line in lines if "[Q2]" in line)
    assert q2.startswith("S12. Part des patients [Q2]")
    assert "posée si « Équipé ? » = « Oui » [Q1 = a]" in q2
    rt = next(line for line in lines if "[RT]" in line)
    assert "posée si NON (« Équipé ? » ∈ {« Non », « En projet »}) [NON (Q1 ∈ {b, c})]" in rt
