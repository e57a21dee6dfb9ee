"""Questionnaires in and out of REDCap (data dictionary CSV) and LimeSurvey (``.lss``).

An importer turns a file into the platform's questionnaire dict (the JSON format of
``surveys.services.questionnaires.version_to_dict``) plus the list of what it could not
carry over and why; nothing is written until the project manager confirms the preview, and
the dict then goes through the same validation and service as a JSON import.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from surveys.models import CHOICE_CODE_RE, CODE_RE


@dataclass(frozen=True)
class Note:
    """Something not carried over (or changed) for ``item`` (a field, question or group);
    ``aspect`` names what (``type``, ``branching``, ``validation``…) so that a round trip
    knows which columns the preview declared."""

    item: str
    aspect: str
    message: str


@dataclass
class Conversion:
    """What an importer produced: the questionnaire dict and its notes."""

    source_format: str  # "redcap", "limesurvey", "json"
    data: dict
    notes: list[Note] = field(default_factory=list)

    @property
    def source_label(self) -> str:
        return {"redcap": "REDCap", "limesurvey": "LimeSurvey"}.get(self.source_format, "JSON")

    def note(self, item: str, aspect: str, message: str) -> None:
        self.notes.append(Note(item, aspect, message))

    def declared(self, item: str, aspect: str) -> bool:
        return any(n.item == item and n.aspect in (aspect, "all") for n in self.notes)

    @property
    def question_count(self) -> int:
        return sum(len(s["questions"]) for s in self.data.get("sections", []))


class ImportFormatError(ValueError):
    """The file cannot be read as the format it claims to be."""


def safe_code(raw: str, taken: set[str], *, pattern: str = CODE_RE, prefix: str = "Q") -> str:
    """A code the platform accepts, close to ``raw``, unique in ``taken`` (which it joins)."""
    text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9_]", "_", text).strip("_") or prefix
    if pattern == CODE_RE and not text[0].isalpha():
        text = f"{prefix}{text}"
    text = text[:40]
    candidate, n = text, 2
    while candidate in taken or not re.fullmatch(pattern, candidate):
        suffix = f"_{n}"
        candidate, n = f"{text[: 40 - len(suffix)]}{suffix}", n + 1
    taken.add(candidate)
    return candidate


def safe_choice_code(raw: str, taken: set[str]) -> str:
    return safe_code(raw, taken, pattern=CHOICE_CODE_RE, prefix="c")


def convert_upload(name: str, content: bytes) -> Conversion:
    """Pick the importer from the file's name and content."""
    from surveys.interop import limesurvey, redcap

    lowered = name.lower()
    head = content[:400].lstrip(b"\xef\xbb\xbf").lstrip()
    if lowered.endswith(".lss") or head.startswith(b"<?xml") or b"<document>" in head:
        return limesurvey.lss_to_questionnaire(content)
    if lowered.endswith(".csv") or head.startswith(b'"Variable / Field Name"'):
        return redcap.dictionary_to_questionnaire(content)
    raise ImportFormatError(
        _(
            "Unknown format: import a questionnaire of the platform (.json), a REDCap data "
            "dictionary (.csv) or a LimeSurvey survey (.lss)."
        )
    )
