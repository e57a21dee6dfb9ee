"""Data for the point-and-click show-if editor of the builder (static/surveys/rule_editor.js).

The editor only writes the JSON rule into the form's ``show_if`` field; the server validates
that rule exactly as if it had been typed (see ``services.question_save``).
"""

from __future__ import annotations

from django.utils.text import Truncator
from django.utils.translation import gettext as _

from surveys.answers import option_labels
from surveys.models import MATRIX_TYPES, NUMERIC_TYPES, Question, QuestionType, Section
from surveys.selectors import Structure

CHOICE_KINDS = frozenset(
    {
        QuestionType.SINGLE,
        QuestionType.MULTIPLE,
        QuestionType.LIKERT,
        QuestionType.RANKING,
        QuestionType.YES_NO,
    }
)


def earlier_questions(
    structure: Structure, section: Section, question: Question | None
) -> list[Question]:
    """The questions a rule of ``question`` may refer to: those before it in the version.

    A new question goes at the end of ``section``, so every question of that section and of
    the sections before it comes earlier.
    """
    if question is not None:
        codes = [q.pk for q in structure.questions]
        return structure.questions[: codes.index(question.pk)]
    pks = [s.pk for s in structure.sections]
    allowed = set(pks[: pks.index(section.pk) + 1])
    return [q for q in structure.questions if q.section_id in allowed]


def _kind(question: Question) -> str:
    if question.type in CHOICE_KINDS:
        return "choice"
    if question.type in NUMERIC_TYPES:
        return "number"
    return "text"


def editor_data(structure: Structure, section: Section, question: Question | None) -> dict:
    """Earlier questions (matrices excepted: their rules need a row, use the JSON) and texts."""
    questions = []
    for q in earlier_questions(structure, section, question):
        if q.type in MATRIX_TYPES:
            continue
        kind = _kind(q)
        options = list(option_labels(q).items()) if kind == "choice" else []
        questions.append(
            {
                "code": q.code,
                "label": f"{q.code} — {Truncator(q.label).chars(60)}",
                "kind": kind,
                "options": [{"code": c, "label": f"{c} — {label}"} for c, label in options],
            }
        )
    return {
        "questions": questions,
        "text": {
            "title": _("Show this question only if"),
            "intro": _(
                "Build the rule with the lists below; it is written into the JSON field, "
                "which the server checks when you save."
            ),
            "combine": _("Combine the conditions"),
            "all": _("all conditions are met (and)"),
            "any": _("at least one condition is met (or)"),
            "condition": _("Condition %(n)s"),
            "question": _("Earlier question"),
            "operator": _("Operator"),
            "value": _("Value"),
            "values": _("Values (several may be selected)"),
            "values_text": _("Values, separated by commas"),
            "choose": _("— choose —"),
            "add": _("Add a condition"),
            "remove": _("Remove condition %(n)s"),
            "none": _("No condition: the question is always shown."),
            "no_questions": _("No earlier question can be used in a rule."),
            "advanced": _("Advanced: edit the rule as JSON"),
            "complex": _(
                "This rule cannot be shown in the editor (matrix row, nested or invalid "
                "rule): edit it in the JSON field below, or clear the conditions to start again."
            ),
            "clear": _("Clear the conditions"),
            "ops": {
                "equals": _("is equal to / contains"),
                "not_equals": _("is not equal to / does not contain"),
                "in": _("is one of"),
                "not_in": _("is none of"),
                "lt": _("is less than (<)"),
                "lte": _("is less than or equal to (≤)"),
                "gt": _("is greater than (>)"),
                "gte": _("is greater than or equal to (≥)"),
                "answered": _("is answered"),
                "not_answered": _("is not answered"),
            },
        },
    }
