"""Text written by the project manager (report introduction and conclusions): Markdown.

The source is stored as typed; it becomes HTML only when shown, through :func:`render`:
Markdown, then nh3 keeps a short list of tags (no attribute but a link's address, and only
http, https or mailto addresses). Raw HTML typed in the text is removed, never passed on:
``<script>`` with its content, ``<img onerror=…>``, ``javascript:`` links, styles.
"""

from __future__ import annotations

import markdown
import nh3

RICH_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "ul",
    "ol",
    "li",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "code",
    "a",
}
LINK_SCHEMES = {"http", "https", "mailto"}
# "# Titre" in the text sits under the page's own headings (h1/h2 of the report).
_MARKDOWN = {"extensions": ["toc", "sane_lists"], "extension_configs": {"toc": {"baselevel": 3}}}


def render(text: str) -> str:
    """Markdown to sanitised HTML (an empty text gives an empty string)."""
    if not (text or "").strip():
        return ""
    html = markdown.markdown(text, **_MARKDOWN)
    return nh3.clean(
        html,
        tags=RICH_TAGS,
        attributes={"a": {"href"}},
        url_schemes=LINK_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    ).strip()
