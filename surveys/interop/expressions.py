"""Branching logic of REDCap and relevance equations of LimeSurvey, as show-if rules.

Both are small boolean languages over comparisons of a variable with a constant; this
parser reads the subset that has an equivalent in :mod:`surveys.rules` and raises
:class:`Unsupported` with the reason for anything else (functions other than
``is_empty``, arithmetic, a variable compared with another variable, dates), so the
importer can say what it did not carry over instead of guessing.

REDCap: ``[field] = '1'``, ``[checkbox(code)] = '1'``, ``<>``, ``and``/``or``, parentheses.
LimeSurvey: ``q1 == "A1"``, ``q1.NAOK``, ``&&``/``||``/``!``, ``is_empty(q1)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _


class Unsupported(Exception):
    """The expression has no show-if equivalent; the message says why."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<field>\[[^\]]+\])
      | (?P<string>'[^']*'|"[^"]*")
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op><>|!=|==|>=|<=|=|>|<)
      | (?P<logic>&&|\|\||!)
      | (?P<paren>[()])
      | (?P<comma>,)
      | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
      | (?P<other>\S)
    )""",
    re.VERBOSE,
)
_WORD_OPS = {"eq": "==", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}


@dataclass
class _Tokens:
    items: list[tuple[str, str]]
    pos: int = 0

    def peek(self) -> tuple[str, str] | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def take(self) -> tuple[str, str]:
        item = self.peek()
        if item is None:
            raise Unsupported(_("the expression is incomplete"))
        self.pos += 1
        return item


def _tokenize(text: str) -> _Tokens:
    items = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "other":
            raise Unsupported(_("the character “%(char)s” is not supported") % {"char": value})
        if kind == "name" and value.lower() in ("and", "or", "not"):
            kind, value = "logic", {"and": "&&", "or": "||", "not": "!"}[value.lower()]
        elif kind == "name" and value.lower() in _WORD_OPS:
            kind, value = "op", _WORD_OPS[value.lower()]
        items.append((kind, value))
    return _Tokens(items)


@dataclass(frozen=True)
class Variable:
    name: str
    choice: str | None = None  # REDCap checkbox choice: [field(code)]


@dataclass
class Translator:
    """Turns an expression into a rule; ``resolve`` maps a variable to rule keys.

    ``resolve(variable)`` returns ``{"q": code}`` (plus ``"row"`` for a matrix row) or
    raises :class:`Unsupported`; ``value_of(q, raw)`` maps a source value to the app's
    choice code (sanitised codes, yes/no); ``multiple(q)`` tells a multiple-choice question.
    """

    resolve: Callable[[Variable], dict]
    value_of: Callable[[str, str], str] = lambda _q, raw: raw
    multiple: Callable[[str], bool] = lambda _q: False
    notes: list[str] = field(default_factory=list)

    def translate(self, text: str) -> dict | None:
        text = (text or "").strip()
        if not text or text == "1":  # LimeSurvey writes "1" for "always"
            return None
        tokens = _tokenize(text)
        rule = self._or(tokens)
        if tokens.peek() is not None:
            raise Unsupported(_("unexpected “%(token)s”") % {"token": tokens.peek()[1]})
        return rule

    # Grammar: or := and ('||' and)* ; and := unary ('&&' unary)* ;
    # unary := '!' unary | '(' or ')' | comparison
    def _or(self, tokens: _Tokens) -> dict:
        parts = [self._and(tokens)]
        while tokens.peek() == ("logic", "||"):
            tokens.take()
            parts.append(self._and(tokens))
        return parts[0] if len(parts) == 1 else {"any": parts}

    def _and(self, tokens: _Tokens) -> dict:
        parts = [self._unary(tokens)]
        while tokens.peek() == ("logic", "&&"):
            tokens.take()
            parts.append(self._unary(tokens))
        return parts[0] if len(parts) == 1 else {"all": parts}

    def _unary(self, tokens: _Tokens) -> dict:
        kind, value = tokens.take()
        if (kind, value) == ("logic", "!"):
            return {"not": self._unary(tokens)}
        if (kind, value) == ("paren", "("):
            rule = self._or(tokens)
            if tokens.take() != ("paren", ")"):
                raise Unsupported(_("a parenthesis is not closed"))
            return rule
        if kind == "name" and tokens.peek() == ("paren", "("):
            return self._function(value, tokens)
        left = self._operand(kind, value)
        op_kind, op = tokens.take()
        if op_kind != "op":
            raise Unsupported(_("an operator is missing after %(name)s") % {"name": value})
        right = self._operand(*tokens.take())
        return self._comparison(left, op, right)

    def _function(self, name: str, tokens: _Tokens) -> dict:
        tokens.take()  # "("
        if name.lower() != "is_empty":
            raise Unsupported(_("the function %(name)s() has no equivalent") % {"name": name})
        argument = self._operand(*tokens.take())
        if tokens.take() != ("paren", ")") or not isinstance(argument, Variable):
            raise Unsupported(_("is_empty() expects a question"))
        return {**self.resolve(argument), "op": "not_answered"}

    @staticmethod
    def _operand(kind: str, value: str) -> Variable | str:
        if kind == "field":
            inner = value[1:-1].strip()
            match = re.fullmatch(r"([A-Za-z0-9_]+)\(([^)]*)\)", inner)
            if match:
                return Variable(match.group(1), match.group(2))
            if not re.fullmatch(r"[A-Za-z0-9_]+", inner):
                raise Unsupported(
                    _("the reference %(ref)s (event, instance) has no equivalent") % {"ref": value}
                )
            return Variable(inner)
        if kind == "name":
            return Variable(re.sub(r"\.(NAOK|value|code)$", "", value))
        if kind == "string":
            return value[1:-1]
        if kind == "number":
            return value
        raise Unsupported(_("unexpected “%(token)s”") % {"token": value})

    def _comparison(self, left: Any, op: str, right: Any) -> dict:
        if isinstance(right, Variable) and not isinstance(left, Variable):
            left, right = right, left
            op = {">": "<", "<": ">", ">=": "<=", "<=": ">="}.get(op, op)
        if not isinstance(left, Variable) or isinstance(right, Variable):
            raise Unsupported(_("comparing two questions has no equivalent"))
        target = self.resolve(left)
        negate = op in ("<>", "!=")
        if left.choice is not None:  # REDCap checkbox choice: ticked (1) or not (0)
            if right not in ("0", "1") or op not in ("=", "==", "<>", "!="):
                raise Unsupported(
                    _("the comparison of the box %(name)s(%(choice)s)")
                    % {"name": left.name, "choice": left.choice}
                )
            ticked = (right == "1") != negate
            rule = {**target, "op": "equals", "value": self.value_of(target["q"], left.choice)}
            return rule if ticked else {"not": rule}
        if right == "":
            if op in ("=", "=="):
                return {**target, "op": "not_answered"}
            if negate:
                return {**target, "op": "answered"}
            raise Unsupported(_("an order comparison with an empty value"))
        if op in ("=", "==", "<>", "!="):
            value = self.value_of(target["q"], right)
            return {**target, "op": "not_equals" if negate else "equals", "value": value}
        if not re.fullmatch(r"-?\d+(\.\d+)?", right):
            raise Unsupported(
                _("an order comparison with “%(value)s”, which is not a number") % {"value": right}
            )
        ops = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
        return {**target, "op": ops[op], "value": float(right)}


def resolver(
    known: Mapping[str, dict], later: Mapping[str, str] | None = None
) -> Callable[[Variable], dict]:
    """A ``resolve`` for :class:`Translator` over ``known`` variables (name → rule keys)."""

    def resolve(variable: Variable) -> dict:
        target = known.get(variable.name) or known.get(variable.name.lower())
        if target is None:
            reason = (later or {}).get(variable.name)
            raise Unsupported(
                reason
                or _("the question %(name)s does not come before this one")
                % {"name": variable.name}
            )
        return dict(target)

    return resolve
