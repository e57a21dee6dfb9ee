"""Branching logic of REDCap and relevance equations of LimeSurvey, as show-if rules.

Both are small boolean languages over comparisons of a variable with a constant; this
parser reads the subset that has an equivalent in :mod:`surveys.rules` and raises
:class:`Unsupported` with the reason for anything else (functions other than
``is_empty``, arithmetic, a variable compared with another variable, dates), so the
importer can say what it did not carry over instead of guessing.

REDCap: ``[field] = '1'``, ``[checkbox(code)] = '1'``, ``<>``, ``and``/``or``, parentheses.
LimeSurvey: ``q1 == "A1"``, ``q1.NAOK``, ``&&``/``||``/``!``, ``is_empty(q1)``.

The same reader turns a calculation (REDCap ``calc`` fields, the builder's formulas, in the
REDCap syntax) into the formula JSON of :func:`surveys.rules.compute`: ``+ - * / ^``,
parentheses, numbers, ``[field]``, ``[checkbox(code)]``, ``sum(...)`` and
``if(condition, then, else)``; :func:`formula_text` writes it back.
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
      | (?P<arith>[-+*/^])
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

    # Formulas: expr := term (('+'|'-') term)* ; term := power (('*'|'/') power)* ;
    # power := unary ('^' unary)? ; unary := '-' unary | primary
    def formula(self, text: str) -> dict:
        """``text`` (a calculation) as formula JSON; raises :class:`Unsupported`."""
        tokens = _tokenize((text or "").strip())
        if tokens.peek() is None:
            raise Unsupported(_("the formula is empty"))
        formula = self._expression(tokens)
        if tokens.peek() is not None:
            raise Unsupported(_("unexpected “%(token)s”") % {"token": tokens.peek()[1]})
        return formula

    @staticmethod
    def _binary(tokens: _Tokens, ops: str) -> str | None:
        item = tokens.peek()
        if item is None:
            return None
        if item[0] == "arith" and item[1] in ops:
            tokens.take()
            return item[1]
        if "-" in ops and item[0] == "number" and item[1].startswith("-"):
            tokens.items[tokens.pos] = ("number", item[1][1:])  # "[a]-1": a minus, then 1
            return "-"
        return None

    def _expression(self, tokens: _Tokens) -> dict:
        formula = self._term(tokens)
        while (op := self._binary(tokens, "+-")) is not None:
            formula = {"op": op, "args": [formula, self._term(tokens)]}
        return formula

    def _term(self, tokens: _Tokens) -> dict:
        formula = self._power(tokens)
        while (op := self._binary(tokens, "*/")) is not None:
            formula = {"op": op, "args": [formula, self._power(tokens)]}
        return formula

    def _power(self, tokens: _Tokens) -> dict:
        base = self._signed(tokens)
        if self._binary(tokens, "^") is not None:
            return {"op": "^", "args": [base, self._signed(tokens)]}
        return base

    def _signed(self, tokens: _Tokens) -> dict:
        kind, value = tokens.take()
        if (kind, value) == ("arith", "-"):
            return {"neg": self._signed(tokens)}
        if (kind, value) == ("paren", "("):
            formula = self._expression(tokens)
            if tokens.take() != ("paren", ")"):
                raise Unsupported(_("a parenthesis is not closed"))
            return formula
        if kind == "number":
            return {"num": float(value)}
        if kind == "name" and tokens.peek() == ("paren", "("):
            return self._formula_function(value, tokens)
        operand = self._operand(kind, value)
        if not isinstance(operand, Variable):
            raise Unsupported(_("the text “%(value)s” in a calculation") % {"value": operand})
        target = self.resolve(operand)
        if "row" in target:
            raise Unsupported(_("a matrix row in a calculation"))
        if operand.choice is not None:
            return {**target, "choice": self.value_of(target["q"], operand.choice)}
        return target

    def _formula_function(self, name: str, tokens: _Tokens) -> dict:
        tokens.take()  # "("
        if name.lower() == "if":
            condition = self._or(tokens)
            parts = []
            for _part in range(2):
                if tokens.take() != ("comma", ","):
                    raise Unsupported(_("if() expects a condition, a value and another value"))
                parts.append(self._expression(tokens))
            if tokens.take() != ("paren", ")"):
                raise Unsupported(_("a parenthesis is not closed"))
            return {"if": condition, "then": parts[0], "else": parts[1]}
        if name.lower() != "sum":
            raise Unsupported(_("the function %(name)s() has no equivalent") % {"name": name})
        parts = [self._expression(tokens)]
        while tokens.peek() == ("comma", ","):
            tokens.take()
            parts.append(self._expression(tokens))
        if tokens.take() != ("paren", ")"):
            raise Unsupported(_("a parenthesis is not closed"))
        return {"sum": parts}

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


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "^": 3}
_SYMBOLS = {"equals": "=", "not_equals": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def condition_text(rule: Mapping) -> str:
    """A show-if rule in the calculation syntax (what :meth:`Translator.formula` reads)."""
    if "not" in rule:
        return f"not ({condition_text(rule['not'])})"
    for key, word in (("all", " and "), ("any", " or ")):
        if key in rule:
            return "(" + word.join(condition_text(sub) for sub in rule[key]) + ")"
    ref = f"[{rule.get('q', '')}]"
    op, value = rule.get("op", "equals"), rule.get("value")
    if op in ("answered", "not_answered"):
        return f"{ref} {'<>' if op == 'answered' else '='} ''"
    if op in ("in", "not_in"):
        options = value if isinstance(value, list) else [value]
        joined = " or ".join(f"{ref} = '{v}'" for v in options)
        return f"({joined})" if op == "in" else f"not ({joined})"
    if op in ("equals", "not_equals"):
        return f"{ref} {_SYMBOLS[op]} '{value}'"
    return f"{ref} {_SYMBOLS.get(op, op)} {float(value):g}"


def formula_text(
    formula: Mapping,
    name_of: Callable[[str], str] = lambda code: code,
    condition: Callable[[Mapping], str] = condition_text,
) -> str:
    """Formula JSON back as text; ``name_of`` maps a question code to the name to write."""

    def text(node: Mapping, parent: int = 0) -> str:
        if "num" in node:
            return f"{float(node['num']):g}"
        if "q" in node:
            name = name_of(node["q"])
            return f"[{name}({node['choice']})]" if "choice" in node else f"[{name}]"
        if "neg" in node:
            return f"-{text(node['neg'], 4)}"
        if "sum" in node:
            return "sum(" + ", ".join(text(part) for part in node["sum"]) + ")"
        if "if" in node:
            then, other = text(node["then"]), text(node["else"])
            return f"if({condition(node['if'])}, {then}, {other})"
        op = node["op"]
        level = _PRECEDENCE[op]
        left = text(node["args"][0], level)
        right = text(node["args"][1], level + 1)  # a - (b - c) keeps its parentheses
        joined = f"{left}{op}{right}" if op == "^" else f"{left} {op} {right}"
        return f"({joined})" if level < parent else joined

    return text(formula)


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
