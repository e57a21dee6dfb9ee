"""SVG charts: values drawn, text escaped, statistics exact."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.utils import translation

from onco_hdf import charts

SVG_NS = "{http://www.w3.org/2000/svg}"


def parse(svg: charts.Svg) -> ET.Element:
    return ET.fromstring(svg.markup)  # noqa: S314  (our own markup)


def test_bar_chart_draws_one_bar_per_value_and_escapes_labels():
    with translation.override("fr"):
        svg = charts.bar_chart(
            ["Public", "<script>alert(1)</script>", "Inconnu"],
            [3, 1.5, None],
            title="Centres & secteurs",
        )
    root = parse(svg)  # well-formed XML: the hostile label was escaped
    assert "<script>" not in svg.markup
    assert "&lt;script&gt;" in svg.markup
    assert root.find(f"{SVG_NS}title").text == "Centres & secteurs"
    bars = [r for r in root.iter(f"{SVG_NS}rect")]
    assert len(bars) == 2  # None draws no bar
    assert "1,5" in svg.markup  # French decimal comma
    widths = [float(b.get("width")) for b in bars]
    assert widths[0] == pytest.approx(2 * widths[1])


def test_stacked_bar_percentages_add_up():
    svg = charts.stacked_bar_chart(
        ["Q1"], [("Oui", [3]), ("Non", [1])], title="Réponses", percent=True
    )
    texts = [t.text for t in parse(svg).iter(f"{SVG_NS}text")]
    assert "75%" in texts and "25%" in texts


def test_diverging_likert_is_centred():
    svg = charts.stacked_bar_chart(
        ["Item"],
        [(name, [1]) for name in ("--", "-", "0", "+", "++")],
        title="Likert",
        diverging=True,
    )
    root = parse(svg)
    rects = [r for r in root.iter(f"{SVG_NS}rect") if r.find(f"{SVG_NS}title") is not None]
    middle = rects[2]
    centre = float(middle.get("x")) + float(middle.get("width")) / 2
    axis = [ln for ln in root.iter(f"{SVG_NS}line")][-1]
    assert centre == pytest.approx(float(axis.get("x1")), abs=0.2)


def test_box_stats_match_numpy_quartiles():
    stats = charts.box_stats([1, 2, 3, 4, 5, 6, 7, 8, 100])
    assert stats.median == 5
    assert stats.q1 == 3 and stats.q3 == 7
    assert stats.outliers == (100.0,)
    assert stats.whisker_high == 8
    assert charts.box_stats([]) is None


def test_heatmap_colours_follow_values_and_blank_cells():
    svg = charts.heatmap(
        ["A", "B"], ["x", "y"], [[0.0, 1.0], [0.5, None]], title="Dice", vmin=0, vmax=1
    )
    cells = [t.text for t in parse(svg).iter(f"{SVG_NS}text")]
    assert cells.count("—") == 1
    assert charts.heat_color(0, 0, 1) == "#ffffcc"
    assert charts.heat_color(1, 0, 1) == "#253494"
    assert charts.heat_color(1, 0, 1, reverse=True) == "#ffffcc"
