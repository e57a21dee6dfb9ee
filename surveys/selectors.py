"""Reads: the structure of a version in a fixed number of queries, scoped lists."""

from __future__ import annotations

import copy as _copy
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import translation

from onco_hdf import permissions as core
from surveys import rules
from surveys.answers import option_codes, option_labels, row_value, token
from surveys.models import (
    Answer,
    Campaign,
    Invitation,
    Question,
    Questionnaire,
    QuestionnaireVersion,
    Response,
    ResponseStatus,
    Section,
    VersionStatus,
    instance_code,
)


@dataclass
class Block:
    """One instance of a repeated section: its choice and its questions for that choice."""

    choice: str
    label: str
    questions: list[Question]


def _instantiate(
    question: Question, source: Question, choice: str, label: str, local: set[str]
) -> Question:
    """A copy of ``question`` for one choice; never saved (its pk is the template's)."""
    copy = _copy.copy(question)
    copy.template = question
    copy.instance = choice
    copy.instance_label = label
    copy.code = instance_code(question.code, choice)
    copy.label = f"{question.label} — {label}"
    if question.label_en:
        copy.label_en = f"{question.label_en} — {label}"
    copy.show_if = rules.block_rule(question.show_if, local, source.code, choice, instance_code)
    return copy


@dataclass
class Structure:
    """A version's sections and questions, loaded once (3 queries whatever their number).

    With ``expand``, a repeated section's questions are replaced by one copy per choice of
    the question it repeats for (code ``CODE__CHOICE``, shown only when that choice is
    ticked): every reader (page, results, exports) then sees one variable per choice. The
    builder reads the sections as written (``expand=False``)."""

    version: QuestionnaireVersion
    sections: list[Section]
    questions: list[Question] = field(default_factory=list)
    by_code: dict[str, Question] = field(default_factory=dict)
    by_slot: dict[tuple[int, str], Question] = field(default_factory=dict)
    expand: bool = True

    def __post_init__(self) -> None:
        by_pk: dict[int, Question] = {}
        for section in self.sections:
            section.template_list = list(section.questions.all())
            section.question_list = section.template_list
            section.blocks = []
            source = by_pk.get(section.repeat_for_id) if self.expand else None
            section.repeat_source = source
            if source is not None:
                labels = option_labels(source)
                local = {q.code for q in section.template_list}
                section.blocks = [
                    Block(
                        choice,
                        labels[choice],
                        [
                            _instantiate(q, source, choice, labels[choice], local)
                            for q in section.template_list
                        ],
                    )
                    for choice in option_codes(source)
                ]
                section.question_list = [q for b in section.blocks for q in b.questions]
            for question in section.template_list:
                by_pk[question.pk] = question
            self.questions.extend(section.question_list)
        self.by_code = {q.code: q for q in self.questions}
        self.by_slot = {slot_of(q): q for q in self.questions}
        self.source_of = {
            q.code: s.repeat_source for s in self.sections if s.blocks for q in s.question_list
        }

    @property
    def rule_list(self) -> list[tuple[str, Any]]:
        return [(q.code, q.show_if) for q in self.questions]

    def section(self, code: str) -> Section | None:
        return next((s for s in self.sections if s.code == code), None)

    def neighbours(self, code: str) -> tuple[Section | None, Section | None]:
        index = next((i for i, s in enumerate(self.sections) if s.code == code), None)
        if index is None:
            return None, None
        previous = self.sections[index - 1] if index > 0 else None
        following = self.sections[index + 1] if index + 1 < len(self.sections) else None
        return previous, following

    def ticked_blocks(self, section: Section, values: dict) -> list[Block]:
        """The blocks of a repeated section whose choice is ticked in ``values``."""
        if not section.blocks:
            return []
        chosen = values.get(section.repeat_source.code) or []
        return [b for b in section.blocks if b.choice in chosen]

    def page_questions(self, section: Section, values: dict) -> list[Question]:
        """The questions a page of ``section`` asks: a repeated section's ticked blocks."""
        if not section.blocks:
            return section.question_list
        return [q for b in self.ticked_blocks(section, values) for q in b.questions]

    def kept_unticked(self, code: str, values: dict) -> bool:
        """A block's answer whose choice was unticked: kept (not counted), never erased."""
        source = self.source_of.get(code)
        if source is None:
            return False
        return self.by_code[code].instance not in (values.get(source.code) or [])


# Published and closed versions are frozen (services refuse every change to them), so their
# structure is built once per process and kept: a filling page and an autosave then spend no
# query and no model building on it. The key carries the status and the publication date,
# so a status change (or a re-publication) is a new entry; each ``expand`` variant is built
# from its own query (a Structure sets attributes on its sections). Drafts, which the builder
# edits, are always read fresh. Saving or deleting a version, section, question or choice in
# this process empties the store (tests, shell), and so does ``structure_cache_clear()``.
# Callers read a kept structure; they never change it.
_STRUCTURE_CACHE: OrderedDict[tuple, Structure] = OrderedDict()
_STRUCTURE_CACHE_SIZE = 32
_STRUCTURE_LOCK = threading.Lock()


def structure_cache_clear(**_signal_kwargs) -> None:
    with _STRUCTURE_LOCK:
        _STRUCTURE_CACHE.clear()


def _build_structure(version: QuestionnaireVersion, expand: bool) -> Structure:
    sections = list(
        Section.objects.filter(version=version, deleted_at__isnull=True)
        .select_related("repeat_for")
        .order_by("order", "pk")
        .prefetch_related(
            Prefetch(
                "questions",
                queryset=Question.objects.filter(deleted_at__isnull=True)
                .order_by("order", "pk")
                .prefetch_related("choices"),
            )
        )
    )
    return Structure(version=version, sections=sections, expand=expand)


def version_structure(version: QuestionnaireVersion, *, expand: bool = True) -> Structure:
    if version.status == VersionStatus.DRAFT or version.pk is None:
        return _build_structure(version, expand)
    # Per language too: a repeated section's blocks carry their choice's label in it.
    key = (version.pk, version.status, version.published_at, expand, translation.get_language())
    with _STRUCTURE_LOCK:
        kept = _STRUCTURE_CACHE.get(key)
        if kept is not None:
            _STRUCTURE_CACHE.move_to_end(key)
    if kept is None:
        kept = _build_structure(version, expand)
        with _STRUCTURE_LOCK:
            _STRUCTURE_CACHE[key] = kept
            while len(_STRUCTURE_CACHE) > _STRUCTURE_CACHE_SIZE:
                _STRUCTURE_CACHE.popitem(last=False)
    structure = _copy.copy(kept)  # the caller's own version object, the kept parts shared
    structure.version = version
    return structure


def slot_of(question: Question) -> tuple[int, str]:
    """The key of a question's answer row: ``(question id, choice of its block or "")``."""
    return question.pk, question.instance


@dataclass
class Bin:
    """What was deleted from a draft and can still be restored."""

    sections: list[Section]
    questions: list[Question]

    def __len__(self) -> int:
        return len(self.sections) + len(self.questions)


def version_bin(version: QuestionnaireVersion) -> Bin:
    sections = list(
        Section.objects.filter(version=version, deleted_at__isnull=False)
        .annotate(question_count=Count("questions", filter=Q(questions__deleted_at__isnull=True)))
        .order_by("-deleted_at")
    )
    questions = list(
        Question.objects.filter(
            version=version, deleted_at__isnull=False, section__deleted_at__isnull=True
        )
        .select_related("section")
        .order_by("-deleted_at")
    )
    return Bin(sections=sections, questions=questions)


def response_values(response: Response, structure: Structure) -> tuple[dict, dict]:
    """The stored answers as ``(values, other_texts)`` keyed by question code (one query)."""
    values: dict[str, Any] = {}
    others: dict[str, str] = {}
    for answer in Answer.objects.filter(response=response):
        question = structure.by_slot.get((answer.question_id, answer.instance))
        if question is None:
            continue
        values[question.code] = row_value(question, answer)
        if answer.other_text:
            others[question.code] = answer.other_text
    return values, others


def answer_tokens(response: Response, structure: Structure) -> dict[str, str]:
    """``{code: token}`` of every question (one query), for the co-filling check."""
    rows = {(a.question_id, a.instance): a for a in Answer.objects.filter(response=response)}
    return {q.code: token(q, rows.get(slot_of(q))) for q in structure.questions}


def responses_values(responses: list[Response], structure: Structure) -> dict[int, tuple]:
    """``{response id: (values, others)}`` for many responses in one query."""
    result: dict[int, tuple[dict, dict]] = {r.pk: ({}, {}) for r in responses}
    answers = Answer.objects.filter(response__in=[r.pk for r in responses]).only(
        "response_id",
        "question_id",
        "instance",
        "value_text",
        "value_number",
        "value_date",
        "value_json",
        "other_text",
    )
    for answer in answers.iterator(chunk_size=2000):
        question = structure.by_slot.get((answer.question_id, answer.instance))
        if question is None:
            continue
        values, others = result[answer.response_id]
        values[question.code] = row_value(question, answer)
        if answer.other_text:
            others[question.code] = answer.other_text
    return result


# --- Scoped lists ---------------------------------------------------------------------
def questionnaire_list_for_user(user) -> QuerySet[Questionnaire]:
    if not core.is_regional_reader(user):
        return Questionnaire.objects.none()
    return Questionnaire.objects.prefetch_related("versions")


def version_get_for_user(user, pk: int) -> QuestionnaireVersion:
    return get_object_or_404(
        QuestionnaireVersion.objects.select_related("questionnaire").filter(
            questionnaire__in=questionnaire_list_for_user(user)
        ),
        pk=pk,
    )


def campaign_list_for_user(user) -> QuerySet[Campaign]:
    campaigns = Campaign.objects.select_related("version", "version__questionnaire")
    if core.is_regional_reader(user):
        return campaigns
    centre_ids = core.centre_ids_for(user)
    return campaigns.filter(
        Q(centres__in=centre_ids) | Q(invitations__centre__in=centre_ids)
    ).distinct()


def campaign_get_for_user(user, pk: int) -> Campaign:
    return get_object_or_404(campaign_list_for_user(user), pk=pk)


def response_list_for_user(user) -> QuerySet[Response]:
    return core.scope_to_user(
        Response.objects.select_related("campaign", "centre", "respondent"), user
    )


def response_get_for_user(user, pk: int) -> Response:
    return get_object_or_404(response_list_for_user(user), pk=pk)


def submitted_responses(campaign: Campaign) -> QuerySet[Response]:
    return campaign.responses.filter(status=ResponseStatus.SUBMITTED).select_related("centre")


def invitation_list(campaign: Campaign) -> QuerySet[Invitation]:
    return campaign.invitations.select_related("centre").order_by("centre__name", "email")


REPORT_KEYS = ("surveys.report", "surveys.report_docx")


def report_job_list_for_user(user, campaign, limit: int = 6):
    """The latest survey report jobs (PDF, Word) of this campaign the user may open."""
    from onco_hdf.models import Job
    from onco_hdf.permissions import is_project_manager

    jobs = Job.objects.filter(
        kind="report", params__report__in=REPORT_KEYS, params__p_campaign=str(campaign.pk)
    )
    if not is_project_manager(user):
        jobs = jobs.filter(created_by=user)
    return list(jobs.order_by("-created_at", "-pk")[:limit])
