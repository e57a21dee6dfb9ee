"""Rich text written by the project manager, sanitised at the moment it is shown."""

from __future__ import annotations

import base64

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from surveys import richtext
from surveys.answers import describe_rule
from surveys.interop.expressions import formula_text

register = template.Library()


@register.filter(name="rich_text")
def rich_text(text: str) -> SafeString:
    """Markdown, then nh3 keeps only a few tags (surveys.richtext); raw HTML is removed."""
    return SafeString(richtext.render(text))


@register.filter(name="svg_img")
def svg_img(chart) -> str:
    """A chart as a ``data:`` image for the PDF: WeasyPrint draws an SVG image far faster
    than inline SVG, whose every element would go through the CSS cascade."""
    if not chart:
        return ""
    encoded = base64.b64encode(str(chart).encode("utf-8")).decode("ascii")
    return format_html(
        '<img class="chart" src="data:image/svg+xml;base64,{}" alt="{}">',
        encoded,
        getattr(chart, "title", ""),
    )


@register.filter(name="rule_text")
def rule_text(rule) -> str:
    return describe_rule(rule)


@register.filter(name="formula_text")
def formula_as_text(formula) -> str:
    return formula_text(formula) if formula else ""
