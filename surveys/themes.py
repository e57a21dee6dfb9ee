"""Free-text answers of the report: anonymised, grouped under the project team's themes.

The project manager writes one theme a line, ``Heading: keyword, keyword``; an answer goes
under the first theme one of whose keywords it contains (case and accents ignored), the
rest under "Other remarks".
"""

from __future__ import annotations

import re
import unicodedata

from django.utils.translation import gettext as _

from onco_hdf.models import Centre

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
PHONE = re.compile(r"(?:\+33\s?|0)[1-9](?:[\s.-]?\d{2}){4}")
PERSON = re.compile(
    r"\b(?:Dr|Pr|Docteur|Professeur|M\.|Mme)\s+[A-ZÀ-Ý][\w'-]+(?:\s+[A-ZÀ-Ý][\w'-]+)?"
)
MASK = "[…]"


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def parse_themes(text: str) -> list[list]:
    """``"Heading: a, b"`` lines → ``[["Heading", ["a", "b"]], ...]``; bad lines raise."""
    themes = []
    for number, line in enumerate((text or "").splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        title, sep, words = line.partition(":")
        keywords = [w.strip() for w in words.split(",") if w.strip()]
        if not sep or not title.strip() or not keywords:
            raise ValueError(
                _("Line %(n)d of the themes: write “Heading: keyword, keyword”.") % {"n": number}
            )
        themes.append([title.strip()[:120], [k[:60] for k in keywords]])
    return themes


def themes_text(themes: list) -> str:
    return "\n".join(f"{title}: {', '.join(words)}" for title, words in themes or [])


def _identifying_names() -> list[str]:
    names = set()
    for name, short, city in Centre.objects.values_list("name", "short_name", "city"):
        names.update(n for n in (name, short, city) if n and len(n) >= 3)
    return sorted(names, key=len, reverse=True)  # "CHU Lille" before "Lille"


def anonymise(text: str, names: list[str]) -> str:
    """The answer without e-mail addresses, telephone numbers, people or centres' names."""
    text = EMAIL.sub(MASK, text)
    text = PHONE.sub(MASK, text)
    text = PERSON.sub(MASK, text)
    for name in names:
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", MASK, text, flags=re.IGNORECASE)
    return text


def group_texts(campaign, code: str, texts: list[str]) -> list[tuple[str, list[str]]]:
    """``[(theme, [anonymised quotes])]`` in the themes' order, empty themes left out."""
    names = _identifying_names()
    themes = [(title, [_fold(k) for k in words]) for title, words in campaign.text_themes or []]
    groups: dict[str, list[str]] = {title: [] for title, _w in themes}
    other = _("Other remarks") if themes else _("Answers")
    groups.setdefault(other, [])
    for text in sorted(texts, key=str.lower):
        quote = anonymise(text, names)
        folded = _fold(text)
        theme = next((t for t, words in themes if any(w in folded for w in words)), other)
        groups[theme].append(quote)
    return [(title, quotes) for title, quotes in groups.items() if quotes]
