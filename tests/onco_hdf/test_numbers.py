"""One number formatter: rounded (never truncated), French comma, the same in every output."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.template import Context, Template
from django.utils import translation

from onco_hdf import charts
from onco_hdf.numbers import decimals_needed, format_number

SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (0.946, 2, "0,95"),
        (0.946, 3, "0,946"),
        (22.10, 1, "22,1"),
        (22.099999999, 1, "22,1"),
        (2.5, 0, "3"),
        (0.125, 2, "0,13"),
        (-0.0001, 2, "0,00"),
        (1234.5, 1, "1234,5"),
        (None, 2, "—"),
        (float("nan"), 2, "—"),
    ],
)
def test_format_number_rounds_and_uses_the_french_comma(value, decimals, expected):
    with translation.override("fr"):
        assert format_number(value, decimals) == expected


def test_format_number_in_english_and_with_a_unit():
    with translation.override("en"):
        assert format_number(0.946, 2) == "0.95"
    with translation.override("fr"):
        assert format_number(18.75, 2, "mm") == "18,75\u00a0mm"


def test_template_filter_is_the_same_formatter():
    with translation.override("fr"):
        html = Template("{% load numbers %}{{ a|num:2 }} {{ b|num:1 }} {{ c|num:3 }}").render(
            Context({"a": 0.946, "b": 22.099999, "c": None})
        )
    assert html == "0,95 22,1 —"


def test_decimals_needed_for_ticks():
    assert decimals_needed(18.75) == 2
    assert decimals_needed(25.0) == 0
    assert decimals_needed(0.625) == 3


def _texts(svg) -> list[str]:
    root = ET.fromstring(svg.markup)  # noqa: S314  (our own markup)
    return ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]


def test_charts_round_like_tables():
    with translation.override("fr"):
        heat = charts.heatmap(["Body"], ["A"], [[0.946]], title="DSC", decimals=2)
        assert "0,95" in _texts(heat)
        assert charts.fmt(22.099999, 1) == "22,1"
        box = charts.box_plot([("A", [10.0, 75.0])], title="HD95", unit="mm", max_value=75)
    ticks = _texts(box)
    assert "18,75\u00a0mm" in ticks and "37,50\u00a0mm" in ticks and "0\u00a0mm" in ticks
    assert not any(t.startswith("18,7\u00a0") for t in ticks)


def test_counts_keep_no_decimals_in_charts():
    with translation.override("fr"):
        assert charts.fmt(3) == "3"
        assert charts.fmt(1.5) == "1,5"
