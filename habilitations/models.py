"""Regional activity catalogue (versioned) and physician habilitation sheets.

A sheet points at the catalogue version it was written against; publishing a new version
never touches existing sheets (their lines keep pointing at the old version's activities).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from onco_hdf.models import Centre
from onco_hdf.workflow import TransitionRecord


class Level(models.TextChoices):
    """Habilitation levels, in increasing order of autonomy."""

    IN_TRAINING = "in_training", _("In training")
    SUPERVISED = "supervised", _("Under supervision")
    AUTONOMOUS = "autonomous", _("Autonomous")
    REFERENT = "referent", _("Referent / trainer")


LEVEL_RANK = {level: rank for rank, level in enumerate(Level.values)}


def level_rank(level: str | None) -> int:
    return LEVEL_RANK.get(level or "", -1)


class CatalogueStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("catalogue version", "Draft")
    PUBLISHED = "published", pgettext_lazy("catalogue version", "Published")


class CatalogueVersion(models.Model):
    number = models.PositiveIntegerField(_("version number"), unique=True)
    label = models.CharField(_("label"), max_length=200)
    notes = models.TextField(_("notes on this version"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=CatalogueStatus.choices, default=CatalogueStatus.DRAFT
    )
    published_at = models.DateTimeField(_("published on"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published by"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-number"]
        verbose_name = _("catalogue version")
        verbose_name_plural = _("catalogue versions")

    def __str__(self) -> str:
        return f"v{self.number} — {self.label}"

    @property
    def is_draft(self) -> bool:
        return self.status == CatalogueStatus.DRAFT


class Domain(models.Model):
    version = models.ForeignKey(
        CatalogueVersion,
        on_delete=models.CASCADE,
        related_name="domains",
        verbose_name=_("catalogue version"),
    )
    code = models.CharField(
        _("code"),
        max_length=20,
        validators=[RegexValidator(r"^[A-Z0-9-]+$", _("Use capital letters, digits and dashes."))],
    )
    name = models.CharField(_("name"), max_length=200)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("domain")
        verbose_name_plural = _("domains")
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="hab_domain_code_per_version")
        ]

    def __str__(self) -> str:
        return self.name


class Activity(models.Model):
    version = models.ForeignKey(
        CatalogueVersion,
        on_delete=models.CASCADE,
        related_name="activities",
        verbose_name=_("catalogue version"),
    )
    domain = models.ForeignKey(
        Domain, on_delete=models.CASCADE, related_name="activities", verbose_name=_("domain")
    )
    code = models.CharField(
        _("code"),
        max_length=30,
        validators=[RegexValidator(r"^[A-Z0-9-]+$", _("Use capital letters, digits and dashes."))],
    )
    label = models.CharField(_("label"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    prerequisites = models.TextField(_("prerequisites"), blank=True)
    evidence_in_training = models.TextField(_("evidence expected: in training"), blank=True)
    evidence_supervised = models.TextField(_("evidence expected: under supervision"), blank=True)
    evidence_autonomous = models.TextField(_("evidence expected: autonomous"), blank=True)
    evidence_referent = models.TextField(_("evidence expected: referent / trainer"), blank=True)
    min_supervised_cases = models.PositiveSmallIntegerField(
        _("supervised cases required for autonomy"), default=0
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["domain__order", "order", "code"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        constraints = [
            models.UniqueConstraint(
                fields=["version", "code"], name="hab_activity_code_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.label}"

    def evidence_by_level(self) -> list[tuple[str, str]]:
        return [
            (Level.IN_TRAINING.label, self.evidence_in_training),
            (Level.SUPERVISED.label, self.evidence_supervised),
            (Level.AUTONOMOUS.label, self.evidence_autonomous),
            (Level.REFERENT.label, self.evidence_referent),
        ]


class SheetStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("habilitation sheet", "Draft")
    SUBMITTED = "submitted", pgettext_lazy("habilitation sheet", "Submitted")
    HEAD_VALIDATED = "head_validated", _("Validated by the head of department")
    REGIONAL_VALIDATED = "regional_validated", _("Validated at regional level")
    ACTIVE = "active", pgettext_lazy("habilitation sheet", "Active")
    TO_RENEW = "to_renew", _("To be renewed")
    RENEWED = "renewed", pgettext_lazy("habilitation sheet", "Renewed")
    SUSPENDED = "suspended", pgettext_lazy("habilitation sheet", "Suspended")
    ARCHIVED = "archived", pgettext_lazy("habilitation sheet", "Archived")


# A sheet in one of these states authorises its holder (the PDF says "valid").
VALID_STATUSES = frozenset({SheetStatus.ACTIVE, SheetStatus.TO_RENEW})
# States whose expiry dates are watched by the reminders.
WATCHED_STATUSES = frozenset(
    {SheetStatus.REGIONAL_VALIDATED, SheetStatus.ACTIVE, SheetStatus.TO_RENEW}
)
EDITABLE_STATUSES = frozenset({SheetStatus.DRAFT})

rpps_validator = RegexValidator(r"^\d{11}$", _("An RPPS number has exactly 11 digits."))


class HabilitationSheet(models.Model):
    physician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="habilitation_sheets",
        verbose_name=_("physician"),
    )
    centre = models.ForeignKey(
        Centre,
        on_delete=models.PROTECT,
        related_name="habilitation_sheets",
        verbose_name=_("centre"),
    )
    catalogue_version = models.ForeignKey(
        CatalogueVersion,
        on_delete=models.PROTECT,
        related_name="sheets",
        verbose_name=_("catalogue version"),
    )
    previous = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="renewal",
        verbose_name=_("sheet renewed by this one"),
    )
    post = models.CharField(_("post"), max_length=200)
    rpps = models.CharField(_("RPPS number"), max_length=11, validators=[rpps_validator])
    diploma = models.CharField(
        _("diploma"),
        max_length=200,
        default="DES d'oncologie option radiothérapie",
    )
    diploma_date = models.DateField(_("diploma obtained on"), null=True, blank=True)
    ordre_council = models.CharField(
        _("Ordre des médecins: departmental council"), max_length=100, blank=True
    )
    ordre_registration_date = models.DateField(
        _("Ordre des médecins: registration date"), null=True, blank=True
    )
    start_date = models.DateField(_("start date in the post"))
    rp_training_date = models.DateField(_("patient radiation-protection training: date"))
    rp_training_expiry = models.DateField(_("patient radiation-protection training: expiry"))
    status = models.CharField(
        _("status"), max_length=20, choices=SheetStatus.choices, default=SheetStatus.DRAFT
    )
    # Bumped at every transition: a PDF's verification code names the revision it shows.
    revision = models.PositiveIntegerField(_("revision"), default=1)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("next review before"), null=True, blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["centre__name", "physician__last_name", "-created_at"]
        verbose_name = _("habilitation sheet")
        verbose_name_plural = _("habilitation sheets")

    def __str__(self) -> str:
        return _("Habilitation sheet of %(name)s (%(centre)s)") % {
            "name": self.physician_name,
            "centre": self.centre.label,
        }

    @property
    def physician_name(self) -> str:
        return self.physician.get_full_name() or self.physician.username

    @property
    def is_valid_status(self) -> bool:
        return self.status in VALID_STATUSES

    def signature_content(self, capacity: str | None = None) -> dict:
        """What is signed (onco_hdf.signatures): the request (identity, post, training,
        each activity with its level requested, tutor, cases and evidence) for the tutor;
        with the decision on each line (level granted, restrictions, dates) for the others.
        Not the status, revision or validity dates the workflow sets."""
        from onco_hdf.models import SignatureCapacity

        decided = capacity != SignatureCapacity.TUTOR
        lines = []
        for line in self.lines.select_related("activity", "tutor").prefetch_related("evidence"):
            row = {
                "activity": line.activity.code,
                "label": line.activity.label,
                "level_requested": line.level_requested,
                "tutor": (line.tutor.get_full_name() or line.tutor.username) if line.tutor else "",
                "supervised_cases": line.supervised_cases,
                "peer_reviewed_contours": line.peer_reviewed_contours,
                "courses": line.courses,
                "vendor_training": line.vendor_training,
                "evidence": [[e.kind, e.original_name, e.size] for e in line.evidence.all()],
            }
            if decided:
                row.update(
                    level_granted=line.level_granted,
                    restrictions=line.restrictions,
                    validation_date=line.validation_date,
                    expiry_date=line.expiry_date,
                )
            lines.append(row)
        return {
            "document": "habilitation_sheet",
            "id": self.pk,
            "physician": self.physician_name,
            "rpps": self.rpps,
            "centre": self.centre.name,
            "post": self.post,
            "diploma": [self.diploma, self.diploma_date],
            "ordre": [self.ordre_council, self.ordre_registration_date],
            "start_date": self.start_date,
            "rp_training": [self.rp_training_date, self.rp_training_expiry],
            "catalogue_version": self.catalogue_version.number,
            "lines": lines,
        }

    def signatories(self) -> list:
        """Who signed the sheet as it stands (for the PDF's signature block): its submission,
        then the signature acts since its last return to draft."""
        from onco_hdf.signing import Signatory, signatories_from_acts

        steps = list(self.transitions.select_related("actor").order_by("at", "pk"))
        since = None
        submitted = None
        for step in steps:
            if step.to_status == SheetStatus.DRAFT:
                since, submitted = step.at, None
            elif step.to_status == SheetStatus.SUBMITTED:
                submitted = step
        rows = []
        if submitted is not None:
            rows.append(
                Signatory(
                    name=submitted.actor_name,
                    capacity=str(_("physician (submission)")),
                    signed_at=submitted.at,
                )
            )
        rows.extend(signatories_from_acts(self, since=since))
        return rows


class SheetLine(models.Model):
    sheet = models.ForeignKey(
        HabilitationSheet,
        on_delete=models.CASCADE,
        related_name="lines",
        verbose_name=_("habilitation sheet"),
    )
    activity = models.ForeignKey(
        Activity, on_delete=models.PROTECT, related_name="lines", verbose_name=_("activity")
    )
    level_requested = models.CharField(_("level requested"), max_length=20, choices=Level.choices)
    level_granted = models.CharField(
        _("level granted"), max_length=20, choices=Level.choices, blank=True
    )
    tutor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tutored_lines",
        verbose_name=_("tutor"),
    )
    supervised_cases = models.PositiveIntegerField(
        _("supervised cases"), default=0, validators=[MaxValueValidator(100000)]
    )
    peer_reviewed_contours = models.PositiveIntegerField(
        _("peer-reviewed contours"), default=0, validators=[MaxValueValidator(100000)]
    )
    courses = models.TextField(_("courses and training"), blank=True)
    vendor_training = models.TextField(_("vendor training"), blank=True)
    validation_date = models.DateField(_("validation date"), null=True, blank=True)
    expiry_date = models.DateField(_("expiry date"), null=True, blank=True)
    restrictions = models.TextField(_("restrictions"), blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["activity__domain__order", "activity__order", "activity__code"]
        verbose_name = _("sheet line")
        verbose_name_plural = _("sheet lines")
        constraints = [
            models.UniqueConstraint(fields=["sheet", "activity"], name="hab_line_activity_once")
        ]

    def __str__(self) -> str:
        return f"{self.activity.code} — {self.get_level_requested_display()}"


class EvidenceKind(models.TextChoices):
    CASE_LOG = "case_log", _("Log of supervised cases")
    CONTOUR_REVIEW = "contour_review", _("Peer review of contours")
    COURSE = "course", _("Course certificate")
    VENDOR = "vendor", _("Vendor training certificate")
    OTHER = "other", _("Other document")


class Evidence(models.Model):
    line = models.ForeignKey(
        SheetLine, on_delete=models.CASCADE, related_name="evidence", verbose_name=_("line")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=EvidenceKind.choices)
    description = models.CharField(_("description"), max_length=200, blank=True)
    file = models.FileField(_("file"), upload_to="habilitations/evidence/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField(_("size"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at"]
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")

    def __str__(self) -> str:
        return self.original_name


class SheetTransition(TransitionRecord):
    """One row per workflow step: who, when, from, to, and why (see onco_hdf.workflow)."""

    sheet = models.ForeignKey(
        HabilitationSheet, on_delete=models.CASCADE, related_name="transitions"
    )
    action = models.CharField(_("action"), max_length=30)
    from_status = models.CharField(_("from"), max_length=30, choices=SheetStatus.choices)
    to_status = models.CharField(_("to"), max_length=30, choices=SheetStatus.choices)

    class Meta(TransitionRecord.Meta):
        verbose_name = _("sheet transition")
        verbose_name_plural = _("sheet transitions")

    def __str__(self) -> str:
        return f"{self.sheet_id}: {self.from_status} → {self.to_status}"


class ReminderTarget(models.TextChoices):
    SHEET = "sheet", _("Periodic review of the sheet")
    TRAINING = "training", _("Patient radiation-protection training")
    LINE = "line", _("Activity habilitation")


class Reminder(models.Model):
    """A reminder sent: one per (what expires, expiry date, threshold), never twice."""

    sheet = models.ForeignKey(HabilitationSheet, on_delete=models.CASCADE, related_name="reminders")
    target = models.CharField(_("about"), max_length=10, choices=ReminderTarget.choices)
    line = models.ForeignKey(
        SheetLine, on_delete=models.CASCADE, null=True, blank=True, related_name="reminders"
    )
    target_key = models.CharField(max_length=40)
    expiry_date = models.DateField(_("expiry date"))
    days_before = models.PositiveSmallIntegerField(_("days before"))
    sent_on = models.DateField(_("sent on"))
    recipients = models.TextField(_("recipients"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_on", "expiry_date"]
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["sheet", "target_key", "expiry_date", "days_before"],
                name="hab_reminder_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.sheet_id} {self.target_key} J-{self.days_before}"
