"""Show-if evaluation: the pure module the server trusts."""

import sys

import pytest

from surveys import rules

ANSWERS = {
    "B1": "routine",
    "N": 12,
    "M": ["x", "y"],
    "MX": {"orl": "c2", "sein": ["a"]},
    "T": "",
    "S": "7",
}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (None, True),
        ({}, True),
        ({"q": "B1", "op": "equals", "value": "routine"}, True),
        ({"q": "B1", "value": "routine"}, True),  # equals is the default
        ({"q": "B1", "op": "equals", "value": "non"}, False),
        ({"q": "B1", "op": "not_equals", "value": "non"}, True),
        ({"q": "B1", "op": "in", "value": ["routine", "evaluation"]}, True),
        ({"q": "B1", "op": "not_in", "value": ["routine", "evaluation"]}, False),
        ({"q": "M", "op": "equals", "value": "y"}, True),  # contains for lists
        ({"q": "M", "op": "in", "value": ["z", "x"]}, True),
        ({"q": "M", "op": "in", "value": ["z"]}, False),
        ({"q": "N", "op": "gt", "value": 10}, True),
        ({"q": "N", "op": "gte", "value": 12}, True),
        ({"q": "N", "op": "lt", "value": 12}, False),
        ({"q": "N", "op": "lte", "value": "12"}, True),
        ({"q": "S", "op": "gt", "value": 5}, True),  # numeric text compares as a number
        ({"q": "B1", "op": "gt", "value": 5}, False),  # not a number: no comparison holds
        ({"q": "MISSING", "op": "equals", "value": "x"}, False),
        ({"not": {"q": "MISSING", "op": "equals", "value": "x"}}, True),
        ({"q": "T", "op": "answered"}, False),
        ({"q": "T", "op": "not_answered"}, True),
        ({"q": "MX", "row": "orl", "op": "equals", "value": "c2"}, True),
        ({"q": "MX", "row": "sein", "op": "equals", "value": "a"}, True),
        ({"q": "MX", "row": "poumon", "op": "answered"}, False),
        ({"all": [{"q": "B1", "value": "routine"}, {"q": "N", "op": "gt", "value": 20}]}, False),
        ({"and": [{"q": "B1", "value": "routine"}, {"q": "N", "op": "gt", "value": 5}]}, True),
        ({"any": [{"q": "B1", "value": "non"}, {"q": "N", "op": "gt", "value": 5}]}, True),
        ({"or": [{"q": "B1", "value": "non"}, {"q": "N", "op": "gt", "value": 50}]}, False),
    ],
)
def test_evaluate(rule, expected):
    assert rules.evaluate(rule, ANSWERS) is expected


def test_visibility_cascades_through_hidden_questions():
    questions = [
        ("A", None),
        ("B", {"q": "A", "op": "equals", "value": "yes"}),
        ("C", {"q": "B", "op": "answered"}),
    ]
    # B is hidden (A = no), so its stale answer does not show C.
    assert rules.visible_codes(questions, {"A": "no", "B": "stale"}) == {"A"}
    assert rules.visible_codes(questions, {"A": "yes", "B": "x"}) == {"A", "B", "C"}


def test_check_reports_unknown_later_and_malformed_rules():
    assert rules.check({"q": "A", "op": "equals", "value": 1}, ["A"]) == []
    assert ("unknown", "Z") in rules.check({"q": "Z", "op": "equals", "value": 1}, ["A"])
    assert ("operator", "like") in rules.check({"q": "A", "op": "like", "value": 1}, ["A"])
    assert rules.check({"q": "A", "op": "in", "value": "x"}, ["A"])[0][0] == "structure"
    assert rules.check({"all": []}, ["A"])[0][0] == "structure"
    assert rules.check("nonsense", ["A"])[0][0] == "structure"


def test_describe_is_readable():
    words = {
        "and": "ET",
        "or": "OU",
        "not": "NON",
        "answered": "répondu",
        "not_answered": "non répondu",
    }
    text = rules.describe(
        {
            "all": [
                {"q": "B1", "op": "in", "value": ["a", "b"]},
                {"not": {"q": "N", "op": "gt", "value": 3}},
            ]
        },
        words,
    )
    assert text == "(B1 ∈ {a, b} ET NON (N > 3))"


def test_rules_module_does_not_import_django():
    module = sys.modules["surveys.rules"]
    with open(module.__file__, encoding="utf-8") as handle:
        source = handle.read()
    assert "django" not in source.split('"""', 2)[2]
