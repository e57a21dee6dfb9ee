"""Core models: centres, memberships with roles, background jobs."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Role(models.TextChoices):
    PROJECT_MANAGER = "project_manager", _("Project manager")
    COPIL = "copil", _("COPIL member")
    ADMIN = "admin", _("Administrator")
    REFERENT = "referent", _("Centre referent")
    ONCOLOGIST = "oncologist", _("Radiation oncologist")
    HEAD_OF_DEPARTMENT = "head_of_department", _("Head of department")
    PHYSICIST = "physicist", _("Medical physicist")
    CRISIS_CELL = "crisis_cell", _("DSR-C crisis cell")


# Regional roles act on the whole region and have no centre; the others belong to one.
# Tuples, not sets: their order ends up in a migration and must not change between runs.
REGIONAL_ROLES = (Role.PROJECT_MANAGER, Role.COPIL, Role.ADMIN, Role.CRISIS_CELL)
CENTRE_ROLES = tuple(role for role in Role if role not in REGIONAL_ROLES)


class Sector(models.TextChoices):
    PUBLIC = "public", _("Public")
    PRIVATE = "private", _("Private")
    ESPIC = "espic", _("ESPIC (private non-profit)")


class Departement(models.TextChoices):
    AISNE = "02", "02 — Aisne"
    NORD = "59", "59 — Nord"
    OISE = "60", "60 — Oise"
    PAS_DE_CALAIS = "62", "62 — Pas-de-Calais"
    SOMME = "80", "80 — Somme"


class Centre(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    short_name = models.CharField(_("short name"), max_length=40, blank=True)
    finess = models.CharField(
        _("FINESS number"),
        max_length=9,
        unique=True,
        validators=[RegexValidator(r"^\d{9}$", _("A FINESS number has exactly 9 digits."))],
    )
    city = models.CharField(_("city"), max_length=100)
    departement = models.CharField(_("département"), max_length=2, choices=Departement.choices)
    sector = models.CharField(_("sector"), max_length=10, choices=Sector.choices)
    latitude = models.DecimalField(
        _("latitude"), max_digits=8, decimal_places=5, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=8, decimal_places=5, null=True, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Where set, this person's signature (director or nuclear activity officer, RAN) is a
    # step of every habilitation sheet of the centre, before the regional validation.
    habilitation_director = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("director / RAN signing the habilitation sheets"),
        help_text=_(
            "Leave empty when the centre does not require this signature before the "
            "regional validation."
        ),
    )
    is_demo = models.BooleanField(
        _("demo data"), default=False, help_text=_("Created by the demo seed; not a real centre.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("centre")
        verbose_name_plural = _("centres")

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return self.short_name or self.name


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    centre = models.ForeignKey(
        Centre,
        on_delete=models.CASCADE,
        related_name="memberships",
        null=True,
        blank=True,
        verbose_name=_("centre"),
        help_text=_(
            "Empty for regional roles (project manager, COPIL, administrator, crisis cell)."
        ),
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["centre__name", "role", "user__last_name"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(role__in=[r.value for r in REGIONAL_ROLES], centre__isnull=True)
                    | (~Q(role__in=[r.value for r in REGIONAL_ROLES]) & Q(centre__isnull=False))
                ),
                name="membership_centre_matches_role",
                violation_error_message=_(
                    "Regional roles have no centre; every other role needs one."
                ),
            ),
            models.UniqueConstraint(
                fields=["user", "centre", "role"],
                condition=Q(centre__isnull=False),
                name="membership_unique_centre_role",
                violation_error_message=_("This user already has this role here."),
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=Q(centre__isnull=True),
                name="membership_unique_regional_role",
                violation_error_message=_("This user already has this role here."),
            ),
        ]

    def __str__(self) -> str:
        where = self.centre.label if self.centre_id else _("region")
        return f"{self.user} — {self.get_role_display()} ({where})"


class JobStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Job(models.Model):
    """A unit of long work (comparison, big report) whose progress a page polls."""

    kind = models.CharField(_("kind"), max_length=60)
    label = models.CharField(_("label"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING
    )
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    message = models.TextField(_("message"), blank=True)
    params = models.JSONField(default=dict, blank=True)
    result_file = models.FileField(_("result"), upload_to="jobs/%Y/%m/", blank=True)
    result_url = models.CharField(_("result link"), max_length=300, blank=True)
    centre = models.ForeignKey(
        Centre, on_delete=models.CASCADE, null=True, blank=True, related_name="jobs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="jobs"
    )
    delivery_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # What to send to the broker, kept so the sweeper can send the job again.
    task_name = models.CharField(max_length=200, blank=True)
    task_kwargs = models.JSONField(default=dict, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # A job split into parts (onco_hdf.jobs.job_part_create) runs while its parts do; it is
    # never swept itself, and fails when one of its parts fails.
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="parts"
    )
    # Hash of user × action × object: a double click finds the job the first click made.
    idempotency_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="job_progress_max_100"),
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=Q(status__in=["pending", "running"]) & ~Q(idempotency_key=""),
                name="job_one_active_per_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)


# --- COPIL governance: meetings, decisions on artefacts at a version, overrides -------
class MeetingStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    HELD = "held", _("Held")


class CopilMeeting(models.Model):
    """A meeting of the regional radiotherapy steering committee (COPIL)."""

    held_on = models.DateField(_("date"))
    title = models.CharField(_("title"), max_length=200)
    location = models.CharField(_("place"), max_length=200, blank=True)
    agenda = models.TextField(_("agenda"), help_text=_("One item per line."))
    quorum = models.PositiveSmallIntegerField(
        _("quorum"), default=3, help_text=_("Members present needed for a decision.")
    )
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="copil_meetings",
        verbose_name=_("attendees"),
    )
    other_attendees = models.TextField(
        _("other attendees"), blank=True, help_text=_("Guests without an account, one per line.")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=MeetingStatus.choices, default=MeetingStatus.PLANNED
    )
    minutes_file = models.FileField(_("minutes (PDF)"), upload_to="copil/minutes/", blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["minutes_file"])

    class Meta:
        ordering = ["-held_on", "-pk"]
        verbose_name = _("COPIL meeting")
        verbose_name_plural = _("COPIL meetings")

    def __str__(self) -> str:
        return f"{self.title} ({self.held_on:%d/%m/%Y})"

    def signatories(self) -> list:
        """Who recorded the meeting's decisions, each with the date of their last one."""
        from onco_hdf.signing import Signatory

        last: dict[int, tuple] = {}  # in date order, so each person keeps their last one
        decisions = self.decisions.select_related("decided_by").exclude(decided_by=None)
        for decision in decisions.exclude(decided_at=None).order_by("decided_at", "pk"):
            last[decision.decided_by_id] = (decision.decided_by, decision.decided_at)
        return [
            Signatory(
                name=person.get_full_name() or person.username,
                capacity=str(_("recorded the COPIL decisions")),
                signed_at=at,
            )
            for person, at in last.values()
        ]

    @property
    def agenda_items(self) -> list[str]:
        return [line.strip() for line in self.agenda.splitlines() if line.strip()]

    @property
    def present_count(self) -> int:
        return self.attendees.count()

    @property
    def quorum_reached(self) -> bool:
        return self.present_count >= self.quorum


class MinutesSource(models.TextChoices):
    GENERATED = "generated", _("Generated")
    UPLOADED = "uploaded", _("Uploaded")


class CopilMinutes(models.Model):
    """One version of a meeting's minutes: generated from the register or uploaded.

    Every generation or upload adds a version; the meeting's ``minutes_file`` is the latest.
    """

    meeting = models.ForeignKey(
        CopilMeeting,
        on_delete=models.CASCADE,
        related_name="minutes_versions",
        verbose_name=_("meeting"),
    )
    number = models.PositiveIntegerField(_("version"))
    file = models.FileField(_("minutes (PDF)"), upload_to="copil/minutes/")
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    source = models.CharField(_("source"), max_length=10, choices=MinutesSource.choices)
    job = models.ForeignKey(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("on"), auto_now_add=True)

    class Meta:
        ordering = ["meeting", "-number"]
        verbose_name = _("COPIL minutes version")
        verbose_name_plural = _("COPIL minutes versions")
        constraints = [
            models.UniqueConstraint(fields=["meeting", "number"], name="copil_minutes_number")
        ]

    def __str__(self) -> str:
        return f"{self.meeting} — v{self.number}"


class Outcome(models.TextChoices):
    PENDING = "pending", _("Awaiting decision")
    VALIDATED = "validated", _("Validated")
    VALIDATED_WITH_RESERVATIONS = "validated_reservations", _("Validated with reservations")
    POSTPONED = "postponed", _("Postponed")
    REFUSED = "refused", _("Refused")


VALIDATING_OUTCOMES = (Outcome.VALIDATED, Outcome.VALIDATED_WITH_RESERVATIONS)


class CouncilOpinion(models.TextChoices):
    NONE = "", _("Not asked")
    FAVOURABLE = "favourable", _("Favourable")
    FAVOURABLE_WITH_RESERVATIONS = "favourable_reservations", _("Favourable with reservations")
    UNFAVOURABLE = "unfavourable", _("Unfavourable")


class CopilDecision(models.Model):
    """A decision of a meeting about one artefact at one version.

    The artefact is referenced generically (content type, id, version label) so that no app
    model depends on the governance register.
    """

    meeting = models.ForeignKey(
        CopilMeeting, on_delete=models.CASCADE, related_name="decisions", verbose_name=_("meeting")
    )
    content_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.PROTECT, related_name="+"
    )
    object_id = models.PositiveBigIntegerField()
    version_label = models.CharField(_("version"), max_length=60, blank=True)
    artefact_label = models.CharField(_("artefact"), max_length=300)
    summary = models.TextField(_("summary"), blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=30, choices=Outcome.choices, default=Outcome.PENDING
    )
    reservations = models.TextField(_("reservations"), blank=True)
    council_opinion = models.CharField(
        _("scientific council opinion"),
        max_length=30,
        choices=CouncilOpinion.choices,
        default=CouncilOpinion.NONE,
        blank=True,
    )
    council_opinion_on = models.DateField(_("date of the opinion"), null=True, blank=True)
    council_text = models.TextField(_("text of the opinion"), blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["meeting", "pk"]
        verbose_name = _("COPIL decision")
        verbose_name_plural = _("COPIL decisions")
        indexes = [models.Index(fields=["content_type", "object_id"])]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "content_type", "object_id", "version_label"],
                name="copil_decision_unique_per_meeting",
                violation_error_message=_("This artefact is already on this meeting's agenda."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.artefact_label} — {self.get_outcome_display()}"

    @property
    def is_validating(self) -> bool:
        return self.outcome in VALIDATING_OUTCOMES


class DecisionComment(models.Model):
    decision = models.ForeignKey(CopilDecision, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("comment"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")

    def __str__(self) -> str:
        return f"{self.author} — {self.created_at:%d/%m/%Y}"


class GateOverride(models.Model):
    """The project manager's justified permission to use an artefact not validated in COPIL."""

    content_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.PROTECT, related_name="+"
    )
    object_id = models.PositiveBigIntegerField()
    version_label = models.CharField(_("version"), max_length=60, blank=True)
    artefact_label = models.CharField(_("artefact"), max_length=300)
    reason = models.TextField(_("justification"))
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-granted_at", "-pk"]
        verbose_name = _("validation override")
        verbose_name_plural = _("validation overrides")
        indexes = [models.Index(fields=["content_type", "object_id"])]

    def __str__(self) -> str:
        return self.artefact_label


class MilestoneStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")


class Milestone(models.Model):
    """A dated step of one of the regional projects, followed by the COPIL."""

    project = models.CharField(_("project"), max_length=30)
    title = models.CharField(_("milestone"), max_length=200)
    due_on = models.DateField(_("due date"))
    status = models.CharField(
        _("status"), max_length=12, choices=MilestoneStatus.choices, default=MilestoneStatus.PLANNED
    )
    done_on = models.DateField(_("done on"), null=True, blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["project", "due_on", "pk"]
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")

    def __str__(self) -> str:
        return self.title

    def is_late(self, today=None) -> bool:
        from django.utils import timezone

        today = today or timezone.localdate()
        return self.status != MilestoneStatus.DONE and self.due_on < today


class CopilAction(models.Model):
    """An action the COPIL decided, followed until it is done."""

    meeting = models.ForeignKey(
        CopilMeeting, on_delete=models.CASCADE, related_name="actions", verbose_name=_("meeting")
    )
    title = models.CharField(_("action"), max_length=300)
    owner = models.CharField(_("owner"), max_length=200, blank=True)
    due_on = models.DateField(_("due date"), null=True, blank=True)
    done_on = models.DateField(_("done on"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["done_on", "due_on", "pk"]
        verbose_name = _("COPIL action")
        verbose_name_plural = _("COPIL actions")

    def __str__(self) -> str:
        return self.title


class ReadAction(models.TextChoices):
    VIEW = "view", _("Read")
    EXPORT = "export", _("Export")
    DOWNLOAD = "download", _("Download")


class ReadAudit(models.Model):
    """Who read, exported or downloaded which centre data, and when (UTC).

    Append-only: on PostgreSQL a trigger refuses UPDATE and DELETE (migration 0008). No
    foreign keys, so that no cascade ever has to touch a row: the actor and the centre are
    kept by id and by name, and outlive the account or the centre.
    """

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor_id = models.BigIntegerField(_("actor id"), null=True)
    actor = models.CharField(_("actor"), max_length=150)
    centre_id = models.BigIntegerField(_("centre id"), null=True, db_index=True)
    centre = models.CharField(_("centre"), max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=10, choices=ReadAction.choices)
    object_type = models.CharField(_("object type"), max_length=100)
    object_id = models.CharField(_("object id"), max_length=64)
    detail = models.CharField(_("detail"), max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("read audit entry")
        verbose_name_plural = _("read audit")
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_type}"


class IssuedDocument(models.Model):
    """An official PDF the platform signed and handed out: the hashes that verify a copy.

    ``sha256`` is the hash of the signed file as issued; ``content_sha256`` the hash of the
    document before the signature was appended (the prefix of the signed file), printed in
    its signature block. Kept by object type and id, without foreign keys, so that a record
    outlives the object it was issued for.
    """

    issued_at = models.DateTimeField(_("issued on"), auto_now_add=True)
    object_type = models.CharField(_("object type"), max_length=100)
    object_id = models.CharField(_("object id"), max_length=64)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    title = models.CharField(_("title"), max_length=300)
    sha256 = models.CharField(_("SHA-256 of the signed file"), max_length=64, unique=True)
    content_sha256 = models.CharField(_("SHA-256 of the content"), max_length=64)
    signatories = models.JSONField(_("signatories"), default=list)

    class Meta:
        ordering = ["-issued_at", "-pk"]
        verbose_name = _("issued document")
        verbose_name_plural = _("issued documents")
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.title} ({self.sha256[:12]})"


class SignatureCapacity(models.TextChoices):
    TUTOR = "tutor", _("Tutor")
    HEAD_OF_DEPARTMENT = "head_of_department", _("Head of department")
    DIRECTOR = "director", _("Director / nuclear activity officer (RAN)")
    REGIONAL_VALIDATOR = "regional_validator", _("Regional validator")
    LEGAL_REPRESENTATIVE = "legal_representative", _("Legal representative")


class Signature(models.Model):
    """A signature act: a named person, in a named capacity, signed this content hash.

    The hash is the SHA-256 of the document's canonical content at the moment of signing
    (see onco_hdf.signatures); a later change of the document no longer matches it.
    Kept by name as well as by account, so that it outlives the account.
    """

    content_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.PROTECT, related_name="+"
    )
    object_id = models.PositiveBigIntegerField()
    # Which signature of the document this is ("party:12", "tutor:7", "head"...).
    step = models.CharField(_("step"), max_length=60)
    capacity = models.CharField(_("capacity"), max_length=30, choices=SignatureCapacity.choices)
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="signatures",
        verbose_name=_("signer"),
    )
    signer_name = models.CharField(_("name"), max_length=200)
    signer_title = models.CharField(_("title"), max_length=200, blank=True)
    on_behalf_of = models.ForeignKey(
        Centre,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("on behalf of"),
    )
    delegation_from = models.CharField(
        _("by delegation of"),
        max_length=200,
        blank=True,
        help_text=_("Name and title of the legal representative who delegated the signature."),
    )
    delegation_document = models.FileField(
        _("delegation document"), upload_to="signatures/delegations/%Y/%m/", blank=True
    )
    content_hash = models.CharField(_("content hash (SHA-256)"), max_length=64)
    second_factor = models.BooleanField(_("second factor checked"), default=False)
    signed_at = models.DateTimeField(_("signed on"), auto_now_add=True)

    class Meta:
        ordering = ["signed_at", "pk"]
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        indexes = [models.Index(fields=["content_type", "object_id", "step"])]

    def __str__(self) -> str:
        return f"{self.signer_name} ({self.get_capacity_display()}) {self.content_hash[:12]}"
