"""Answer values: read them from a posted page, check them, store them in typed rows.

A value has one Python shape per question type: a choice code (single, Likert, yes/no),
a list of codes (multiple, ranking in rank order), a float (number, integer, rating,
calculated), a ``date`` (date), ``"YYYY-MM"`` (month), a string (texts), ``{row: code}``
(matrix) or ``{row: [codes]}`` (multi-select matrix). An empty answer is ``None``.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils import formats
from django.utils.html import format_html_join
from django.utils.translation import gettext as _

from surveys import rules
from surveys.models import (
    MATRIX_TYPES,
    NA_CODE,
    NUMERIC_TYPES,
    OTHER_CODE,
    PIPE_RE,
    Answer,
    Question,
    QuestionType,
    pipe_placeholder,
)

YES_NO_CODES = ("yes", "no")
OTHER_MAX = 500
MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")
MONTH_FR_RE = re.compile(r"^(\d{1,2})/(\d{4})$")


def field_name(question: Question, *parts: str) -> str:
    return "-".join(("q", question.code, *parts))


@dataclass
class Parsed:
    """What the page posted for one question: the clean value or an error, and the raw text."""

    value: Any = None
    other: str = ""
    error: str = ""
    raw: dict = field(default_factory=dict)


def option_codes(question: Question) -> list[str]:
    if question.type == QuestionType.YES_NO:
        return list(YES_NO_CODES)
    codes = [c.code for c in question.options()]
    if question.allow_other and question.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        codes.append(OTHER_CODE)
    if question.type in MATRIX_TYPES and question.not_applicable_label:
        codes.append(NA_CODE)
    return codes


def option_labels(question: Question) -> dict[str, str]:
    if question.type == QuestionType.YES_NO:
        return {"yes": _("Yes"), "no": _("No")}
    labels = {c.code: c.display_label for c in question.options()}
    if question.allow_other:
        labels[OTHER_CODE] = _("Other")
    if question.type in MATRIX_TYPES and question.not_applicable_label:
        labels[NA_CODE] = question.display_not_applicable_label
    return labels


def row_labels(question: Question) -> dict[str, str]:
    return {c.code: c.display_label for c in question.rows()}


def _parse_number(text: str) -> float | None:
    cleaned = text.strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    cleaned = cleaned.replace(",", ".")
    try:
        number = float(cleaned)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _fmt(number: float) -> str:
    return formats.number_format(number, 0 if float(number).is_integer() else 2)


def check_number(question: Question, number: float) -> str:
    if question.type in (QuestionType.INTEGER, QuestionType.RATING) and not number.is_integer():
        return _("Enter a whole number.")
    low, high = question.min_value, question.max_value
    if low is not None and high is not None and not low <= number <= high:
        return _("Enter a number between %(min)s and %(max)s.") % {
            "min": _fmt(low),
            "max": _fmt(high),
        }
    if low is not None and number < low:
        return _("Enter a number greater than or equal to %(min)s.") % {"min": _fmt(low)}
    if high is not None and number > high:
        return _("Enter a number less than or equal to %(max)s.") % {"max": _fmt(high)}
    return ""


def check_text(question: Question, text: str) -> str:
    limit = question.text_limit
    if limit and len(text) > limit:
        return _("This text is too long: %(length)d characters for %(limit)d at most.") % {
            "length": len(text),
            "limit": limit,
        }
    if question.pattern and text and not re.fullmatch(question.pattern, text):
        return _("This answer does not have the expected format.")
    return ""


def _parse_month(text: str) -> str | None:
    match = MONTH_RE.match(text) or MONTH_FR_RE.match(text)
    if not match:
        return None
    year, month = (match.group(1), match.group(2))
    if MONTH_FR_RE.match(text):
        month, year = match.group(1), match.group(2)
    if not 1 <= int(month) <= 12 or not 1900 <= int(year) <= 2100:
        return None
    return f"{int(year):04d}-{int(month):02d}"


def _parse_date(text: str) -> datetime.date | None:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def parse(question: Question, data) -> Parsed:
    """Read ``question``'s answer from posted ``data`` (a QueryDict); never raises."""
    name = field_name(question)
    qtype = question.type
    codes = option_codes(question)
    invalid_choice = _("This choice does not exist; choose among the options shown.")
    if qtype in (QuestionType.SINGLE, QuestionType.LIKERT, QuestionType.YES_NO):
        code = data.get(name, "").strip()
        other = data.get(field_name(question, "other"), "").strip()
        if other and not code and OTHER_CODE in codes:
            code = OTHER_CODE  # a detail typed in "Please specify" means "Other"
        result = Parsed(raw={"value": code, "other": other})
        if code and code not in codes:
            result.error = invalid_choice
        elif other and code != OTHER_CODE and OTHER_CODE in codes:
            result.error = _(
                "You typed a detail in “Please specify” but chose another answer: tick "
                "“Other” or clear the detail."
            )
        elif code:
            result.value = code
            result.other = other if code == OTHER_CODE else ""
            result.error = _other_error(result)
        return result
    if qtype == QuestionType.MULTIPLE:
        chosen = [c.strip() for c in data.getlist(name) if c.strip()]
        other = data.get(field_name(question, "other"), "").strip()
        if other and OTHER_CODE in codes and OTHER_CODE not in chosen:
            chosen.append(OTHER_CODE)  # a detail typed in "Please specify" ticks "Other"
        result = Parsed(raw={"values": chosen, "other": other})
        if any(c not in codes for c in chosen):
            result.error = invalid_choice
        elif chosen:
            result.value = [c for c in codes if c in chosen]
            result.other = other if OTHER_CODE in chosen else ""
            alone = [c for c in question.exclusive_codes() if c in result.value]
            if alone and len(result.value) > 1:
                result.error = _(
                    "“%(option)s” excludes the other choices: untick it or untick the others."
                ) % {"option": option_labels(question)[alone[0]]}
            elif question.max_choices and len(result.value) > question.max_choices:
                result.error = _("Choose at most %(n)d options.") % {"n": question.max_choices}
            else:
                result.error = _other_error(result)
        return result
    if qtype == QuestionType.CALCULATED:
        return Parsed()  # read-only: computed by the server from the other answers
    if qtype in NUMERIC_TYPES:
        text = data.get(name, "").strip()
        result = Parsed(raw={"value": text})
        if text:
            number = _parse_number(text)
            if number is None:
                result.error = _("Enter a number.")
            else:
                result.error = check_number(question, number)
                result.value = None if result.error else number
        return result
    if qtype == QuestionType.DATE:
        text = data.get(name, "").strip()
        result = Parsed(raw={"value": text})
        if text:
            result.value = _parse_date(text)
            if result.value is None:
                result.error = _("Enter a valid date (dd/mm/yyyy).")
        return result
    if qtype == QuestionType.MONTH:
        text = data.get(name, "").strip()
        result = Parsed(raw={"value": text})
        if text:
            result.value = _parse_month(text)
            if result.value is None:
                result.error = _("Enter a valid month (mm/yyyy).")
        return result
    if qtype in (QuestionType.TEXT, QuestionType.LONG_TEXT):
        text = data.get(name, "").replace("\r\n", "\n").strip()
        result = Parsed(raw={"value": text})
        if text:
            result.error = check_text(question, text)
            result.value = None if result.error else text
        return result
    if qtype in MATRIX_TYPES:
        rows = [r.code for r in question.rows()]
        multi = qtype == QuestionType.MATRIX_MULTI
        cells = {}
        for row in rows:
            key = field_name(question, row)
            cells[row] = [c for c in data.getlist(key) if c] if multi else data.get(key, "")
        result = Parsed(raw={"cells": cells})
        bad_row = any(k.startswith(f"{name}-") and k[len(name) + 1 :] not in rows for k in data)
        flat = [c for v in cells.values() for c in (v if multi else [v]) if c]
        if bad_row or any(c not in codes for c in flat):
            result.error = invalid_choice
        elif multi and any(NA_CODE in v and len(v) > 1 for v in cells.values()):
            result.error = _("“%(na)s” does not combine with another choice on the same row.") % {
                "na": question.not_applicable_label
            }
        else:
            value = {
                r: ([c for c in codes if c in v] if multi else v) for r, v in cells.items() if v
            }
            result.value = value or None
        return result
    if qtype == QuestionType.RANKING:
        count = question.max_choices or len(codes)
        ranked = [data.get(field_name(question, str(i)), "").strip() for i in range(1, count + 1)]
        result = Parsed(raw={"ranks": ranked})
        chosen = [c for c in ranked if c]
        if any(c not in codes for c in chosen):
            result.error = invalid_choice
        elif len(set(chosen)) != len(chosen):
            result.error = _("Each item can be ranked only once.")
        elif chosen and ranked[: len(chosen)] != chosen:
            result.error = _("Fill the ranks in order, starting with rank 1.")
        else:
            result.value = chosen or None
        return result
    return Parsed(error=_("Unknown question type."))


def calculated(questions, values: dict, visible: set[str]) -> dict[str, float | None]:
    """The value of each visible calculated field, from the visible answers in ``values``;
    in questionnaire order, so a formula may use an earlier calculated field."""
    known = {code: value for code, value in values.items() if code in visible}
    result = {}
    for question in questions:
        if question.type == QuestionType.CALCULATED and question.code in visible:
            known[question.code] = result[question.code] = rules.compute(question.formula, known)
    return result


def _other_error(result: Parsed) -> str:
    selected = result.value if isinstance(result.value, list) else [result.value]
    if OTHER_CODE in selected and not result.other:
        return _("Please specify the “other” answer.")
    if len(result.other) > OTHER_MAX:
        return _("This text is too long: %(length)d characters for %(limit)d at most.") % {
            "length": len(result.other),
            "limit": OTHER_MAX,
        }
    return ""


def missing_message(question: Question, value: Any) -> str:
    """Why a required question is not complete, in words the respondent can act on."""
    if question.type in MATRIX_TYPES and value:
        blank = sum(1 for r in question.rows() if not value.get(r.code))
        message = _("Every row needs an answer: %(n)d row(s) left blank.") % {"n": blank}
        if question.not_applicable_label:
            message += " " + _("Tick “%(na)s” on the rows that do not apply to you.") % {
                "na": question.not_applicable_label
            }
        return message
    return _("This question is required.")


def is_complete(question: Question, value: Any) -> bool:
    """A required question is answered (a matrix needs every row, a ranking its N ranks).

    A matrix row answered "not applicable" counts as answered."""
    if value in (None, "", [], {}):
        return False
    if question.type in MATRIX_TYPES:
        return all(value.get(r.code) for r in question.rows())
    if question.type == QuestionType.RANKING:
        wanted = question.max_choices or len(question.options())
        return len(value) >= min(wanted, len(question.options()))
    return True


# --- Typed rows ----------------------------------------------------------------------
def row_fields(question: Question, value: Any, other: str = "") -> dict:
    """The Answer columns that store ``value``."""
    fields = {
        "value_text": "",
        "value_number": None,
        "value_date": None,
        "value_json": None,
        "other_text": other or "",
    }
    qtype = question.type
    if qtype in NUMERIC_TYPES:
        fields["value_number"] = float(value)
    elif qtype == QuestionType.DATE:
        fields["value_date"] = value
    elif qtype == QuestionType.MONTH:
        fields["value_text"] = value
        fields["value_date"] = datetime.date(int(value[:4]), int(value[5:7]), 1)
    elif qtype in (QuestionType.MULTIPLE, QuestionType.RANKING) or qtype in MATRIX_TYPES:
        fields["value_json"] = value
    else:
        fields["value_text"] = value
    return fields


def row_value(question: Question, answer: Answer) -> Any:
    qtype = question.type
    if qtype in NUMERIC_TYPES:
        return answer.value_number
    if qtype == QuestionType.DATE:
        return answer.value_date
    if qtype in (QuestionType.MULTIPLE, QuestionType.RANKING) or qtype in MATRIX_TYPES:
        return answer.value_json
    return answer.value_text or None


def json_value(value: Any) -> Any:
    """``value`` as JSON (dates as ISO strings) for snapshots and the browser mirror."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def digest(value: Any, other: str = "") -> str:
    """A short fingerprint of an answer, to tell whether a page changed it."""
    text = json.dumps([json_value(value), other or ""], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def token(question: Question, answer: Answer | None) -> str:
    """``"<version>.<digest>"`` of the stored answer (``0`` when there is none): the base a
    filling page sends back, so a save can tell a colleague's newer value from its own."""
    if answer is None:
        return "0." + digest(None)
    return f"{answer.version}." + digest(row_value(question, answer), answer.other_text)


def raw_from_value(question: Question, value: Any, other: str = "") -> dict:
    """The form's raw state for a stored value (so saved and re-posted pages look alike)."""
    qtype = question.type
    if value is None:
        return {}
    if qtype in (QuestionType.SINGLE, QuestionType.LIKERT, QuestionType.YES_NO):
        return {"value": value, "other": other}
    if qtype == QuestionType.MULTIPLE:
        return {"values": value, "other": other}
    if qtype in NUMERIC_TYPES:
        return {"value": _fmt(value).replace("\u202f", "").replace("\xa0", "")}
    if qtype == QuestionType.DATE:
        return {"value": value.isoformat()}
    if qtype in MATRIX_TYPES:
        return {"cells": value}
    if qtype == QuestionType.RANKING:
        return {"ranks": value}
    return {"value": value}


def display(question: Question, value: Any, other: str = "") -> str:
    """The answer in words, as a reader of the response would say it."""
    if value in (None, "", [], {}):
        return ""
    labels = option_labels(question)

    def label(code: str) -> str:
        text = labels.get(code, code)
        return f"{text} : {other}" if code == OTHER_CODE and other else text

    qtype = question.type
    if qtype in (QuestionType.SINGLE, QuestionType.LIKERT, QuestionType.YES_NO):
        return label(value)
    if qtype == QuestionType.MULTIPLE:
        return ", ".join(label(c) for c in value)
    if qtype == QuestionType.RANKING:
        return ", ".join(f"{i}. {label(c)}" for i, c in enumerate(value, 1))
    if qtype in NUMERIC_TYPES:
        return f"{_fmt(value)} {question.unit}".strip()
    if qtype == QuestionType.DATE:
        return value.strftime("%d/%m/%Y")
    if qtype == QuestionType.MONTH:
        return f"{value[5:7]}/{value[:4]}"
    if qtype in MATRIX_TYPES:
        rows = row_labels(question)
        parts = []
        for row, cell in value.items():
            shown = ", ".join(label(c) for c in cell) if isinstance(cell, list) else label(cell)
            parts.append(f"{rows.get(row, row)} : {shown}")
        return " ; ".join(parts)
    return str(value)


def pipe(label: str, displays: dict[str, str], *, preview: bool = False):
    """``label`` with ``{{CODE}}`` replaced by earlier answers; every piece escaped.

    An earlier question not answered (yet) shows "…"; a preview names the question."""
    parts = []
    last = 0
    for match in PIPE_RE.finditer(label):
        parts.append(label[last : match.start()])
        missing = pipe_placeholder(match.group(1)) if preview else "…"
        parts.append(displays.get(match.group(1)) or missing)
        last = match.end()
    parts.append(label[last:])
    return format_html_join("", "{}", ((p,) for p in parts))


def _rule_words() -> dict[str, str]:
    return {
        "and": _("AND"),
        "or": _("OR"),
        "not": _("NOT"),
        "answered": _("answered"),
        "not_answered": _("not answered"),
    }


def describe_rule(rule) -> str:
    """A show-if rule in codes (``B1_USAGE = oui``), for the builder, the codebook and the
    report."""
    return rules.describe(rule, _rule_words())


def describe_rule_in_words(rule, questions) -> str:
    """The same rule with the questions' and choices' labels (``questions``: the version's)."""
    by_code = {q.code: q for q in questions}
    codes = rules.referenced_codes(rule)
    return rules.describe(
        rule,
        _rule_words(),
        names={c: by_code[c].plain_label for c in codes if c in by_code},
        choices={c: option_labels(by_code[c]) for c in codes if c in by_code},
    )
