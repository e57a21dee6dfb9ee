"""Responses: who answers (Actor), opening, autosave with concurrent edits, problems
before submission, the snapshot, submission with its receipt, and reopening."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from onco_hdf import workflow
from onco_hdf.history import history_by
from onco_hdf.models import Centre, Membership, Role
from surveys import answers, rules
from surveys.models import (
    EDITABLE_STATUSES,
    Answer,
    AnswerChange,
    Campaign,
    Invitation,
    Question,
    QuestionType,
    Response,
    ResponseStatus,
    ResponseTransition,
    ResponseUnit,
)
from surveys.selectors import Structure, response_values, slot_of, version_structure
from surveys.services.common import SurveyError, _fail

logger = logging.getLogger(__name__)


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
