"""Rich text written by the project manager, sanitised at the moment it is shown."""

from __future__ import annotations

import nh3
from django import template
from django.utils.safestring import SafeString

register = template.Library()

RICH_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li"}


def sanitise(text: str) -> str:
    return nh3.clean(text or "", tags=RICH_TAGS, attributes={})


@register.filter(name="rich_text")
def rich_text(text: str) -> SafeString:
    """nh3 keeps only paragraphs, emphasis and lists; everything else is removed."""
    return SafeString(sanitise(text))
