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
