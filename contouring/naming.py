"""Structure names: normalisation, French/English synonyms and TG-263 names.

Vendors name the same organ differently ("Parotid_L", "Parotide G", "L Parotid"). A name
is reduced to a canonical key (TG-263 base name + laterality) through the synonyms table
in ``contouring/data/structure_synonyms.json``; the mapping suggestions match the case's
structures with a submission's ROIs by exact name, then normalised name, then key.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SYNONYMS_FILE = Path(__file__).resolve().parent / "data" / "structure_synonyms.json"

LEFT_TOKENS = frozenset({"l", "g", "lt", "left", "gauche", "gche", "sin", "sinistra"})
RIGHT_TOKENS = frozenset({"r", "d", "rt", "right", "droite", "droit", "dte", "dx", "dextra"})


def normalise(name: str) -> str:
    """Lower case, no accents, camelCase split, separators turned into single spaces."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name.strip())
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(text.split())


def split_laterality(normalised: str) -> tuple[str, str]:
    """(name without laterality words, "L", "R" or "")."""
    tokens = normalised.split()
    side = ""
    kept = []
    for token in tokens:
        if len(tokens) > 1 and token in LEFT_TOKENS and not side:
            side = "L"
        elif len(tokens) > 1 and token in RIGHT_TOKENS and not side:
            side = "R"
        else:
            kept.append(token)
    return " ".join(kept), side


@cache
def _synonym_index() -> dict[str, str]:
    data = json.loads(SYNONYMS_FILE.read_text(encoding="utf-8"))
    index: dict[str, str] = {}
    for standard, synonyms in data["names"].items():
        index[normalise(standard)] = standard
        for synonym in synonyms:
            index.setdefault(normalise(synonym), standard)
    return index


def standard_name(name: str) -> str | None:
    """The TG-263 name of ``name`` ("Parotide G" → "Parotid_L"), None when unknown."""
    base, side = split_laterality(normalise(name))
    index = _synonym_index()
    standard = index.get(base)
    if standard is None and base.endswith("s"):
        standard = index.get(base[:-1])
    if standard is None:
        return None
    return f"{standard}_{side}" if side else standard


def _normalised_key(name: str) -> str:
    base, side = split_laterality(normalise(name))
    return f"{base}|{side}"


@dataclass(frozen=True)
class Suggestion:
    structure: str
    roi: str | None
    method: str  # "exact", "normalised", "synonym" or "none" (see MappingMethod)


def suggest_mapping(structures: list[str], rois: list[str]) -> list[Suggestion]:
    """For each case structure, the submitted ROI that most likely stands for it.

    Each ROI serves at most one structure; passes go from the strictest rule to the loosest
    so an exact match is never taken away by a synonym.
    """
    chosen: dict[str, tuple[str, str]] = {}
    free = list(rois)
    passes = (
        ("exact", lambda name: name.strip()),
        ("normalised", _normalised_key),
        ("synonym", standard_name),
    )
    for method, key_of in passes:
        for structure in structures:
            if structure in chosen:
                continue
            key = key_of(structure)
            if key is None:
                continue
            match = next((roi for roi in free if key_of(roi) == key), None)
            if match is not None:
                chosen[structure] = (match, method)
                free.remove(match)
    return [
        Suggestion(structure, *chosen.get(structure, (None, "none"))) for structure in structures
    ]
