"""Writes: versioning, the builder, campaigns, invitations, autosave, submission, reopening.

Every service runs in a transaction and raises :class:`SurveyError` (a ValidationError with
a French message for the user) when the action is not allowed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import smtplib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from onco_hdf import governance, workflow
from onco_hdf.history import history_by
from onco_hdf.models import Centre, Membership, Role
from surveys import answers, rules
from surveys.interop.expressions import Translator, Unsupported, resolver
from surveys.models import (
    CHOICE_CODE_RE,
    CHOICE_TYPES,
    CODE_RE,
    EDITABLE_STATUSES,
    MATRIX_TYPES,
    NA_CODE,
    NUMERIC_TYPES,
    OTHER_CODE,
    OTHER_TYPES,
    PIPE_RE,
    Answer,
    AnswerChange,
    Campaign,
    Choice,
    ChoiceKind,
    Invitation,
    Question,
    Questionnaire,
    QuestionnaireVersion,
    QuestionType,
    Reminder,
    ReminderKind,
    Response,
    ResponseStatus,
    ResponseTransition,
    ResponseUnit,
    Section,
    VersionStatus,
    VersionTransition,
)
from surveys.selectors import Structure, response_values, slot_of, version_structure

logger = logging.getLogger(__name__)

JSON_FORMAT = "onco-hdf-questionnaire"
# Pseudo question code of cross-tabulations: the sector of the centre.
SECTOR = "SECTOR"
INVITATION_DAYS = 60


class SurveyError(ValidationError):
    """An action the user may not do now; the message says why, in French."""


# --- Questionnaire as a dict (JSON import/export, new versions, seeding) ---------------
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


def _fail(message: str, field: str | None = None) -> None:
    """Refuse with ``message``; ``field`` names the form field it is about, if any."""
    error = SurveyError(message)
    error.field = field
    raise error


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


def _replace_choices(question: Question, options: list, rows: list, **labels_and_flags) -> None:
    question.choices.all().delete()
    Choice.objects.bulk_create(_choice_rows(question, options, rows, **labels_and_flags))


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


def _lock_version(version: QuestionnaireVersion) -> QuestionnaireVersion:
    return QuestionnaireVersion.objects.select_for_update().get(pk=version.pk)


def _ensure_draft(version: QuestionnaireVersion) -> None:
    if version.status != VersionStatus.DRAFT:
        _fail(_("This version is published and frozen: create a new version to change it."))


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


# --- Builder --------------------------------------------------------------------------
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


# --- Campaigns and invitations --------------------------------------------------------
@transaction.atomic
def campaign_save(*, campaign: Campaign, centres, user=None) -> Campaign:
    if campaign.version.status != VersionStatus.PUBLISHED:
        _fail(_("A campaign uses a published version of the questionnaire."))
    if campaign.closes_on < campaign.opens_on:
        _fail(_("The closing date is before the opening date."))
    structure_codes = set(campaign.version.sections.values_list("code", flat=True))
    campaign.section_roles = {
        k: v
        for k, v in (campaign.section_roles or {}).items()
        if k in structure_codes and v in Role.values
    }
    if campaign.pk is not None:
        stored = Campaign.objects.filter(pk=campaign.pk).values_list("unit", flat=True).first()
        if stored != campaign.unit and Response.objects.filter(campaign=campaign).exists():
            _fail(
                _(
                    "The unit of response cannot change: responses exist already (they would "
                    "no longer match a centre or a person)."
                )
            )
    if campaign.pk is None:
        campaign.created_by = user
    campaign.save()
    campaign.centres.set(centres)
    return campaign


@transaction.atomic
def campaign_close(*, campaign: Campaign, user) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.closed_at is None:
        campaign.closed_at = timezone.now()
        campaign.save(update_fields=["closed_at"])
    return campaign


@transaction.atomic
def campaign_report_update(
    *,
    campaign: Campaign,
    introduction: str,
    conclusions: str,
    cross_tabs: list,
    text_themes: list | None = None,
) -> Campaign:
    types = dict(campaign.version.questions.values_list("code", "type"))
    # One answer (or a set of options) per respondent: a matrix or a ranking cannot be
    # crossed with the centre's sector in any meaningful way.
    allowed = {QuestionType.SINGLE, QuestionType.MULTIPLE, QuestionType.LIKERT}
    allowed |= {QuestionType.YES_NO}
    for pair in cross_tabs:
        unknown = [c for c in pair if c != SECTOR and c not in types]
        if len(pair) != 2 or unknown:
            _fail(_("A cross-tabulation names a question code that does not exist."))
        for code in pair:
            if code != SECTOR and types[code] not in allowed:
                _fail(
                    _("The cross-tabulation uses %(code)s, which is not a choice question.")
                    % {"code": code}
                )
    # Markdown source, as typed: it is sanitised each time it is rendered (surveys.richtext).
    campaign.introduction = introduction.strip()
    campaign.conclusions = conclusions.strip()
    campaign.cross_tabs = [list(p) for p in cross_tabs]
    fields = ["introduction", "conclusions", "cross_tabs"]
    if text_themes is not None:
        campaign.text_themes = text_themes
        fields.append("text_themes")
    campaign.save(update_fields=fields)
    return campaign


def invitation_token(invitation: Invitation) -> str:
    """The link's token, derived from a secret so a leaked database reveals no link."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(),
        f"surveys.invitation:{invitation.nonce}".encode(),
        hashlib.sha256,
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(invitation: Invitation) -> str:
    path = reverse("surveys:token-start", args=[invitation_token(invitation)])
    return settings.SITE_URL.rstrip("/") + path


@transaction.atomic
def invitation_create(
    *,
    campaign: Campaign,
    centre: Centre,
    email: str,
    name: str = "",
    role: str = "",
    days: int = INVITATION_DAYS,
    send: bool = True,
    is_demo: bool = False,
) -> Invitation:
    if not campaign.centres.filter(pk=centre.pk).exists():
        campaign.centres.add(centre)
    existing = campaign.invitations.filter(
        centre=centre, email__iexact=email, revoked_at__isnull=True
    ).first()
    if existing is not None:
        return existing
    nonce = secrets.token_hex(16)
    invitation = Invitation(
        campaign=campaign,
        centre=centre,
        email=email,
        name=name,
        role=role,
        nonce=nonce,
        expires_at=timezone.now() + timedelta(days=days),
        is_demo=is_demo,
    )
    invitation.token_hash = token_hash(invitation_token(invitation))
    invitation.save()
    if send:
        transaction.on_commit(lambda: invitation_send(invitation=invitation))
    return invitation


@transaction.atomic
def campaign_invite(*, campaign: Campaign, targets: list[tuple], days: int) -> tuple[int, int]:
    """Invite ``(centre, email, name, role)`` targets; returns (created, already invited)."""
    created = existing = 0
    seen: set[tuple] = set()
    for centre, email, name, role in targets:
        key = (centre.pk, email.lower())
        already = (
            key in seen
            or campaign.invitations.filter(
                centre=centre, email__iexact=email, revoked_at__isnull=True
            ).exists()
        )
        seen.add(key)
        if already:
            existing += 1
            continue
        invitation_create(
            campaign=campaign, centre=centre, email=email, name=name, role=role, days=days
        )
        created += 1
    return created, existing


def _send(invitation: Invitation, template: str) -> bool:
    """Send one e-mail; a refused delivery is logged and reported as False (never a 500)."""
    context = {
        "invitation": invitation,
        "campaign": invitation.campaign,
        "url": invitation_url(invitation),
        "centre": invitation.centre,
    }
    with translation.override("fr"):
        subject = render_to_string(f"surveys/email/{template}_subject.txt", context).strip()
        body = render_to_string(f"surveys/email/{template}_body.txt", context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])
    except (smtplib.SMTPException, OSError):
        logger.exception("Survey e-mail to invitation %s not delivered", invitation.pk)
        return False
    return True


def invitation_send(*, invitation: Invitation) -> bool:
    """Send the invitation e-mail; ``sent_at`` is set only when the server accepted it."""
    if not _send(invitation, "invitation"):
        return False
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now())
    return True


def invitation_resolve(token: str) -> Invitation:
    """The valid invitation behind a token, or SurveyError (unknown, revoked, expired)."""
    if not token or len(token) > 100:
        _fail(_("This invitation link is not valid. Check that you copied the whole link."))
    invitation = (
        Invitation.objects.select_related("campaign", "campaign__version", "centre")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if invitation is None:
        _fail(_("This invitation link is not valid. Check that you copied the whole link."))
    if invitation.revoked_at is not None:
        _fail(
            _(
                "This invitation link has been revoked: it no longer opens the survey. Ask the "
                "project manager for a new link if you still have to answer."
            )
        )
    if invitation.expires_at < timezone.now():
        _fail(_("This invitation link has expired. Ask the project manager for a new one."))
    if invitation.opened_at is None:
        Invitation.objects.filter(pk=invitation.pk).update(opened_at=timezone.now())
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, user) -> Invitation:
    """Disable an invitation link at once; the change is kept in the invitation's history."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.revoked_at is not None:
        _fail(_("This invitation was already revoked."))
    invitation.revoked_at = timezone.now()
    invitation._history_user = user
    invitation.save(update_fields=["revoked_at"])
    return invitation


@transaction.atomic
def invitation_reissue(
    *, invitation: Invitation, user, days: int = INVITATION_DAYS, send: bool = True
) -> Invitation:
    """A new link (new token) for the same person and centre as a revoked invitation."""
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("campaign", "centre")
        .get(pk=invitation.pk)
    )
    if invitation.revoked_at is None:
        _fail(_("Only a revoked invitation can be issued again."))
    if invitation.campaign.closed_at is not None:
        _fail(_("The campaign is closed: no new invitation can be issued."))
    new = invitation_create(
        campaign=invitation.campaign,
        centre=invitation.centre,
        email=invitation.email,
        name=invitation.name,
        role=invitation.role,
        days=days,
        send=send,
        is_demo=invitation.is_demo,
    )
    return new


def invitations_to_remind(campaign: Campaign) -> list[Invitation]:
    now = timezone.now()
    pending = []
    statuses = dict(campaign.responses.values_list("unit_key", "status"))
    for invitation in campaign.invitations.select_related("centre").filter(
        revoked_at__isnull=True, expires_at__gt=now
    ):
        if (
            statuses.get(unit_key(campaign, invitation.centre, invitation=invitation))
            != ResponseStatus.SUBMITTED
        ):
            pending.append(invitation)
    return pending


@transaction.atomic
def campaign_remind(*, campaign: Campaign, kind: str = ReminderKind.MANUAL, user=None) -> int:
    """E-mail every invitee whose response is not submitted; returns how many were sent."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if not campaign.is_open():
        _fail(_("The campaign is not open: no reminder was sent."))
    sent = [i.pk for i in invitations_to_remind(campaign) if _send(i, "reminder")]
    Invitation.objects.filter(pk__in=sent).update(
        last_reminded_at=timezone.now(), reminder_count=F("reminder_count") + 1
    )
    Reminder.objects.create(campaign=campaign, kind=kind, sent_count=len(sent), by=user)
    return len(sent)


def scheduled_reminders_send(*, today=None) -> int:
    """Remind the open campaigns whose last reminder (or opening) is old enough."""
    today = today or timezone.localdate()
    sent = 0
    for campaign in Campaign.objects.filter(
        closed_at__isnull=True, opens_on__lte=today, closes_on__gte=today, reminder_every_days__gt=0
    ):
        last = campaign.reminders.order_by("-sent_at").first()
        since = timezone.localdate(last.sent_at) if last else campaign.opens_on
        if (today - since).days >= campaign.reminder_every_days:
            sent += campaign_remind(campaign=campaign, kind=ReminderKind.SCHEDULED)
    return sent


# --- Responses ------------------------------------------------------------------------
@dataclass
class Actor:
    """Who is answering: a logged-in member or the holder of an invitation link."""

    label: str
    user: Any = None
    invitation: Invitation | None = None
    roles: frozenset = frozenset()

    @classmethod
    def for_user(cls, user, centre: Centre) -> Actor:
        roles = frozenset(
            Membership.objects.filter(user=user, centre=centre).values_list("role", flat=True)
        )
        return cls(label=user.get_full_name() or user.username, user=user, roles=roles)

    @classmethod
    def for_invitation(cls, invitation: Invitation) -> Actor:
        roles = frozenset({invitation.role}) if invitation.role else frozenset()
        who = f"{invitation.name} ({invitation.email})" if invitation.name else invitation.email
        return cls(
            label=_("%(who)s, invitation link") % {"who": who},
            invitation=invitation,
            roles=roles,
        )

    def history(self):
        """Record history rows written meanwhile name a token's invitee (who has no account)."""
        return history_by(self.label if self.invitation is not None else "")

    @property
    def key(self) -> str:
        if self.invitation is not None:
            return f"invitation:{self.invitation.pk}"
        return f"user:{getattr(self.user, 'pk', '')}"

    def may_edit_section(self, campaign: Campaign, section_code: str) -> bool:
        assigned = campaign.role_for_section(section_code)
        if not assigned or (self.invitation is not None and not self.roles):
            return True
        return assigned in self.roles or Role.REFERENT in self.roles


def unit_key(campaign: Campaign, centre: Centre, *, user=None, invitation=None) -> str:
    if campaign.unit == ResponseUnit.CENTRE:
        return f"centre:{centre.pk}"
    if invitation is not None:
        return f"person:{invitation.email.lower()}"
    return f"person:{(user.email or user.username).lower()}"


def response_open(
    *, campaign: Campaign, centre: Centre, actor: Actor, is_demo: bool = False
) -> Response:
    """The response this actor fills for the campaign (created on the first visit)."""
    key = unit_key(campaign, centre, user=actor.user, invitation=actor.invitation)
    try:
        with actor.history():
            response, created = Response.objects.get_or_create(
                campaign=campaign,
                unit_key=key,
                defaults={
                    "centre": centre,
                    "respondent": actor.user,
                    "invitation": actor.invitation,
                    "is_demo": is_demo,
                },
            )
    except IntegrityError:
        response, created = Response.objects.get(campaign=campaign, unit_key=key), False
    if created:
        ResponseTransition.objects.create(
            response=response, to_status=response.status, actor=actor.user, by_label=actor.label
        )
    return response


def _lock_response(response: Response) -> Response:
    return (
        Response.objects.select_for_update()
        .select_related("campaign", "centre")
        .get(pk=response.pk)
    )


def _ensure_can_write(response: Response) -> None:
    if response.status not in EDITABLE_STATUSES:
        _fail(
            _(
                "This response has been submitted: it can no longer be changed. Contact the "
                "project manager to reopen it."
            )
        )
    if not response.campaign.is_open():
        _fail(_("This campaign is closed: answers can no longer be changed."))


@dataclass
class Conflict:
    """A colleague saved this answer after the page was shown; nothing was overwritten."""

    code: str
    mine: str
    theirs: str
    by: str
    at: Any

    @property
    def message(self) -> str:
        return _(
            "%(by)s saved “%(theirs)s” on %(at)s, after this page was opened. Your value "
            "“%(mine)s” is not saved: keep yours or take theirs."
        ) % {
            "by": self.by or _("Another person"),
            "theirs": self.theirs or _("(no answer)"),
            "mine": self.mine or _("(no answer)"),
            "at": timezone.localtime(self.at).strftime("%d/%m/%Y %H:%M"),
        }


@dataclass
class SaveResult:
    parsed: dict[str, answers.Parsed]
    errors: dict[str, str]
    dropped: list[str]
    conflicts: dict[str, Conflict] = field(default_factory=dict)
    # Base tokens of the page's questions after the save (conflicting ones left out).
    tokens: dict[str, str] = field(default_factory=dict)


def _concurrent_edits(
    data, page: list[Question], new_values: dict, others: dict, existing: dict, actor
) -> tuple[dict[str, Conflict], list[str]]:
    """Compare what the page posted with the base it was shown (``v-<CODE>`` fields).

    Returns the conflicts (changed here and, meanwhile, by someone else) and the answers the
    page left untouched while someone else changed them (kept as they are now)."""
    conflicts: dict[str, Conflict] = {}
    untouched: list[str] = []
    keep_theirs = set(data.getlist("keep_theirs")) if hasattr(data, "getlist") else set()
    for question in page:
        code = question.code
        base = data.get(f"v-{code}")
        if code not in new_values or base is None:
            continue
        if code in keep_theirs:
            untouched.append(code)
            continue
        current = existing.get(slot_of(question))
        if answers.token(question, current) == base:
            continue  # nobody saved it since the page was shown
        mine = answers.digest(new_values[code], others.get(code, "") if new_values[code] else "")
        if mine == base.partition(".")[2]:
            untouched.append(code)
            continue
        if current is None or current.updated_by_key == actor.key:
            continue  # cleared meanwhile, or one's own earlier save
        theirs_value = answers.row_value(question, current)
        if mine == answers.digest(theirs_value, current.other_text):
            continue
        conflicts[code] = Conflict(
            code=code,
            mine=answers.display(question, new_values[code], others.get(code, "")),
            theirs=answers.display(question, theirs_value, current.other_text),
            by=current.updated_by_label,
            at=current.updated_at,
        )
    return conflicts, untouched


@transaction.atomic
def response_save_section(
    *, response: Response, section_code: str, data, actor: Actor, structure: Structure | None = None
) -> SaveResult:
    """Autosave one page: keep the valid answers, report the invalid ones, drop the hidden."""
    response = _lock_response(response)
    _ensure_can_write(response)
    structure = structure or version_structure(response.campaign.version)
    section = structure.section(section_code)
    if section is None:
        _fail(_("This section does not exist."))
    if not actor.may_edit_section(response.campaign, section.code):
        _fail(_("This section is filled by another role of your centre; you can read it."))
    values, others = response_values(response, structure)
    page = structure.page_questions(section, values)
    parsed = {q.code: answers.parse(q, data) for q in page if q.type != QuestionType.CALCULATED}
    merged = dict(values)
    for code, result in parsed.items():
        if not result.error:
            merged[code] = result.value
            others[code] = result.other
    visible = rules.visible_codes(structure.rule_list, merged)
    # Calculated fields follow their inputs, wherever these are; a rule may use their value.
    computed = answers.calculated(structure.questions, merged, visible)
    merged.update(computed)
    visible = rules.visible_codes(structure.rule_list, merged)
    errors = {code: r.error for code, r in parsed.items() if r.error and code in visible}
    new_values = {
        code: merged.get(code) for code in parsed if code in visible and code not in errors
    }
    dropped = [
        code
        for code, value in values.items()
        if code not in visible and value is not None and not structure.kept_unticked(code, merged)
    ]
    existing = {(a.question_id, a.instance): a for a in Answer.objects.filter(response=response)}
    conflicts, untouched = _concurrent_edits(data, page, new_values, others, existing, actor)
    for code in conflicts:
        new_values.pop(code)  # still shown as typed, next to the colleague's value
    for code in untouched:
        new_values.pop(code)
        parsed.pop(code)  # shown again as stored now
    new_values.update({code: value for code, value in computed.items() if code in visible})
    _write_answers(response, structure, new_values, others, dropped, actor, existing)
    response.last_section = section.code
    with actor.history():
        response.save(update_fields=["last_section", "updated_at"])
    rows = {(a.question_id, a.instance): a for a in Answer.objects.filter(response=response)}
    tokens = {
        f"v-{q.code}": answers.token(q, rows.get(slot_of(q)))
        for q in page
        if q.code not in conflicts
    }
    return SaveResult(
        parsed=parsed, errors=errors, dropped=dropped, conflicts=conflicts, tokens=tokens
    )


def _write_answers(
    response: Response,
    structure: Structure,
    new_values: dict,
    others: dict,
    dropped: list[str],
    actor: Actor,
    existing: dict,
) -> None:
    to_delete = [slot_of(structure.by_code[c]) for c in dropped]
    to_create, to_update = [], []
    changes: list[AnswerChange] = []

    def record(question: Question, old: Answer | None, value: Any, other: str) -> None:
        old_value = answers.row_value(question, old) if old is not None else None
        old_other = old.other_text if old is not None else ""
        changes.append(
            AnswerChange(
                response=response,
                question=question,
                instance=question.instance,
                old_value=answers.json_value(old_value),
                new_value=answers.json_value(value),
                old_display=answers.display(question, old_value, old_other),
                new_display=answers.display(question, value, other),
                by=actor.user,
                invitation=actor.invitation,
                by_label=actor.label,
            )
        )

    columns = ["value_text", "value_number", "value_date", "value_json", "other_text"]
    for code, value in new_values.items():
        question = structure.by_code[code]
        slot = slot_of(question)
        if value in (None, "", [], {}):
            if slot in existing and slot not in to_delete:
                record(question, existing[slot], None, "")
            to_delete.append(slot)
            continue
        fields = answers.row_fields(question, value, others.get(code, ""))
        current = existing.get(slot)
        if current is None or any(getattr(current, k) != v for k, v in fields.items()):
            record(question, current, value, others.get(code, ""))
        if current is None:
            to_create.append(
                Answer(
                    response=response,
                    question=question,
                    instance=question.instance,
                    updated_by_label=actor.label,
                    updated_by_key=actor.key,
                    **fields,
                )
            )
        elif any(getattr(current, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(current, k, v)
            current.updated_by_label = actor.label
            current.updated_by_key = actor.key
            current.updated_at = timezone.now()
            current.version += 1
            to_update.append(current)
    for code in dropped:
        question = structure.by_code[code]
        if slot_of(question) in existing:
            record(question, existing[slot_of(question)], None, "")
    if to_delete:
        doomed = Q()
        for question_id, instance in to_delete:
            doomed |= Q(question_id=question_id, instance=instance)
        Answer.objects.filter(doomed, response=response).delete()
    if to_create:
        Answer.objects.bulk_create(to_create)
    if to_update:
        Answer.objects.bulk_update(
            to_update, [*columns, "updated_by_label", "updated_by_key", "updated_at", "version"]
        )
    if changes:
        AnswerChange.objects.bulk_create(changes)


@dataclass
class Problem:
    code: str
    section: str
    label: str
    message: str


def response_problems(response: Response, structure: Structure) -> list[Problem]:
    """What prevents submission: unanswered required visible questions."""
    values, others = response_values(response, structure)
    visible = rules.visible_codes(structure.rule_list, values)
    displays = {
        code: answers.display(structure.by_code[code], value, others.get(code, ""))
        for code, value in values.items()
        if code in structure.by_code
    }
    problems = []
    for section in structure.sections:
        for question in section.question_list:
            if (
                question.code in visible
                and question.required
                and not answers.is_complete(question, values.get(question.code))
            ):
                message = answers.missing_message(question, values.get(question.code))
                label = str(answers.pipe(question.display_label, displays))
                problems.append(Problem(question.code, section.code, label, message))
    return problems


def response_snapshot(response: Response, structure: Structure) -> dict:
    values, others = response_values(response, structure)
    visible = rules.visible_codes(structure.rule_list, values)
    # The record is in the questionnaire's main language, whatever the respondent's page.
    with translation.override(settings.LANGUAGE_CODE):
        return _snapshot(response, structure, values, others, visible)


def _snapshot(response, structure, values, others, visible) -> dict:
    return {
        "questionnaire": structure.version.questionnaire.code,
        "version": structure.version.number,
        "campaign": response.campaign.title,
        "centre": response.centre.name,
        "submitted_at": timezone.now().isoformat(),
        "answers": {
            q.code: {
                "value": answers.json_value(values[q.code]),
                "other": others.get(q.code, ""),
                "display": answers.display(q, values[q.code], others.get(q.code, "")),
            }
            for q in structure.questions
            if q.code in values and q.code in visible
        },
    }


class AlreadySubmitted(SurveyError):
    pass


def _response_move(*, response: Response, user, by_label: str, **kwargs) -> Response:
    """Move a response through the shared workflow (locked, recorded who/when/from/to)."""
    moved, _record = workflow.transition(
        queryset=Response.objects.select_related("campaign", "centre"),
        pk=response.pk,
        actor=user,
        record_model=ResponseTransition,
        subject_field="response",
        record_fields={"by_label": by_label},
        **kwargs,
    )
    return moved


@transaction.atomic
def response_submit(*, response: Response, actor: Actor, notify: bool = True) -> Response:
    def check(locked: Response) -> None:
        _ensure_can_write(locked)
        structure = version_structure(locked.campaign.version)
        problems = response_problems(locked, structure)
        if problems:
            _fail(
                _("%(count)d required question(s) are not answered yet.") % {"count": len(problems)}
            )
        locked.snapshot = response_snapshot(locked, structure)
        locked.submitted_at = timezone.now()

    with actor.history():
        response = _response_move(
            response=response,
            user=actor.user,
            by_label=actor.label,
            to_status=ResponseStatus.SUBMITTED,
            allowed_from=EDITABLE_STATUSES,
            check=check,
            update_fields=["snapshot", "submitted_at", "updated_at"],
            # The only other status is "submitted": a second click records nothing more.
            forbidden=lambda _response: _(
                "This response had already been submitted: it is recorded once, nothing was lost."
            ),
            error=AlreadySubmitted,
        )
    recipient = actor.invitation.email if actor.invitation else getattr(actor.user, "email", "")
    if recipient and notify:
        # In the language the respondent filled in (the page's language switch).
        language = translation.get_language() or settings.LANGUAGE_CODE
        transaction.on_commit(
            lambda: response_receipt_send(response=response, to=recipient, language=language)
        )
    return response


def response_receipt_send(*, response: Response, to: str, language: str = "fr") -> bool:
    """The receipt e-mail after submission; a refused delivery is logged, never a 500."""
    context = {
        "response": response,
        "campaign": response.campaign,
        "submitted_at": timezone.localtime(response.submitted_at).strftime("%d/%m/%Y %H:%M"),
        "answered": len((response.snapshot or {}).get("answers", {})),
    }
    with translation.override(language):
        subject = render_to_string("surveys/email/receipt_subject.txt", context).strip()
        body = render_to_string("surveys/email/receipt_body.txt", context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
    except (smtplib.SMTPException, OSError):
        logger.exception("Receipt of survey response %s not delivered", response.pk)
        return False
    return True


@transaction.atomic
def response_reopen(*, response: Response, user, comment: str = "") -> Response:
    return _response_move(
        response=response,
        user=user,
        by_label=user.get_full_name() or user.username,
        to_status=ResponseStatus.REOPENED,
        allowed_from=[ResponseStatus.SUBMITTED],
        comment=comment,
        update_fields=["updated_at"],
        forbidden=lambda _response: _("Only a submitted response can be reopened."),
        error=SurveyError,
    )
