"""``{{ value|num:3 }}``: the shared number formatter (:mod:`onco_hdf.numbers`) in templates."""

from __future__ import annotations

from django import template

from onco_hdf.numbers import format_number

register = template.Library()


@register.filter
def num(value, decimals=1):
    if value in (None, ""):
        return format_number(None)
    try:
        return format_number(float(value), int(decimals))
    except (TypeError, ValueError):
        return format_number(None)


@register.filter
def signed(value, decimals=1):
    """``num`` with an explicit sign for a difference: "+1,20", "−0,35" (minus sign), "0,00"."""
    text = num(value, decimals)
    if text == format_number(None):
        return text
    if text.startswith("-"):
        return "\u2212" + text[1:]
    return text if not text.strip("0,.") else "+" + text
