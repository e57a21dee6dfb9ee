"""Questionnaires and their versions: the JSON dict (export, validation, import),
creation, and the version workflow (publish, new draft, close) and texts."""

from __future__ import annotations

import re
import secrets
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from onco_hdf import governance, workflow
from surveys.models import (
    CODE_RE,
    MATRIX_TYPES,
    OTHER_TYPES,
    Choice,
    ChoiceKind,
    Question,
    Questionnaire,
    QuestionnaireVersion,
    QuestionType,
    Section,
    VersionStatus,
    VersionTransition,
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
    _number_or_none,
    _repeat_source,
    _text_length,
)
from surveys.services.common import SurveyError, _ensure_draft, _fail, _lock_version

JSON_FORMAT = "onco-hdf-questionnaire"

# Texts a questionnaire may carry in English beside the French (``<name>_en`` keys).
VERSION_TEXTS = ("introduction_en", "end_message", "end_message_en")
SECTION_TEXTS = ("title_en", "description_en")


def _filled(values: dict) -> dict:
    return {k: v for k, v in values.items() if v not in (None, "", [], {}, False)}


def version_to_dict(version: QuestionnaireVersion) -> dict:
    structure = version_structure(version, expand=False)
    return {
        "format": JSON_FORMAT,
        "format_version": 1,
        "code": version.questionnaire.code,
        "title": version.title,
        "introduction": version.introduction,
        **_filled({name: getattr(version, name) for name in VERSION_TEXTS}),
        "sections": [
            {
                "code": s.code,
                "title": s.title,
                "description": s.description,
                **_filled({name: getattr(s, name) for name in SECTION_TEXTS}),
                **({"repeat_for": s.repeat_for.code} if s.repeat_for_id else {}),
                "questions": [_question_to_dict(q) for q in s.question_list],
            }
            for s in structure.sections
        ],
    }


def _question_to_dict(q: Question) -> dict:
    data = {
        "code": q.code,
        "type": q.type,
        "label": q.label,
        "required": q.required,
        "options": [[c.code, c.label] for c in q.options()],
    }
    optional = {
        "label_en": q.label_en,
        "help_text": q.help_text,
        "help_text_en": q.help_text_en,
        "min_value": q.min_value,
        "max_value": q.max_value,
        "unit": q.unit,
        "pattern": q.pattern,
        "max_length": q.max_length,
        "max_choices": q.max_choices,
        "allow_other": q.allow_other or None,
        "exclusive": q.exclusive_codes(),
        "not_applicable_label": q.not_applicable_label,
        "not_applicable_label_en": q.not_applicable_label_en,
        "show_if": q.show_if,
        "formula": q.formula if q.type == QuestionType.CALCULATED else None,
        "rows": [[c.code, c.label] for c in q.rows()],
        "options_en": {c.code: c.label_en for c in q.options() if c.label_en},
        "rows_en": {c.code: c.label_en for c in q.rows() if c.label_en},
    }
    data.update(_filled(optional))
    return data


def validate_questionnaire_dict(data: Any) -> None:
    """Check an imported questionnaire fully before anything is written."""

    if not isinstance(data, dict) or data.get("format") != JSON_FORMAT:
        _fail(_("This file is not a questionnaire exported by the platform."))
    if not str(data.get("title", "")).strip():
        _fail(_("The questionnaire has no title."))
    sections = data.get("sections")
    if not isinstance(sections, list) or not sections:
        _fail(_("The questionnaire has no section."))
    section_codes, earlier = set(), []
    for s in sections:
        if not isinstance(s, dict) or not re.fullmatch(CODE_RE, str(s.get("code", ""))):
            _fail(_("A section has no valid code."))
        if s["code"] in section_codes:
            _fail(_("The section code “%(code)s” is used twice.") % {"code": s["code"]})
        section_codes.add(s["code"])
        _text_length(
            s.get("title_en"), 200, _("English title"), _("Section %(code)s") % {"code": s["code"]}
        )
        if not isinstance(s.get("questions", []), list):
            _fail(_("Section %(code)s: the questions must be a list.") % {"code": s["code"]})
        for q in s.get("questions", []):
            code = str(q.get("code", "")) if isinstance(q, dict) else ""
            if not re.fullmatch(CODE_RE, code):
                _fail(_("Section %(code)s: a question has no valid code.") % {"code": s["code"]})
            where = _("Question %(code)s") % {"code": code}
            if code in earlier:
                _fail(_("The question code “%(code)s” is used twice.") % {"code": code})
            if q.get("type") not in QuestionType.values:
                _fail(
                    _("%(where)s: unknown type “%(type)s”.")
                    % {"where": where, "type": str(q.get("type"))[:30]}
                )
            if not str(q.get("label", "")).strip():
                _fail(_("%(where)s: the label is empty.") % {"where": where})
            options = _clean_pairs(q.get("options", []), where)
            rows = _clean_pairs(q.get("rows", []), where)
            _english_labels(q.get("options_en"), options, where)
            _english_labels(q.get("rows_en"), rows, where)
            not_applicable = str(q.get("not_applicable_label") or "")
            if len(not_applicable) > 60:
                _fail(
                    _("%(where)s: the “not applicable” label has 60 characters at most.")
                    % {"where": where}
                )
            _text_length(
                q.get("not_applicable_label_en"), 60, _("English “not applicable” label"), where
            )
            _check_question_shape(q["type"], options, rows, where, not_applicable)
            _check_exclusive(q["type"], q.get("exclusive") or [], options, where)
            _number_or_none(q.get("min_value"), where)
            _number_or_none(q.get("max_value"), where)
            for key in ("max_length", "max_choices"):
                value = q.get(key)
                if value not in (None, "") and (not isinstance(value, int) or value < 1):
                    _fail(
                        _("%(where)s: “%(key)s” must be a positive whole number.")
                        % {"where": where, "key": key}
                    )
            _check_pattern(q.get("pattern", ""), where)
            _check_rule(q.get("show_if"), earlier, where)
            _check_formula(q["type"], q.get("formula"), earlier, where)
            _check_piping([str(q.get("label", "")), str(q.get("label_en", ""))], earlier, where)
            earlier.append(code)


def _fill_version(version: QuestionnaireVersion, data: dict) -> None:
    # Bulk writes: a 200-field REDCap dictionary is a few queries, not three per question.
    sections, questions, choices = [], [], []
    earlier_questions: dict[str, Question] = {}
    links: list[tuple[Section, Question]] = []  # repeated block -> its source question
    for s_index, s in enumerate(data["sections"]):
        section = Section(
            version=version,
            code=s["code"],
            title=str(s.get("title", ""))[:200] or s["code"],
            title_en=str(s.get("title_en") or "")[:200],
            description=str(s.get("description", "")),
            description_en=str(s.get("description_en") or ""),
            order=s_index,
        )
        # The repeated block's source is among the questions listed so far (earlier
        # sections): linked once every row has its primary key.
        source = _repeat_source(version, s.get("repeat_for"), s["code"], earlier=earlier_questions)
        if source is not None:
            links.append((section, source))
        sections.append(section)
        for q_index, q in enumerate(s.get("questions", [])):
            question = Question(
                version=version,
                section=section,
                code=q["code"],
                type=q["type"],
                label=str(q["label"]),
                label_en=str(q.get("label_en", "")),
                help_text=str(q.get("help_text", "")),
                help_text_en=str(q.get("help_text_en") or ""),
                required=bool(q.get("required")),
                order=q_index,
                min_value=_number_or_none(q.get("min_value"), ""),
                max_value=_number_or_none(q.get("max_value"), ""),
                unit=str(q.get("unit", ""))[:30],
                pattern=str(q.get("pattern", ""))[:200],
                max_length=q.get("max_length") or None,
                max_choices=q.get("max_choices") or None,
                allow_other=bool(q.get("allow_other")) and q["type"] in OTHER_TYPES,
                not_applicable_label=str(q.get("not_applicable_label", ""))[:60]
                if q["type"] in MATRIX_TYPES
                else "",
                not_applicable_label_en=str(q.get("not_applicable_label_en") or "")[:60]
                if q["type"] in MATRIX_TYPES
                else "",
                show_if=q.get("show_if") or None,
                formula=q.get("formula") if q["type"] == QuestionType.CALCULATED else None,
            )
            options = _clean_pairs(q.get("options", []), "")
            rows = _clean_pairs(q.get("rows", []), "")
            questions.append(question)
            earlier_questions[question.code] = question
            choices.append(
                _choice_rows(
                    question,
                    options,
                    rows,
                    options_en=_english_labels(q.get("options_en"), options, ""),
                    rows_en=_english_labels(q.get("rows_en"), rows, ""),
                    exclusive=q.get("exclusive") or (),
                )
            )
    # Each bulk_create sets the primary keys that the next one's foreign keys take.
    Section.objects.bulk_create(sections)
    Question.objects.bulk_create(questions)
    Choice.objects.bulk_create([choice for rows in choices for choice in rows])
    for section, source in links:
        section.repeat_for = source
    if links:
        Section.objects.bulk_update([section for section, _source in links], ["repeat_for"])


def _choice_rows(
    question: Question,
    options: list,
    rows: list,
    *,
    options_en: dict[str, str] | None = None,
    rows_en: dict[str, str] | None = None,
    exclusive=(),
) -> list[Choice]:
    exclusive = set(exclusive) if question.type == QuestionType.MULTIPLE else set()
    return [
        Choice(
            question=question,
            kind=kind,
            code=c,
            label=lab,
            label_en=english.get(c, ""),
            order=i,
            exclusive=kind == ChoiceKind.OPTION and c in exclusive,
        )  # fmt: skip
        for kind, pairs, english in (
            (ChoiceKind.OPTION, options, options_en or {}),
            (ChoiceKind.ROW, rows, rows_en or {}),
        )
        for i, (c, lab) in enumerate(pairs)
    ]


@transaction.atomic
def questionnaire_import(*, data: Any, user=None, is_demo: bool = False) -> QuestionnaireVersion:
    """A new draft from a JSON dict: a new questionnaire, or the next version of its code."""
    validate_questionnaire_dict(data)
    code = str(data.get("code") or "").strip()[:60] or f"questionnaire-{secrets.token_hex(3)}"
    questionnaire, _created = Questionnaire.objects.get_or_create(
        code=code, defaults={"title": str(data["title"])[:200], "is_demo": is_demo}
    )
    number = (questionnaire.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = QuestionnaireVersion.objects.create(
        questionnaire=questionnaire,
        number=number,
        title=str(data["title"])[:200],
        introduction=str(data.get("introduction", "")),
        **{name: str(data.get(name) or "") for name in VERSION_TEXTS},
        created_by=user,
    )
    _fill_version(version, data)
    return version


@transaction.atomic
def questionnaire_create(*, title: str, code: str, user) -> QuestionnaireVersion:
    if Questionnaire.objects.filter(code=code).exists():
        _fail(_("A questionnaire with this code already exists."))
    questionnaire = Questionnaire.objects.create(code=code, title=title)
    return QuestionnaireVersion.objects.create(
        questionnaire=questionnaire, number=1, title=title, created_by=user
    )


def _version_move(
    *, version: QuestionnaireVersion, user, to_status: str, allowed_from, message, **kwargs
) -> QuestionnaireVersion:
    """Move a version through the shared workflow (locked, recorded who/when/from/to)."""
    moved, _record = workflow.transition(
        queryset=QuestionnaireVersion.objects.all(),
        pk=version.pk,
        to_status=to_status,
        allowed_from=allowed_from,
        actor=user,
        record_model=VersionTransition,
        subject_field="version",
        forbidden=lambda _version: message,
        error=SurveyError,
        **kwargs,
    )
    return moved


@transaction.atomic
def version_publish(*, version: QuestionnaireVersion, user) -> QuestionnaireVersion:
    def check(locked: QuestionnaireVersion) -> None:
        data = version_to_dict(locked)
        if not any(s["questions"] for s in data["sections"]):
            _fail(_("A questionnaire needs at least one question before it is published."))
        validate_questionnaire_dict(data)
        governance.require_validated(locked, error=SurveyError)
        # A published version is frozen: what is in the bin cannot come back, so it goes.
        Question.objects.filter(version=locked, deleted_at__isnull=False).delete()
        Section.objects.filter(version=locked, deleted_at__isnull=False).delete()
        locked.published_at = timezone.now()

    return _version_move(
        version=version,
        user=user,
        to_status=VersionStatus.PUBLISHED,
        allowed_from=[VersionStatus.DRAFT],
        message=_("This version is published and frozen: create a new version to change it."),
        check=check,
        update_fields=["published_at"],
    )


@transaction.atomic
def version_new_draft(*, version: QuestionnaireVersion, user) -> QuestionnaireVersion:
    """A new draft copying ``version`` (codes kept, so waves stay comparable)."""
    if version.questionnaire.versions.filter(status=VersionStatus.DRAFT).exists():
        _fail(_("A draft of this questionnaire already exists: edit it instead."))
    return questionnaire_import(
        data=version_to_dict(version), user=user, is_demo=version.questionnaire.is_demo
    )


@transaction.atomic
def version_close(*, version: QuestionnaireVersion, user) -> QuestionnaireVersion:
    return _version_move(
        version=version,
        user=user,
        to_status=VersionStatus.CLOSED,
        allowed_from=[VersionStatus.PUBLISHED],
        message=_("Only a published version can be closed."),
    )


@transaction.atomic
def version_update(*, version: QuestionnaireVersion, title: str, introduction: str, **texts):
    """Title, introduction and the ``VERSION_TEXTS`` (English texts, end message)."""
    version = _lock_version(version)
    _ensure_draft(version)
    version.title, version.introduction = title, introduction
    for name in VERSION_TEXTS:
        if name in texts:
            setattr(version, name, texts[name])
    version.save(update_fields=["title", "introduction", *VERSION_TEXTS])
    return version
