"""The builder of a draft version: sections and questions (save, bin, restore, move),
formulas, and the rules re-checked after every edit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from surveys import answers
from surveys.interop.expressions import Translator, Unsupported, resolver
from surveys.models import (
    CHOICE_TYPES,
    MATRIX_TYPES,
    NUMERIC_TYPES,
    OTHER_TYPES,
    Choice,
    Question,
    QuestionnaireVersion,
    QuestionType,
    Section,
)
from surveys.selectors import version_structure
from surveys.services.checks import (
    _check_exclusive,
    _check_formula,
    _check_pattern,
    _check_piping,
    _check_question_shape,
    _check_rule,
    _clean_pairs,
    _english_labels,
    _repeat_source,
)
from surveys.services.common import _ensure_draft, _fail, _lock_version
from surveys.services.questionnaires import _choice_rows


@transaction.atomic
def section_save(
    *,
    version: QuestionnaireVersion,
    section: Section | None = None,
    code: str,
    title: str,
    description: str = "",
    title_en: str = "",
    description_en: str = "",
    repeat_for: str = "",
) -> Section:
    version = _lock_version(version)
    _ensure_draft(version)
    clash = version.sections.filter(code=code).exclude(pk=getattr(section, "pk", None)).first()
    if clash is not None and clash.deleted_at is not None:
        _fail(_("A section in the bin has this code: restore it, or choose another code."))
    if clash is not None:
        _fail(_("Another section already has this code."))
    if section is None:
        order = (version.sections.aggregate(n=Max("order"))["n"] or 0) + 1
        section = Section(version=version, order=order)
    section.code, section.title, section.description = code, title, description
    section.title_en, section.description_en = title_en, description_en
    section.repeat_for = _repeat_source(version, repeat_for, code, section)
    section.save()
    return section


@transaction.atomic
def section_delete(*, section: Section) -> int:
    """Put a draft's section (with its questions) in the bin; returns its question count."""
    _ensure_draft(_lock_version(section.version))
    section.deleted_at = timezone.now()
    section.save(update_fields=["deleted_at"])
    _check_version_rules(section.version)
    return section.questions.filter(deleted_at__isnull=True).count()


@transaction.atomic
def section_restore(*, section: Section) -> Section:
    _ensure_draft(_lock_version(section.version))
    section.deleted_at = None
    section.save(update_fields=["deleted_at"])
    _check_version_rules(section.version)
    return section


def _move(items: list, item, direction: str) -> None:
    index = items.index(item)
    target = index - 1 if direction == "up" else index + 1
    if 0 <= target < len(items):
        items[index], items[target] = items[target], items[index]
    for position, obj in enumerate(items):
        if obj.order != position:
            obj.order = position
            obj.save(update_fields=["order"])


@transaction.atomic
def section_move(*, section: Section, direction: str) -> None:
    _ensure_draft(_lock_version(section.version))
    _move(
        list(section.version.sections.filter(deleted_at__isnull=True).order_by("order", "pk")),
        section,
        direction,
    )
    _check_version_rules(section.version)


@dataclass
class QuestionInput:
    code: str
    type: str
    label: str
    label_en: str = ""
    help_text: str = ""
    help_text_en: str = ""
    required: bool = False
    min_value: float | None = None
    max_value: float | None = None
    unit: str = ""
    pattern: str = ""
    max_length: int | None = None
    max_choices: int | None = None
    allow_other: bool = False
    exclusive_options: list = field(default_factory=list)
    not_applicable_label: str = ""
    not_applicable_label_en: str = ""
    show_if: Any = None
    formula: str = ""  # calculated fields, as typed: "[B2] * 60 / [B3]"
    # [code, label] or [code, label, English label]
    options: list = field(default_factory=list)
    rows: list = field(default_factory=list)


def _check_version_rules(version: QuestionnaireVersion) -> None:
    """After an edit or a move, every rule must still point to earlier questions and every
    repeated block to a multiple-choice question of an earlier section."""
    structure = version_structure(version, expand=False)
    earlier: list[str] = []
    for index, section in enumerate(structure.sections):
        if section.repeat_for_id:
            before = {q.pk: q for s in structure.sections[:index] for q in s.question_list}
            source = before.get(section.repeat_for_id)
            if source is None or source.type != QuestionType.MULTIPLE:
                _fail(
                    _(
                        "Section %(code)s is repeated for each choice of %(q)s: that question "
                        "must stay a multiple-choice question of an earlier section."
                    )
                    % {"code": section.code, "q": section.repeat_for.code}
                )
    choices = {
        q.code: answers.option_codes(q)
        for q in structure.questions
        if q.type in CHOICE_TYPES - MATRIX_TYPES or q.type == QuestionType.YES_NO
    }
    for question in structure.questions:
        where = _("Question %(code)s") % {"code": question.code}
        _check_rule(question.show_if, earlier, where, choices)
        _check_formula(question.type, question.formula, earlier, where)
        _check_piping([question.label, question.label_en], earlier, where)
        earlier.append(question.code)


def formula_parse(text: str, codes) -> dict:
    """The builder's formula text (REDCap syntax over question codes) as formula JSON."""
    known = {code: {"q": code} for code in codes}
    translator = Translator(resolve=resolver(known))
    try:
        return translator.formula(text)
    except Unsupported as reason:
        _fail(
            _("This formula cannot be read: %(reason)s.") % {"reason": reason},
            "formula",
        )
    return {}


def _replace_choices(question: Question, options: list, rows: list, **labels_and_flags) -> None:
    question.choices.all().delete()
    Choice.objects.bulk_create(_choice_rows(question, options, rows, **labels_and_flags))


@transaction.atomic
def question_save(
    *, section: Section, data: QuestionInput, question: Question | None = None
) -> Question:
    version = _lock_version(section.version)
    _ensure_draft(version)
    where = _("Question %(code)s") % {"code": data.code}
    clash = version.questions.filter(code=data.code).exclude(pk=getattr(question, "pk", None))
    if clash.filter(deleted_at__isnull=False, section__deleted_at__isnull=True).exists() or (
        clash.filter(section__deleted_at__isnull=False).exists()
    ):
        _fail(
            _("A question in the bin has the code “%(code)s”: restore it, or choose another code.")
            % {"code": data.code}
        )
    if clash.exists():
        _fail(
            _("Another question of this version already has the code “%(code)s”.")
            % {"code": data.code}
        )
    options = _clean_pairs([list(p)[:2] for p in data.options], where)
    rows = _clean_pairs([list(p)[:2] for p in data.rows], where)
    options_en = _english_labels({p[0]: p[2] for p in data.options if len(p) > 2}, options, where)
    rows_en = _english_labels({p[0]: p[2] for p in data.rows if len(p) > 2}, rows, where)
    _check_question_shape(data.type, options, rows, where, data.not_applicable_label)
    exclusive = list(data.exclusive_options) if data.type == QuestionType.MULTIPLE else []
    _check_exclusive(data.type, exclusive, options, where)
    _check_pattern(data.pattern, where)
    if (
        data.type in NUMERIC_TYPES
        and data.min_value is not None
        and data.max_value is not None
        and data.min_value > data.max_value
    ):
        _fail(
            _("%(where)s: the minimum is greater than the maximum.") % {"where": where},
            "max_value",
        )
    if data.type == QuestionType.RATING and (
        data.min_value is None or data.max_value is None or data.max_value - data.min_value > 20
    ):
        _fail(
            _("%(where)s: a rating scale needs a minimum and a maximum (20 steps at most).")
            % {"where": where},
            "max_value" if data.min_value is not None else "min_value",
        )
    if question is None:
        order = (section.questions.aggregate(n=Max("order"))["n"] or 0) + 1
        question = Question(version=version, section=section, order=order)
    for name in (
        "code",
        "type",
        "label",
        "label_en",
        "help_text",
        "help_text_en",
        "required",
        "min_value",
        "max_value",
        "unit",
        "pattern",
        "max_length",
        "max_choices",
        "show_if",
    ):
        setattr(question, name, getattr(data, name))
    question.show_if = data.show_if or None
    question.formula = None
    if data.type == QuestionType.CALCULATED:
        others = version.questions.exclude(pk=getattr(question, "pk", None))
        question.formula = formula_parse(data.formula, others.values_list("code", flat=True))
        question.required = False  # nothing to answer: the value follows the inputs
    # Bounds and patterns only mean something for some types: never keep stray ones.
    if data.type not in NUMERIC_TYPES:
        question.min_value = question.max_value = None
    if data.type not in (QuestionType.TEXT, QuestionType.LONG_TEXT):
        question.pattern = ""
    question.allow_other = data.allow_other and data.type in OTHER_TYPES
    question.not_applicable_label = (
        data.not_applicable_label.strip() if data.type in MATRIX_TYPES else ""
    )
    question.not_applicable_label_en = (
        data.not_applicable_label_en.strip() if data.type in MATRIX_TYPES else ""
    )
    question.save()
    _replace_choices(
        question, options, rows, options_en=options_en, rows_en=rows_en, exclusive=exclusive
    )
    _check_version_rules(version)
    return question


@transaction.atomic
def question_delete(*, question: Question) -> None:
    """Put a draft's question in the bin (refused when a later rule depends on it)."""
    _ensure_draft(_lock_version(question.version))
    question.deleted_at = timezone.now()
    question.save(update_fields=["deleted_at"])
    _check_version_rules(question.version)


@transaction.atomic
def question_restore(*, question: Question) -> Question:
    _ensure_draft(_lock_version(question.version))
    if question.section.deleted_at is not None:
        _fail(_("Its section is in the bin: restore the section first."))
    question.deleted_at = None
    question.save(update_fields=["deleted_at"])
    _check_version_rules(question.version)
    return question


@transaction.atomic
def question_move(*, question: Question, direction: str) -> None:
    _ensure_draft(_lock_version(question.version))
    _move(
        list(question.section.questions.filter(deleted_at__isnull=True).order_by("order", "pk")),
        question,
        direction,
    )
    _check_version_rules(question.version)
