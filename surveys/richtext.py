"""Rich text written by the project manager (report introduction and conclusions)."""

from __future__ import annotations

import nh3

RICH_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li"}


def sanitise(text: str) -> str:
    """Keep paragraphs, emphasis and lists; remove every other tag and every attribute."""
    return nh3.clean(text or "", tags=RICH_TAGS, attributes={})
