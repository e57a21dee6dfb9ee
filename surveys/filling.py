"""What a filling page shows for each question: piped label, widget state, error, visibility."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from surveys import answers, rules
from surveys.models import MATRIX_TYPES, OTHER_CODE, Question, QuestionType
from surveys.selectors import Structure


@dataclass
class QuestionView:
    question: Question
    label: Any
    raw: dict
    error: str = ""
    hidden: bool = False
    editable: bool = True
    options: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    ranks: list = field(default_factory=list)
    rating: list = field(default_factory=list)
    token: str = ""
    conflict: Any = None

    @property
    def code(self) -> str:
        return self.question.code

    @property
    def name(self) -> str:
        return answers.field_name(self.question)

    @property
    def rule_json(self) -> str:
        return json.dumps(self.question.show_if) if self.question.show_if else ""

    @property
    def formula_json(self) -> str:
        return json.dumps(self.question.formula) if self.question.formula else ""

    @property
    def other_name(self) -> str:
        return answers.field_name(self.question, "other")

    @property
    def other_checked(self) -> bool:
        value = self.raw.get("value")
        return value == OTHER_CODE or OTHER_CODE in (self.raw.get("values") or [])


def _options(question: Question, selected: list[str], prefix: str) -> list[dict]:
    labels = answers.option_labels(question)
    exclusive = question.exclusive_codes()
    return [
        {
            "code": code,
            "label": labels[code],
            "checked": code in selected,
            "id": f"{prefix}-{code}",
            "exclusive": code in exclusive,
        }
        for code in answers.option_codes(question)
    ]


def question_view(
    question: Question,
    raw: dict,
    displays: dict[str, str],
    *,
    error: str = "",
    hidden: bool = False,
    editable: bool = True,
    preview: bool = False,
) -> QuestionView:
    # Inside its choice's fieldset, a block's question reads as written (no choice suffix).
    written = question.template or question
    view = QuestionView(
        question=question,
        label=answers.pipe(written.display_label, displays, preview=preview),
        raw=raw,
        error=error,
        hidden=hidden,
        editable=editable,
    )
    base = f"id-{view.name}"
    qtype = question.type
    if qtype in (QuestionType.SINGLE, QuestionType.LIKERT, QuestionType.YES_NO):
        view.options = _options(question, [raw.get("value", "")], base)
    elif qtype == QuestionType.MULTIPLE:
        view.options = _options(question, raw.get("values") or [], base)
    elif qtype in MATRIX_TYPES:
        cells = raw.get("cells") or {}
        for row in question.rows():
            chosen = cells.get(row.code) or []
            chosen = chosen if isinstance(chosen, list) else [chosen]
            view.rows.append(
                {
                    "code": row.code,
                    "label": row.display_label,
                    "name": answers.field_name(question, row.code),
                    "cells": _options(question, chosen, f"{base}-{row.code}"),
                }
            )
        view.options = _options(question, [], base)
    elif qtype == QuestionType.RANKING:
        ranked = raw.get("ranks") or []
        count = question.max_choices or len(question.options())
        for rank in range(1, count + 1):
            current = ranked[rank - 1] if rank - 1 < len(ranked) else ""
            view.ranks.append(
                {
                    "rank": rank,
                    "name": answers.field_name(question, str(rank)),
                    "id": f"{base}-{rank}",
                    "options": _options(question, [current], base),
                }
            )
    elif qtype == QuestionType.RATING:
        low, high = int(question.min_value or 0), int(question.max_value or 10)
        current = raw.get("value", "")
        view.rating = [
            {"value": str(v), "checked": current == str(v), "id": f"{base}-{v}"}
            for v in range(low, high + 1)
        ]
    return view


def page_views(
    structure: Structure,
    section_code: str,
    values: dict,
    others: dict,
    *,
    parsed: dict | None = None,
    editable: bool = True,
    tokens: dict | None = None,
    conflicts: dict | None = None,
    preview: bool = False,
) -> list[QuestionView]:
    """The questions of one page, from the stored answers or from what was just posted.

    ``tokens`` are the bases the page sends back (co-filling check); ``conflicts`` the
    answers a colleague saved meanwhile, shown next to what this person typed."""
    parsed = parsed or {}
    tokens = tokens or {}
    conflicts = conflicts or {}
    merged = dict(values)
    for code, result in parsed.items():
        if not result.error:
            merged[code] = result.value
    visible = rules.visible_codes(structure.rule_list, merged)
    displays = {
        code: answers.display(structure.by_code[code], value, others.get(code, ""))
        for code, value in merged.items()
        if code in visible and code in structure.by_code
    }
    section = structure.section(section_code)
    views = []
    for question in structure.page_questions(section, merged):
        result = parsed.get(question.code)
        if result is not None:
            raw, error = result.raw, result.error
        else:
            raw = answers.raw_from_value(
                question, values.get(question.code), others.get(question.code, "")
            )
            error = ""
        hidden = question.code not in visible
        view = question_view(
            question,
            raw,
            displays,
            error="" if hidden else error,
            hidden=hidden,
            editable=editable,
            preview=preview,
        )
        view.token = tokens.get(question.code, "")
        view.conflict = conflicts.get(question.code)
        views.append(view)
    return views


@dataclass
class BlockView:
    """One fieldset of a repeated section's page: a ticked choice and its questions."""

    choice: str
    title: str
    questions: list[QuestionView]


@dataclass
class PageBlocks:
    blocks: list[BlockView]
    # Choices unticked since their block was filled: answers kept, no longer counted.
    kept: list[str]
    source: Question | None = None


def page_blocks(structure: Structure, section, views: list[QuestionView], values: dict, others):
    """The fieldsets of a repeated section's page (``None`` for an ordinary section)."""
    if not section.blocks:
        return None
    source = section.repeat_source
    other_text = others.get(source.code, "")
    by_code = {view.code: view for view in views}
    ticked = structure.ticked_blocks(section, values)
    chosen = {block.choice for block in ticked}
    blocks = [
        BlockView(
            block.choice,
            f"{block.label} : {other_text}"
            if block.choice == OTHER_CODE and other_text
            else block.label,
            [by_code[q.code] for q in block.questions if q.code in by_code],
        )
        for block in ticked
    ]
    kept = [
        block.label
        for block in section.blocks
        if block.choice not in chosen and any(q.code in values for q in block.questions)
    ]
    return PageBlocks(blocks=blocks, kept=kept, source=source)


def browser_answers(structure: Structure, values: dict, section_code: str) -> dict:
    """Answers of the other pages, for the browser's show-if mirror."""
    own = {q.code for q in structure.section(section_code).question_list}
    return {code: answers.json_value(value) for code, value in values.items() if code not in own}


@dataclass
class SummaryItem:
    question: Question
    label: Any
    text: str


def summary(structure: Structure, values: dict, others: dict) -> list[tuple]:
    """``[(section, [SummaryItem])]`` of the visible questions, for review and detail pages."""
    visible = rules.visible_codes(structure.rule_list, values)
    displays = {
        code: answers.display(structure.by_code[code], value, others.get(code, ""))
        for code, value in values.items()
        if code in structure.by_code
    }
    result = []
    for section in structure.sections:
        items = [
            SummaryItem(q, answers.pipe(q.display_label, displays), displays.get(q.code, ""))
            for q in section.question_list
            if q.code in visible
        ]
        result.append((section, items))
    return result
