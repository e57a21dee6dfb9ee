"""Questionnaires, their versions, campaigns, invitations and responses.

A questionnaire has numbered versions; a published version is frozen (a change makes a new
draft that copies it). A campaign is one wave of one published version. A response is
either the official response of a centre or the response of one person; each answer is one
typed row per question, and the whole response is frozen as JSON when it is submitted.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from onco_hdf.history import HistoryByLabel
from onco_hdf.models import Centre, Role
from onco_hdf.workflow import TransitionRecord

CODE_RE = r"^[A-Za-z][A-Za-z0-9_]{0,39}$"
code_validator = RegexValidator(
    CODE_RE,
    _("A code starts with a letter and has only letters, digits and underscores (40 at most)."),
)
CHOICE_CODE_RE = r"^[A-Za-z0-9_]{1,40}$"
choice_code_validator = RegexValidator(
    CHOICE_CODE_RE, _("A choice code has only letters, digits and underscores (40 at most).")
)
# "{{CODE}}" in a label inserts the answer to an earlier question (piping).
PIPE_RE = re.compile(r"\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}")
# Reserved choice code of the "other, please specify" option.
OTHER_CODE = "other"
# Reserved column code of a matrix's per-row "not applicable" column.
NA_CODE = "na"
# Joins a repeated block's question code and a choice code: B3_HOSTING__elekta.
INSTANCE_SEP = "__"


def instance_code(code: str, choice: str) -> str:
    """The variable of one question of a repeated block for one choice."""
    return f"{code}{INSTANCE_SEP}{choice}"


class InLanguage:
    """A text in the reader's language: its ``<name>_en`` twin on an English page when it
    is filled, else the French ``<name>`` (French is the questionnaire's main language)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        english = getattr(obj, f"{self.name}_en", "")
        if english and (get_language() or "").startswith("en"):
            return english
        return getattr(obj, self.name)


def pipe_placeholder(code: str) -> str:
    return gettext("(answer to %(code)s)") % {"code": code}


class Questionnaire(models.Model):
    code = models.SlugField(_("code"), max_length=60, unique=True)
    title = models.CharField(_("title"), max_length=200)
    is_demo = models.BooleanField(_("demo data"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["title"]
        verbose_name = _("questionnaire")
        verbose_name_plural = _("questionnaires")

    def __str__(self) -> str:
        return self.title


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    CLOSED = "closed", _("Closed")


class QuestionnaireVersion(models.Model):
    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version number"))
    status = models.CharField(
        _("status"), max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    title = models.CharField(_("title"), max_length=200)
    introduction = models.TextField(_("introduction"), blank=True)
    introduction_en = models.TextField(_("introduction in English"), blank=True)
    end_message = models.TextField(
        _("end message"), blank=True, help_text=_("Shown to the respondent after submission.")
    )
    end_message_en = models.TextField(_("end message in English"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["questionnaire", "-number"]
        verbose_name = _("questionnaire version")
        verbose_name_plural = _("questionnaire versions")
        constraints = [
            models.UniqueConstraint(
                fields=["questionnaire", "number"], name="surveys_version_unique_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} — v{self.number}"

    display_introduction = InLanguage("introduction")
    display_end_message = InLanguage("end_message")

    @property
    def is_editable(self) -> bool:
        return self.status == VersionStatus.DRAFT


class VersionTransition(TransitionRecord):
    """A questionnaire version published or closed: who, when, from, to (onco_hdf.workflow)."""

    version = models.ForeignKey(
        QuestionnaireVersion, on_delete=models.CASCADE, related_name="transitions"
    )
    from_status = models.CharField(
        _("from"), max_length=30, choices=VersionStatus.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=30, choices=VersionStatus.choices)

    class Meta(TransitionRecord.Meta):
        verbose_name = _("questionnaire version transition")
        verbose_name_plural = _("questionnaire version transitions")

    def __str__(self) -> str:
        return f"{self.version_id}: {self.from_status} → {self.to_status}"


class Section(models.Model):
    version = models.ForeignKey(
        QuestionnaireVersion, on_delete=models.CASCADE, related_name="sections"
    )
    code = models.CharField(_("code"), max_length=40, validators=[code_validator])
    title = models.CharField(_("title"), max_length=200)
    title_en = models.CharField(_("title in English"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_en = models.TextField(_("description in English"), blank=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    # A block asked once per choice ticked in this multiple-choice question of an earlier
    # section (e.g. one "hosting, cost, CE class" block per vendor ticked).
    repeat_for = models.ForeignKey(
        "Question",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="repeated_sections",
        verbose_name=_("repeat for each choice of"),
    )
    # Set when deleted from a draft: the bin, restorable until the version is published.
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)

    class Meta:
        ordering = ["version", "order", "pk"]
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="surveys_section_unique_code")
        ]

    display_title = InLanguage("title")
    display_description = InLanguage("description")

    def __str__(self) -> str:
        return f"{self.code}. {self.title}"


class QuestionType(models.TextChoices):
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    YES_NO = "yes_no", _("Yes / no")
    NUMBER = "number", _("Number")
    INTEGER = "integer", _("Integer")
    RATING = "rating", _("Rating scale (e.g. 0 to 10)")
    DATE = "date", _("Date")
    MONTH = "month", _("Month and year")
    TEXT = "text", _("Short text")
    LONG_TEXT = "long_text", _("Long text")
    LIKERT = "likert", _("Likert scale")
    MATRIX = "matrix", _("Matrix (rows × one choice per row)")
    MATRIX_MULTI = "matrix_multi", _("Matrix (rows × several choices per row)")
    RANKING = "ranking", _("Ranking (top N)")
    CALCULATED = "calculated", _("Calculated from earlier answers")


CHOICE_TYPES = frozenset(
    {
        QuestionType.SINGLE,
        QuestionType.MULTIPLE,
        QuestionType.LIKERT,
        QuestionType.MATRIX,
        QuestionType.MATRIX_MULTI,
        QuestionType.RANKING,
    }
)
MATRIX_TYPES = frozenset({QuestionType.MATRIX, QuestionType.MATRIX_MULTI})
# A calculated field holds a number: results, exports and rules read it as one.
NUMERIC_TYPES = frozenset(
    {QuestionType.NUMBER, QuestionType.INTEGER, QuestionType.RATING, QuestionType.CALCULATED}
)
TEXT_TYPES = frozenset({QuestionType.TEXT, QuestionType.LONG_TEXT})
OTHER_TYPES = frozenset({QuestionType.SINGLE, QuestionType.MULTIPLE})
DEFAULT_TEXT_MAX = {QuestionType.TEXT: 200, QuestionType.LONG_TEXT: 5000}


class Question(models.Model):
    version = models.ForeignKey(
        QuestionnaireVersion, on_delete=models.CASCADE, related_name="questions"
    )
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="questions")
    code = models.CharField(
        _("code"),
        max_length=40,
        validators=[code_validator],
        help_text=_("Variable name kept across versions and yearly waves (e.g. B1_USAGE)."),
    )
    type = models.CharField(_("type"), max_length=20, choices=QuestionType.choices)
    label = models.TextField(
        _("label"), help_text=_("{{CODE}} inserts the answer to an earlier question.")
    )
    label_en = models.TextField(_("label in English"), blank=True)
    help_text = models.TextField(_("help text"), blank=True)
    help_text_en = models.TextField(_("help text in English"), blank=True)
    required = models.BooleanField(_("required"), default=False)
    order = models.PositiveIntegerField(_("order"), default=0)
    min_value = models.FloatField(_("minimum"), null=True, blank=True)
    max_value = models.FloatField(_("maximum"), null=True, blank=True)
    unit = models.CharField(_("unit"), max_length=30, blank=True)
    pattern = models.CharField(
        _("pattern"),
        max_length=200,
        blank=True,
        help_text=_("Regular expression the text answer must match."),
    )
    max_length = models.PositiveIntegerField(_("maximum length"), null=True, blank=True)
    max_choices = models.PositiveIntegerField(
        _("number of items to rank / maximum choices"), null=True, blank=True
    )
    allow_other = models.BooleanField(_("“Other, please specify” option"), default=False)
    not_applicable_label = models.CharField(
        _("“not applicable” column"),
        max_length=60,
        blank=True,
        help_text=_(
            "Matrices: label of an extra column ticked for the rows that do not apply "
            "(e.g. “Not used”); a required matrix then accepts it as the answer of a row."
        ),
    )
    not_applicable_label_en = models.CharField(
        _("“not applicable” column in English"), max_length=60, blank=True
    )
    show_if = models.JSONField(_("show if"), null=True, blank=True)
    # Calculated fields: the formula JSON of surveys.rules.compute.
    formula = models.JSONField(_("formula"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)
    # Set on the per-choice copies of a repeated block's questions (selectors.Structure):
    # the choice, its label and the question as written.
    instance = ""
    instance_label = ""
    template = None

    class Meta:
        ordering = ["version", "section__order", "order", "pk"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="surveys_question_unique_code")
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.label[:60]}"

    def _choices_of(self, kind: str) -> list[Choice]:
        # Memoised per instance: a page asks for them many times per question.
        cache = self.__dict__.setdefault("_choice_cache", {})
        if kind not in cache:
            cache[kind] = [c for c in self.choices.all() if c.kind == kind]
        return cache[kind]

    def options(self) -> list[Choice]:
        return self._choices_of(ChoiceKind.OPTION)

    def rows(self) -> list[Choice]:
        return self._choices_of(ChoiceKind.ROW)

    def exclusive_codes(self) -> list[str]:
        """Codes of the options that exclude every other (multiple choice only)."""
        if self.type != QuestionType.MULTIPLE:
            return []
        return [c.code for c in self.options() if c.exclusive]

    display_label = InLanguage("label")
    display_help_text = InLanguage("help_text")
    display_not_applicable_label = InLanguage("not_applicable_label")

    @property
    def plain_label(self) -> str:
        """The label outside a response (preview, results, report, exports): ``{{CODE}}``
        in words, as "(answer to CODE)"."""
        return PIPE_RE.sub(lambda m: pipe_placeholder(m.group(1)), self.label)

    @property
    def text_limit(self) -> int | None:
        return self.max_length or DEFAULT_TEXT_MAX.get(self.type)


class ChoiceKind(models.TextChoices):
    OPTION = "option", _("Option (or column)")
    ROW = "row", _("Matrix row")


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    kind = models.CharField(max_length=10, choices=ChoiceKind.choices, default=ChoiceKind.OPTION)
    code = models.CharField(_("code"), max_length=40, validators=[choice_code_validator])
    label = models.CharField(_("label"), max_length=300)
    label_en = models.CharField(_("label in English"), max_length=300, blank=True)
    order = models.PositiveIntegerField(default=0)
    # Multiple choice: ticking this option ("none of these") unticks the others, and the
    # server refuses it together with another one.
    exclusive = models.BooleanField(_("exclusive"), default=False)

    display_label = InLanguage("label")

    class Meta:
        ordering = ["question", "kind", "order", "pk"]
        verbose_name = _("choice")
        verbose_name_plural = _("choices")
        constraints = [
            models.UniqueConstraint(
                fields=["question", "kind", "code"], name="surveys_choice_unique_code"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.label}"


class ResponseUnit(models.TextChoices):
    CENTRE = "centre", _("One official response per centre")
    PERSON = "person", _("One response per person")


class Campaign(models.Model):
    version = models.ForeignKey(
        QuestionnaireVersion,
        on_delete=models.PROTECT,
        related_name="campaigns",
        verbose_name=_("questionnaire version"),
    )
    title = models.CharField(_("title"), max_length=200)
    title_en = models.CharField(_("title in English"), max_length=200, blank=True)
    opens_on = models.DateField(_("opens on"))
    closes_on = models.DateField(_("closes on"))
    closed_at = models.DateTimeField(_("closed early on"), null=True, blank=True)
    unit = models.CharField(
        _("unit of response"),
        max_length=10,
        choices=ResponseUnit.choices,
        default=ResponseUnit.CENTRE,
    )
    centres = models.ManyToManyField(
        Centre, related_name="survey_campaigns", verbose_name=_("centres surveyed"), blank=True
    )
    section_roles = models.JSONField(
        _("sections assigned to a role"),
        default=dict,
        blank=True,
        help_text=_("Section code → role that fills it (other members read it)."),
    )
    reminder_every_days = models.PositiveIntegerField(
        _("automatic reminder every (days)"),
        default=7,
        help_text=_("0 disables the scheduled reminders."),
    )
    introduction = models.TextField(_("report introduction"), blank=True)
    conclusions = models.TextField(_("report conclusions"), blank=True)
    cross_tabs = models.JSONField(
        _("cross-tabulations of the report"),
        default=list,
        blank=True,
        help_text=_("Pairs of question codes (rows, columns)."),
    )
    text_themes = models.JSONField(
        _("themes of the free-text answers"),
        default=list,
        blank=True,
        help_text=_("[heading, [keywords]] pairs grouping the free-text answers of the report."),
    )
    is_demo = models.BooleanField(_("demo data"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-opens_on", "title"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    display_title = InLanguage("title")

    def __str__(self) -> str:
        return self.title

    def is_open(self, today=None) -> bool:
        today = today or timezone.localdate()
        return self.closed_at is None and self.opens_on <= today <= self.closes_on

    @property
    def status_label(self) -> str:
        today = timezone.localdate()
        if self.closed_at is not None or today > self.closes_on:
            return str(_("Closed"))
        if today < self.opens_on:
            return str(_("Not yet open"))
        return str(_("Open"))

    def role_for_section(self, section_code: str) -> str:
        return (self.section_roles or {}).get(section_code, "")


class Invitation(models.Model):
    """A link to answer without an account; only the SHA-256 of its token is stored."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="invitations")
    centre = models.ForeignKey(Centre, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField(_("e-mail"))
    name = models.CharField(_("name"), max_length=150, blank=True)
    role = models.CharField(_("role"), max_length=30, choices=Role.choices, blank=True)
    nonce = models.CharField(max_length=32)
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(_("expires at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    opened_at = models.DateTimeField(_("first opened at"), null=True, blank=True)
    reminder_count = models.PositiveIntegerField(_("reminders"), default=0)
    last_reminded_at = models.DateTimeField(_("last reminder"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    is_demo = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["campaign", "centre__name", "email"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return f"{self.email} ({self.centre})"


class ResponseStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    SUBMITTED = "submitted", _("Submitted")
    REOPENED = "reopened", _("Reopened")


EDITABLE_STATUSES = frozenset({ResponseStatus.IN_PROGRESS, ResponseStatus.REOPENED})


class Response(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="responses")
    centre = models.ForeignKey(Centre, on_delete=models.CASCADE, related_name="survey_responses")
    # "centre:<id>" for a centre's official response, "person:<...>" for one person's:
    # unique per campaign, so two concurrent first visits cannot create two responses.
    unit_key = models.CharField(max_length=80)
    respondent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="survey_responses",
    )
    invitation = models.ForeignKey(
        Invitation, on_delete=models.SET_NULL, null=True, blank=True, related_name="responses"
    )
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=ResponseStatus.choices,
        default=ResponseStatus.IN_PROGRESS,
    )
    last_section = models.CharField(max_length=40, blank=True)
    snapshot = models.JSONField(_("snapshot at submission"), null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False)
    # The snapshot is read on the response page; per-answer changes are AnswerChange rows.
    # A token's invitee has no account: the history row names them (history_by_label).
    history = HistoricalRecords(excluded_fields=["snapshot"], bases=[HistoryByLabel])

    class Meta:
        ordering = ["campaign", "centre__name", "pk"]
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "unit_key"], name="surveys_response_unique_unit"
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign} — {self.centre}"

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES


class ResponseTransition(TransitionRecord):
    """A step of a response (started, submitted, reopened); see onco_hdf.workflow.

    ``by_label`` names the person also when they have no account (an invitation token).
    """

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(
        _("from"), max_length=30, choices=ResponseStatus.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=30, choices=ResponseStatus.choices)
    by_label = models.CharField(max_length=200, blank=True)

    class Meta(TransitionRecord.Meta):
        ordering = ["response", "at", "pk"]
        verbose_name = _("response transition")
        verbose_name_plural = _("response transitions")

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"


class Answer(models.Model):
    """One typed row per question (per choice for a repeated block's question); which
    column holds the value depends on the type."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    # The choice code of the repeated block this answer belongs to ("" outside a block).
    instance = models.CharField(max_length=40, blank=True, default="")
    value_text = models.TextField(blank=True)
    value_number = models.FloatField(null=True, blank=True)
    value_date = models.DateField(null=True, blank=True)
    value_json = models.JSONField(null=True, blank=True)
    other_text = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by_label = models.CharField(max_length=200, blank=True)
    # "user:<pk>" or "invitation:<pk>": who saved last, so one's own autosave racing a
    # page change is not taken for a colleague's edit.
    updated_by_key = models.CharField(max_length=40, blank=True)
    # Incremented on every change: a page sends back the version it showed (co-filling).
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(
                fields=["response", "question", "instance"],
                name="surveys_answer_unique_question_instance",
            )
        ]

    def __str__(self) -> str:
        return f"{self.response_id}/{self.question_id}"


class AnswerChange(models.Model):
    """One change of one answer: who (a member or a token's invitee), when, old → new."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="changes")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    instance = models.CharField(max_length=40, blank=True, default="")
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)
    old_display = models.TextField(blank=True)
    new_display = models.TextField(blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    invitation = models.ForeignKey(
        Invitation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    by_label = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["response", "at", "pk"]
        verbose_name = _("answer change")
        verbose_name_plural = _("answer changes")

    def __str__(self) -> str:
        return f"{self.response_id}/{self.question_id} {self.at:%Y-%m-%d %H:%M}"


class ReminderKind(models.TextChoices):
    MANUAL = "manual", _("Manual")
    SCHEDULED = "scheduled", _("Scheduled")


class Reminder(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=10, choices=ReminderKind.choices)
    sent_count = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["campaign", "-sent_at"]
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.sent_at:%Y-%m-%d}"
