"""``|hash_groups``: a SHA-256 in groups of four characters, for reading it aloud."""

from django import template

from onco_hdf.signatures import short_hash

register = template.Library()


@register.filter
def hash_groups(value: str) -> str:
    return short_hash(value or "")
