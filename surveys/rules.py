"""Show-if rules: the one evaluator the server trusts (static/surveys/showif.js mirrors it).

Pure Python, no Django. A rule is JSON:

- ``{"q": "B1", "op": "equals", "value": "routine"}`` — ops: ``equals``, ``not_equals``,
  ``in``, ``not_in``, ``gt``, ``gte``, ``lt``, ``lte``, ``answered``, ``not_answered``;
  ``"row": "prostate"`` reads one row of a matrix answer;
- ``{"all": [rule, ...]}`` (and), ``{"any": [rule, ...]}`` (or), ``{"not": rule}``.

For a list answer (multiple choice, ranking, a row of a multi-select matrix), ``equals``
means "contains" and ``in`` means "contains one of". A missing answer satisfies no
comparison, so ``{"not": ...}`` of it is true. Visibility cascades: the answer to a hidden
question counts as missing for the rules after it.

A calculated field's formula is JSON too (:func:`compute`, mirrored by showif.js):
``{"num": 2}``; ``{"q": "B2"}`` (a number, or the count of the options ticked in a multiple
choice, yes = 1 and no = 0); ``{"q": "C1", "choice": "atlas"}`` (1 when ticked, else 0);
``{"op": "+", "args": [a, b]}`` with ``+ - * / ^``; ``{"neg": a}``; ``{"sum": [a, ...]}``
(the answered ones); ``{"if": rule, "then": a, "else": b}`` (``rule`` a show-if rule).
A missing input, a division by zero or an overflow gives no value (``None``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

OPS = ("equals", "not_equals", "in", "not_in", "gt", "gte", "lt", "lte", "answered", "not_answered")
CHOICE_OPS = ("equals", "not_equals", "in", "not_in")
COMBINATORS = {"all": "all", "and": "all", "any": "any", "or": "any"}


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace(",", "."))
        except ValueError:
            return None
    return None


def _same(a: Any, b: Any) -> bool:
    if a == b:
        return True
    na, nb = _number(a), _number(b)
    return na is not None and nb is not None and na == nb


def _compare(op: str, answer: Any, expected: Any) -> bool:
    if op == "answered":
        return not _is_empty(answer)
    if op == "not_answered":
        return _is_empty(answer)
    if op in ("not_equals", "not_in"):
        return not _compare(op.removeprefix("not_"), answer, expected)
    if _is_empty(answer):
        return False
    if op == "equals":
        if isinstance(answer, list):
            return any(_same(item, expected) for item in answer)
        return _same(answer, expected)
    if op == "in":
        options = expected if isinstance(expected, list) else [expected]
        items = answer if isinstance(answer, list) else [answer]
        return any(_same(item, option) for item in items for option in options)
    a, b = _number(answer), _number(expected)
    if a is None or b is None:
        return False
    return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]


def evaluate(rule: Mapping | None, answers: Mapping[str, Any]) -> bool:
    """True when ``rule`` holds for ``answers`` (question code → value); no rule is true."""
    if not rule:
        return True
    if "not" in rule:
        return not evaluate(rule["not"], answers)
    for key, kind in COMBINATORS.items():
        if key in rule:
            results = (evaluate(sub, answers) for sub in rule[key])
            return all(results) if kind == "all" else any(results)
    answer = answers.get(rule.get("q", ""))
    row = rule.get("row")
    if row is not None:
        answer = answer.get(row) if isinstance(answer, dict) else None
    return _compare(rule.get("op", "equals"), answer, rule.get("value"))


def visible_codes(
    questions: Sequence[tuple[str, Mapping | None]], answers: Mapping[str, Any]
) -> set[str]:
    """Codes of the visible questions, given ``(code, show_if)`` in questionnaire order."""
    visible: set[str] = set()
    effective: dict[str, Any] = {}
    for code, rule in questions:
        if evaluate(rule, effective):
            visible.add(code)
            if code in answers:
                effective[code] = answers[code]
    return visible


def rename(rule: Any, names: Mapping[str, str]) -> Any:
    """``rule`` with the question codes in ``names`` replaced (a repeated block's rules read
    the answers of their own choice: ``CODE`` → ``CODE__choice``)."""
    if not isinstance(rule, Mapping):
        return rule
    if "not" in rule:
        return {**rule, "not": rename(rule["not"], names)}
    for key in COMBINATORS:
        if key in rule and isinstance(rule[key], list):
            return {**rule, key: [rename(r, names) for r in rule[key]]}
    if rule.get("q") in names:
        return {**rule, "q": names[rule["q"]]}
    return rule


def block_rule(rule: Any, local: Iterable[str], source: str, choice: str, code_of) -> dict:
    """The show-if of a repeated block's question for one choice: that choice ticked in
    ``source``, and the question's own rule read on that choice's answers (``code_of``)."""
    own = rename(rule, {code: code_of(code, choice) for code in local})
    ticked = {"q": source, "op": "equals", "value": choice}
    return {"all": [ticked, own]} if own else ticked


FORMULA_OPS = ("+", "-", "*", "/", "^")


def _operand_value(answer: Any) -> float | None:
    if isinstance(answer, list):
        return float(len(answer))
    if answer in ("yes", "no"):
        return 1.0 if answer == "yes" else 0.0
    return _number(answer)


def _arithmetic(op: str, a: float, b: float) -> float | None:
    try:
        if op == "+":
            result = a + b
        elif op == "-":
            result = a - b
        elif op == "*":
            result = a * b
        elif op == "/":
            result = a / b
        else:
            result = math.pow(a, b)
    except (ZeroDivisionError, OverflowError, ValueError):
        return None
    return result if math.isfinite(result) else None


def compute(formula: Mapping | None, answers: Mapping[str, Any]) -> float | None:
    """The value of a calculated field's ``formula`` for ``answers``, or ``None``."""
    if not isinstance(formula, Mapping):
        return None
    if "num" in formula:
        return _number(formula["num"])
    if "q" in formula:
        answer = answers.get(formula["q"])
        if "choice" in formula:
            ticked = answer if isinstance(answer, list) else [answer]
            return 1.0 if any(_same(t, formula["choice"]) for t in ticked) else 0.0
        return None if _is_empty(answer) else _operand_value(answer)
    if "neg" in formula:
        value = compute(formula["neg"], answers)
        return None if value is None else -value
    if "sum" in formula:
        values = [compute(part, answers) for part in formula["sum"]]
        given = [v for v in values if v is not None]
        return math.fsum(given) if given else None
    if "if" in formula:
        branch = formula.get("then") if evaluate(formula["if"], answers) else formula.get("else")
        return compute(branch, answers)
    if formula.get("op") in FORMULA_OPS and len(formula.get("args") or []) == 2:
        a, b = (compute(part, answers) for part in formula["args"])
        return None if a is None or b is None else _arithmetic(formula["op"], a, b)
    return None


def formula_codes(formula: Any) -> set[str]:
    """The question codes a formula reads (its conditions included)."""
    if not isinstance(formula, Mapping):
        return set()
    codes = {formula["q"]} if "q" in formula else set()
    if "if" in formula:
        codes |= referenced_codes(formula["if"])
    parts = [formula.get(k) for k in ("neg", "then", "else")]
    parts += list(formula.get("sum") or []) + list(formula.get("args") or [])
    for part in parts:
        codes |= formula_codes(part)
    return codes


def referenced_codes(rule: Mapping | None) -> set[str]:
    if not rule:
        return set()
    if "not" in rule:
        return referenced_codes(rule["not"])
    for key in COMBINATORS:
        if key in rule:
            return set().union(*(referenced_codes(sub) for sub in rule[key]))
    return {rule["q"]} if "q" in rule else set()


def check(
    rule: Any,
    earlier_codes: Iterable[str],
    choices: Mapping[str, Iterable[str]] | None = None,
) -> list[tuple[str, str]]:
    """Problems of ``rule`` as ``(kind, detail)``: ``structure``, ``operator``, ``unknown``,
    ``value`` (a comparison without a value) and ``choice`` (``choices`` maps a question
    code to its choice codes; a value outside them is reported as ``"CODE value"``)."""
    earlier = set(earlier_codes)
    choices = choices or {}
    problems: list[tuple[str, str]] = []

    def walk(node: Any) -> None:
        if not isinstance(node, dict) or not node:
            problems.append(("structure", str(node)[:80]))
            return
        if "not" in node:
            walk(node["not"])
            return
        for key in COMBINATORS:
            if key in node:
                subs = node[key]
                if not isinstance(subs, list) or not subs:
                    problems.append(("structure", key))
                    return
                for sub in subs:
                    walk(sub)
                return
        code, op = node.get("q"), node.get("op", "equals")
        if not isinstance(code, str) or not code:
            problems.append(("structure", str(node)[:80]))
            return
        if op not in OPS:
            problems.append(("operator", str(op)))
        if code not in earlier:
            problems.append(("unknown", code))
        if op in ("in", "not_in") and not isinstance(node.get("value"), list):
            problems.append(("structure", f"{code} {op}"))
        if op in ("gt", "gte", "lt", "lte") and _number(node.get("value")) is None:
            problems.append(("structure", f"{code} {op}"))
        value = node.get("value")
        if op in CHOICE_OPS and _is_empty(value):
            problems.append(("value", code))
        elif code in choices and node.get("row") is None and op in CHOICE_OPS:
            values = value if isinstance(value, list) else [value]
            allowed = {str(c) for c in choices[code]}
            unknown = [str(v) for v in values if str(v) not in allowed]
            if unknown:
                problems.append(("choice", f"{code} {unknown[0]}"))

    if rule not in (None, {}, ""):
        walk(rule)
    return problems


SYMBOLS = {
    "equals": "=",
    "not_equals": "≠",
    "in": "∈",
    "not_in": "∉",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
}


def describe(
    rule: Mapping | None,
    words: Mapping[str, str],
    *,
    names: Mapping[str, str] | None = None,
    choices: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """A readable form of ``rule``; ``words`` gives "and", "or", "not", "answered"…

    By default in codes, as an analyst reads them (``B1_USAGE = oui``). With ``names``
    (question code → label) and ``choices`` (question code → choice code → label), in words.
    """
    if not rule:
        return ""
    if "not" in rule:
        return f"{words['not']} ({describe(rule['not'], words, names=names, choices=choices)})"
    for key, kind in COMBINATORS.items():
        if key in rule:
            joiner = f" {words['and' if kind == 'all' else 'or']} "
            return (
                "("
                + joiner.join(
                    describe(sub, words, names=names, choices=choices) for sub in rule[key]
                )
                + ")"
            )
    code = rule.get("q", "?")
    target = f"« {names[code]} »" if names and code in names else code
    target += f"[{rule['row']}]" if rule.get("row") else ""
    op = rule.get("op", "equals")
    if op in ("answered", "not_answered"):
        return f"{target} {words[op]}"
    labels = (choices or {}).get(code, {}) if names and not rule.get("row") else {}

    def shown(v):
        return f"« {labels[str(v)]} »" if str(v) in labels else str(v)

    value = rule.get("value")
    text = (
        "{" + ", ".join(shown(v) for v in value) + "}" if isinstance(value, list) else shown(value)
    )
    return f"{target} {SYMBOLS.get(op, op)} {text}"
