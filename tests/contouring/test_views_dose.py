"""The dosimetric impact on the results page: ΔD per solution, objectives, DVH curves."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from contouring.models import ClinicalObjective, StructureDose
from onco_hdf.numbers import format_number
from tests.conftest import login
from tests.contouring.conftest import run_comparison


@pytest.fixture
def computed(dosed_case, pm, django_capture_on_commit_callbacks):
    run_comparison(dosed_case, pm, django_capture_on_commit_callbacks)
    return dosed_case


def _rows(case, structure):
    rows = StructureDose.objects.filter(case=case, structure__name=structure)
    return {r.submission.solution.product if r.submission else r.set_key: r for r in rows}


def _signed(value: float, decimals: int) -> str:
    return ("+" if value > 0 else "\u2212") + format_number(abs(value), decimals)


def _section(page: str, case, structure: str) -> str:
    pk = case.structures.get(name=structure).pk
    start = page.index(f'id="dose-impact-{pk}"')
    return page[start : page.index("</section>", start)]


def test_the_results_page_shows_delta_d_objectives_and_curves(computed, pm):
    rows = _rows(computed, "Rectum")
    reference, margin = rows["reference"], rows["AutoContour A (simulé)"]
    # An objective between the two mean doses: met with the reference, missed with A's.
    threshold = (reference.dmean_gy + margin.dmean_gy) / 2
    comparator = "lt" if margin.dmean_gy > reference.dmean_gy else "gt"
    ClinicalObjective.objects.create(
        structure="Rectum",
        site="prostate",
        metric="dmean",
        comparator=comparator,
        threshold=threshold,
    )
    page = login(pm).get(reverse("contouring:case-results", args=[computed.pk])).content.decode()
    assert "Impact dosimétrique" in page
    rectum = _section(page, computed, "Rectum")
    delta = margin.dmean_gy - reference.dmean_gy
    percent = 100 * delta / reference.dmean_gy
    assert f"{_signed(delta, 2)}&nbsp;Gy" in rectum
    assert f"({_signed(percent, 1)}&nbsp;%)" in rectum
    assert f"{format_number(margin.dmean_gy, 2)}</td>" in rectum
    # V50 and V70 of the prostate objectives, with their differences in points.
    assert "V50&nbsp;Gy (%)" in rectum and "V70&nbsp;Gy (%)" in rectum
    v70 = margin.v_gy["70"][1] - reference.v_gy["70"][1]
    assert f"{_signed(v70, 1)}&nbsp;pts" in rectum
    assert rectum.count("atteint avec le contour de référence, manqué avec celui-ci") == 1
    assert "1 objectif change de verdict" in rectum
    # Solution D has no rectum: said so, no figure.
    assert "structure absente de ce jeu de contours" in rectum
    # The DVH chart: the reference solid black, each solution in its overlay colour.
    chart = rectum[rectum.index("<svg") :]
    assert "HDV cumulé — Rectum" in chart
    assert re.search(r'<polyline [^>]*stroke="#000000" stroke-width="2.4">', chart)
    assert re.search(r'<polyline [^>]*stroke="#56b4e9" stroke-width="1.6">', chart)
    assert re.search(
        r'<polyline [^>]*stroke="#d55e00" stroke-width="1.6" stroke-dasharray="9 5"', chart
    )
    # Regional readers also see the consensus.
    assert "Consensus par vote majoritaire" in rectum


def test_an_empty_structure_and_another_centre(computed, oncologist_b, oncologist_a):
    own = login(oncologist_a).get(reverse("contouring:case-results", args=[computed.pk]))
    prostate = _section(own.content.decode(), computed, "Prostate")
    assert "structure vide : pas d’HDV" in prostate
    assert "Consensus par vote majoritaire" not in prostate
    # Centre B sees the reference's DVH and none of centre A's figures.
    other = login(oncologist_b).get(reverse("contouring:case-results", args=[computed.pk]))
    page = other.content.decode()
    assert "AutoContour A" not in page
    margin = _rows(computed, "Rectum")["AutoContour A (simulé)"]
    assert format_number(margin.dmean_gy, 2) not in page


def test_without_a_dose_the_section_is_absent(pelvis_case, pm):
    page = login(pm).get(reverse("contouring:case-results", args=[pelvis_case.pk]))
    assert "Impact dosimétrique" not in page.content.decode()
