"""Checks of a question shared by the JSON import and the builder: choices, their
English labels, lengths, numbers, shape, exclusive options, piping, pattern, show-if
rule, formula and the source of a repeated block."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _

from surveys import rules
from surveys.models import (
    CHOICE_CODE_RE,
    CHOICE_TYPES,
    MATRIX_TYPES,
    NA_CODE,
    OTHER_CODE,
    PIPE_RE,
    Question,
    QuestionnaireVersion,
    QuestionType,
    Section,
)
from surveys.services.common import _fail


def _clean_pairs(pairs: Any, where: str) -> list[tuple[str, str]]:

    if not isinstance(pairs, list):
        _fail(_("%(where)s: the choices must be a list.") % {"where": where})
    result, seen = [], set()
    for pair in pairs:
        if not (isinstance(pair, list | tuple) and len(pair) == 2):
            _fail(_("%(where)s: each choice is a pair [code, label].") % {"where": where})
        code, label = str(pair[0]).strip(), str(pair[1]).strip()
        if not re.fullmatch(CHOICE_CODE_RE, code) or code == OTHER_CODE:
            _fail(
                _("%(where)s: the choice code “%(code)s” is not valid.")
                % {"where": where, "code": code[:40]}
            )
        if code in seen:
            _fail(
                _("%(where)s: the choice code “%(code)s” is used twice.")
                % {"where": where, "code": code}
            )
        if not label or len(label) > 300:
            _fail(
                _("%(where)s: each choice needs a label (300 characters at most).")
                % {"where": where}
            )
        seen.add(code)
        result.append((code, label))
    return result


def _english_labels(mapping: Any, pairs: list[tuple[str, str]], where: str) -> dict[str, str]:
    """``{code: English label}`` of choices (``options_en``, ``rows_en``), checked."""
    if mapping in (None, ""):
        return {}
    if not isinstance(mapping, dict):
        _fail(
            _("%(where)s: the English labels of the choices must be an object {code: label}.")
            % {"where": where}
        )
    codes = {code for code, _label in pairs}
    result = {}
    for code, label in mapping.items():
        label = str(label or "").strip()
        if code not in codes:
            _fail(
                _("%(where)s: an English label is given for “%(code)s”, not a choice code.")
                % {"where": where, "code": str(code)[:40]}
            )
        if len(label) > 300:
            _fail(
                _("%(where)s: an English choice label has 300 characters at most.")
                % {"where": where}
            )
        if label:
            result[code] = label
    return result


def _text_length(value: Any, limit: int, label: str, where: str) -> None:
    if len(str(value or "")) > limit:
        _fail(
            _("%(where)s: the %(label)s has %(n)d characters at most.")
            % {"where": where, "label": label, "n": limit}
        )


def _number_or_none(value: Any, where: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        _fail(_("%(where)s: “%(value)s” is not a number.") % {"where": where, "value": value})
    return None


def _check_question_shape(
    qtype: str, options: list, rows: list, where: str, not_applicable: str = ""
) -> None:
    if qtype in CHOICE_TYPES and not options:
        _fail(_("%(where)s: this type of question needs options.") % {"where": where}, "options")
    if qtype in MATRIX_TYPES and not rows:
        _fail(_("%(where)s: a matrix needs rows.") % {"where": where}, "rows")
    if qtype in MATRIX_TYPES and not_applicable and NA_CODE in {c for c, _label in options}:
        _fail(
            _("%(where)s: the column code “%(code)s” is reserved for the “not applicable” column.")
            % {"where": where, "code": NA_CODE},
            "options",
        )


def _check_exclusive(qtype: str, exclusive: Any, options: list, where: str) -> None:
    """Exclusive options ("none of these") are options of a multiple-choice question."""
    if not exclusive:
        return
    if qtype != QuestionType.MULTIPLE:
        _fail(
            _("%(where)s: only a multiple-choice question has exclusive options.")
            % {"where": where},
            "exclusive_options",
        )
    codes = {c for c, _label in options}
    if not isinstance(exclusive, list) or any(str(c) not in codes for c in exclusive):
        _fail(
            _("%(where)s: an exclusive option must be one of the question's options.")
            % {"where": where},
            "exclusive_options",
        )


def _check_piping(labels: list[str], earlier: list[str], where: str) -> None:
    """``{{CODE}}`` may only insert the answer to an earlier question."""
    for label in labels:
        for match in PIPE_RE.finditer(label or ""):
            if match.group(1) not in earlier:
                _fail(
                    _("%(where)s: the label inserts “%(code)s”, which is not an earlier question.")
                    % {"where": where, "code": match.group(1)}
                )


def _check_pattern(pattern: str, where: str) -> None:

    if not pattern:
        return
    try:
        re.compile(pattern)
    except re.error:
        _fail(
            _("%(where)s: the pattern is not a valid regular expression.") % {"where": where},
            "pattern",
        )


def _check_rule(
    rule: Any, earlier: list[str], where: str, choices: dict[str, list[str]] | None = None
) -> None:
    problems = rules.check(rule, earlier, choices)
    if not problems:
        return
    kind, detail = problems[0]
    if kind == "value":
        message = _("%(where)s: the show-if condition on “%(code)s” needs a value.") % {
            "where": where,
            "code": detail,
        }
    elif kind == "choice":
        code, value = detail.split(" ", 1)
        message = _(
            "%(where)s: the show-if rule uses “%(value)s”, which is not a choice code of "
            "“%(code)s”."
        ) % {"where": where, "code": code, "value": value}
    elif kind == "unknown":
        message = _(
            "%(where)s: the show-if rule refers to “%(code)s”, which is not an earlier question."
        ) % {"where": where, "code": detail}
    elif kind == "operator":
        message = _("%(where)s: unknown operator “%(op)s” in the show-if rule.") % {
            "where": where,
            "op": detail,
        }
    else:
        message = _("%(where)s: the show-if rule is malformed (%(detail)s).") % {
            "where": where,
            "detail": detail,
        }
    _fail(message)


def _check_formula(qtype: str, formula: Any, earlier: list[str], where: str) -> None:
    """A calculated field has a formula that reads earlier questions only."""
    if qtype != QuestionType.CALCULATED:
        return
    if not isinstance(formula, dict) or not formula:
        _fail(_("%(where)s: a calculated field needs a formula.") % {"where": where}, "formula")
    later = sorted(rules.formula_codes(formula) - set(earlier))
    if later:
        _fail(
            _("%(where)s: the formula uses “%(code)s”, which is not an earlier question.")
            % {"where": where, "code": later[0]},
            "formula",
        )


def _repeat_source(
    version: QuestionnaireVersion,
    code: Any,
    section_code: str,
    section: Section | None = None,
    earlier: dict[str, Question] | None = None,
) -> Question | None:
    """The question a section repeats for: a multiple-choice question of an earlier section
    (``earlier``: the questions of the earlier sections of an import, not saved yet)."""
    if not code:
        return None
    if earlier is not None:
        source = earlier.get(str(code))
    else:
        candidates = Question.objects.filter(
            version=version, code=code, deleted_at__isnull=True, section__deleted_at__isnull=True
        )
        if section is not None:
            candidates = candidates.filter(section__order__lt=section.order)
        source = candidates.select_related("section").first()
    where = _("Section %(code)s") % {"code": section_code}
    if source is None:
        _fail(
            _(
                "%(where)s: “%(q)s” is not a question of an earlier section; a block is "
                "repeated for a question asked before it."
            )
            % {"where": where, "q": str(code)[:40]},
            "repeat_for",
        )
    if source.type != QuestionType.MULTIPLE:
        _fail(
            _(
                "%(where)s: “%(q)s” is not a multiple-choice question; a block is repeated "
                "for each choice ticked in a multiple-choice question."
            )
            % {"where": where, "q": source.code},
            "repeat_for",
        )
    return source
