"""Cyber-crisis continuity: registry, conventions, transfer plans, crises and exercises.

The registry (profiles, contacts, information systems, machines, capacities) holds no
patient data. Crises hold patient *groups* without identity.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from onco_hdf.models import Centre
from onco_hdf.workflow import TransitionRecord

User = settings.AUTH_USER_MODEL

# A capacity attestation older than this is stale (flagged, reminded).
ATTESTATION_MAX_AGE_DAYS = 30


class Technique(models.TextChoices):
    CONFORMAL_3D = "3d", _("3D conformal")
    IMRT_VMAT = "imrt_vmat", _("IMRT / VMAT")
    SBRT = "sbrt", _("SBRT (stereotactic body)")
    SRS = "srs", _("SRS (intracranial stereotactic)")
    TBI = "tbi", _("Total body irradiation")
    BRACHY_GYN = "brachy_gyn", _("Brachytherapy — gynaecological HDR")
    BRACHY_PROSTATE = "brachy_prostate", _("Brachytherapy — prostate")
    BRACHY_OTHER = "brachy_other", _("Brachytherapy — other")
    PAEDIATRIC = "paediatric", _("Paediatrics with anaesthesia")


# Techniques delivered on a linac: a receiver needs a compatible machine for them.
LINAC_TECHNIQUES = frozenset(
    {
        Technique.CONFORMAL_3D,
        Technique.IMRT_VMAT,
        Technique.SBRT,
        Technique.SRS,
        Technique.TBI,
        Technique.PAEDIATRIC,
    }
)


# --- Registry -------------------------------------------------------------------------
class CentreProfile(models.Model):
    centre = models.OneToOneField(
        Centre,
        on_delete=models.CASCADE,
        related_name="continuity_profile",
        verbose_name=_("centre"),
    )
    legal_entity = models.CharField(_("legal entity"), max_length=200, blank=True)
    address = models.TextField(_("address"), blank=True)
    switchboard_phone = models.CharField(
        _("switchboard"),
        max_length=30,
        blank=True,
        help_text=_("The centre's public number: shown to those who may not see crisis contacts."),
    )
    crisis_procedure = models.TextField(
        _("local crisis procedure"),
        blank=True,
        help_text=_("Where the paper procedure is kept, who activates it."),
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("centre continuity profile")
        verbose_name_plural = _("centre continuity profiles")

    def __str__(self) -> str:
        return str(self.centre)


class CrisisContact(models.Model):
    centre = models.ForeignKey(
        Centre, on_delete=models.CASCADE, related_name="crisis_contacts", verbose_name=_("centre")
    )
    name = models.CharField(_("name"), max_length=120)
    function = models.CharField(_("function"), max_length=120)
    mobile_phone = models.CharField(_("mobile phone"), max_length=30)
    messaging = models.CharField(
        _("out-of-band messaging"),
        max_length=120,
        blank=True,
        help_text=_(
            "Personal-network messaging handle (e.g. Signal, Tixeo): "
            "an attacked centre loses its e-mail."
        ),
    )
    email = models.EmailField(_("e-mail"), blank=True)
    backup_email = models.EmailField(
        _("out-of-band e-mail"),
        blank=True,
        help_text=_("An address outside the centre's information system."),
    )
    available_24_7 = models.BooleanField(_("reachable 24/7"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    history = HistoricalRecords()

    class Meta:
        ordering = ["centre", "order", "name"]
        verbose_name = _("crisis contact")
        verbose_name_plural = _("crisis contacts")

    def __str__(self) -> str:
        return f"{self.name} ({self.function})"


class SystemKind(models.TextChoices):
    OIS = "ois", _("OIS / record-and-verify")
    TPS = "tps", _("Treatment planning system")
    PACS = "pacs", _("PACS")
    OTHER = "other", _("Other")


class Hosting(models.TextChoices):
    ON_SITE = "on_site", _("On site")
    CLOUD = "cloud", _("Cloud")
    HYBRID = "hybrid", _("Hybrid")


class InformationSystem(models.Model):
    centre = models.ForeignKey(
        Centre,
        on_delete=models.CASCADE,
        related_name="information_systems",
        verbose_name=_("centre"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=SystemKind.choices)
    vendor = models.CharField(_("vendor"), max_length=100)
    product = models.CharField(_("product"), max_length=100)
    version = models.CharField(_("version"), max_length=50, blank=True)
    hosting = models.CharField(_("hosting"), max_length=10, choices=Hosting.choices)
    backup_strategy = models.TextField(_("backup strategy"), blank=True)
    last_restore_test = models.DateField(_("last restore test"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["centre", "kind", "product"]
        verbose_name = _("information system")
        verbose_name_plural = _("information systems")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.vendor} {self.product} {self.version}".strip()


class MachineKind(models.TextChoices):
    LINAC = "linac", _("Linear accelerator")
    CT_SIMULATOR = "ct_sim", _("CT simulator")
    BRACHY = "brachy", _("Brachytherapy afterloader")
    OTHER = "other", _("Other device")


class Machine(models.Model):
    centre = models.ForeignKey(
        Centre, on_delete=models.CASCADE, related_name="machines", verbose_name=_("centre")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=MachineKind.choices)
    name = models.CharField(_("name"), max_length=80)
    manufacturer = models.CharField(_("manufacturer"), max_length=80)
    model = models.CharField(_("model"), max_length=80)
    mlc = models.CharField(_("MLC"), max_length=80, blank=True)
    energies = models.CharField(
        _("energies"), max_length=120, blank=True, help_text=_("e.g. 6 MV, 10 MV, 6 FFF, 10 FFF")
    )
    has_fff = models.BooleanField(_("FFF beams"), default=False)
    igrt = models.CharField(
        _("IGRT"), max_length=120, blank=True, help_text=_("e.g. kV CBCT, surface guidance")
    )
    sbrt_capable = models.BooleanField(_("SBRT capable"), default=False)
    srs_capable = models.BooleanField(_("SRS capable"), default=False)
    beam_matching_group = models.CharField(
        _("beam-matching group"),
        max_length=60,
        blank=True,
        help_text=_("Machines of one group are dosimetrically matched: a plan moves as is."),
    )
    in_service = models.BooleanField(_("in service"), default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["centre", "kind", "name"]
        verbose_name = _("machine")
        verbose_name_plural = _("machines")

    def __str__(self) -> str:
        return f"{self.name} ({self.manufacturer} {self.model})"


class CapacityDeclaration(models.Model):
    """A technique offered by a centre, and the free slots it can give to another centre."""

    centre = models.ForeignKey(
        Centre, on_delete=models.CASCADE, related_name="capacities", verbose_name=_("centre")
    )
    technique = models.CharField(_("technique"), max_length=20, choices=Technique.choices)
    free_slots_per_day = models.PositiveSmallIntegerField(_("free slots per day"), default=0)
    surge_slots_per_day = models.PositiveSmallIntegerField(
        _("surge slots per day"),
        default=0,
        help_text=_("Extra slots opened in a crisis (extended hours)."),
    )
    attested_at = models.DateTimeField(_("last attestation"), null=True, blank=True)
    attested_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("attested by"),
    )
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    history = HistoricalRecords(excluded_fields=["reminded_at"])

    class Meta:
        ordering = ["centre", "technique"]
        verbose_name = _("capacity declaration")
        verbose_name_plural = _("capacity declarations")
        constraints = [
            models.UniqueConstraint(fields=["centre", "technique"], name="capacity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.centre.label} — {self.get_technique_display()}"

    @property
    def is_stale(self) -> bool:
        return is_attestation_stale(self.attested_at)


class MachineCapacity(models.Model):
    """The free slots of one machine for a technique: the split of a declaration.

    Optional: a declaration without machine lines keeps its technique-level slots. With
    lines, the technique's free slots are the sum over the machines in service.
    """

    capacity = models.ForeignKey(
        CapacityDeclaration,
        on_delete=models.CASCADE,
        related_name="machine_slots",
        verbose_name=_("capacity declaration"),
    )
    machine = models.ForeignKey(
        Machine, on_delete=models.CASCADE, related_name="capacity_slots", verbose_name=_("machine")
    )
    free_slots_per_day = models.PositiveSmallIntegerField(_("free slots per day"), default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["capacity", "machine__name"]
        verbose_name = _("machine capacity")
        verbose_name_plural = _("machine capacities")
        constraints = [
            models.UniqueConstraint(fields=["capacity", "machine"], name="machine_capacity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.capacity} — {self.machine.name}"


def is_attestation_stale(attested_at, now=None) -> bool:
    now = now or timezone.now()
    return attested_at is None or attested_at < now - timedelta(days=ATTESTATION_MAX_AGE_DAYS)


# --- Conventions ----------------------------------------------------------------------
class ClauseKind(models.TextChoices):
    PARTIES = "parties", _("Parties")
    SCOPE = "scope", _("Scope and triggers")
    ACTIVATION = "activation", _("Activation and contacts")
    RESPONSIBILITY = "responsibility", _("Medical and physics responsibility")
    RADIATION_PROTECTION = "radiation_protection", _("Radiation protection")
    STAFF = "staff", _("Staff made available")
    DATA = "data", _("Data exchange, GDPR and HDS")
    BILLING = "billing", _("Billing")
    INSURANCE = "insurance", _("Insurance")
    QUALITY = "quality", _("Quality and event reporting")
    DURATION = "duration", _("Duration")
    OTHER = "other", _("Other clause")


class ConventionTemplate(models.Model):
    title = models.CharField(_("title"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_demo = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["title"]
        verbose_name = _("convention template")
        verbose_name_plural = _("convention templates")

    def __str__(self) -> str:
        return self.title

    def latest_published(self):
        return self.versions.filter(published_at__isnull=False).order_by("-number").first()


class ConventionTemplateVersion(models.Model):
    template = models.ForeignKey(
        ConventionTemplate,
        on_delete=models.CASCADE,
        related_name="versions",
        verbose_name=_("template"),
    )
    number = models.PositiveSmallIntegerField(_("version"))
    notes = models.TextField(_("what changed"), blank=True)
    published_at = models.DateTimeField(_("published on"), null=True, blank=True)
    published_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["template", "-number"]
        verbose_name = _("template version")
        verbose_name_plural = _("template versions")
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="template_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.template.title} — v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class TemplateClause(models.Model):
    version = models.ForeignKey(
        ConventionTemplateVersion, on_delete=models.CASCADE, related_name="clauses"
    )
    order = models.PositiveSmallIntegerField(_("order"))
    kind = models.CharField(_("kind"), max_length=30, choices=ClauseKind.choices)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), help_text=_("Placeholders such as {{centre_a.name}}."))
    negotiable = models.BooleanField(_("negotiable"), default=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["version", "order"]
        verbose_name = _("template clause")
        verbose_name_plural = _("template clauses")

    def __str__(self) -> str:
        return self.title


class ConventionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    NEGOTIATION = "negotiation", _("Negotiation")
    AWAITING_SIGNATURE = "awaiting_signature", _("Awaiting signature")
    IN_FORCE = "in_force", _("In force")
    RENEWAL_DUE = "renewal_due", _("Renewal due")
    EXPIRED = "expired", _("Expired")
    TERMINATED = "terminated", _("Terminated")


# Non-parties never see a convention before it is signed.
UNSIGNED_STATUSES = frozenset(
    {ConventionStatus.DRAFT, ConventionStatus.NEGOTIATION, ConventionStatus.AWAITING_SIGNATURE}
)
EDITABLE_STATUSES = frozenset({ConventionStatus.DRAFT, ConventionStatus.NEGOTIATION})
ACTIVE_STATUSES = frozenset({ConventionStatus.IN_FORCE, ConventionStatus.RENEWAL_DUE})


class Convention(models.Model):
    title = models.CharField(_("title"), max_length=200)
    template_version = models.ForeignKey(
        ConventionTemplateVersion,
        on_delete=models.PROTECT,
        related_name="conventions",
        verbose_name=_("template version"),
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ConventionStatus.choices,
        default=ConventionStatus.DRAFT,
    )
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    is_demo = models.BooleanField(default=False, editable=False)
    # An amendment replaces the convention it amends once all parties signed it.
    amends = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="amendments",
        verbose_name=_("amends"),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("convention")
        verbose_name_plural = _("conventions")

    def __str__(self) -> str:
        return self.title

    @property
    def is_outdated(self) -> bool:
        latest = self.template_version.template.latest_published()
        return latest is not None and latest.number > self.template_version.number

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def signature_content(self, capacity: str | None = None) -> dict:
        """What the parties sign (onco_hdf.signatures): parties and clauses, not the status
        nor the dates the workflow sets when the convention comes into force."""
        return {
            "document": "convention",
            "id": self.pk,
            "title": self.title,
            "template": self.template_version.template.title,
            "template_version": self.template_version.number,
            "amends": self.amends_id,
            "parties": [
                {"centre": p.centre.name, "finess": p.centre.finess}
                for p in self.parties.select_related("centre").order_by("centre__name")
            ],
            "clauses": [
                {"order": c.order, "kind": c.kind, "title": c.title, "body": c.body}
                for c in self.clauses.order_by("order", "pk")
            ],
        }

    def signatories(self) -> list:
        """The parties' signature acts, as the signed PDF's signature block lists them."""
        from onco_hdf.signing import signatories_from_acts

        return signatories_from_acts(self)


class ConventionParty(models.Model):
    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="parties")
    centre = models.ForeignKey(
        Centre,
        on_delete=models.PROTECT,
        related_name="convention_parties",
        verbose_name=_("centre"),
    )
    signed_at = models.DateTimeField(_("signed on"), null=True, blank=True)
    signed_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("signed by"),
    )
    # The signature act (legal representative, re-authenticated); empty for the
    # signatures recorded before signature acts existed.
    signature = models.ForeignKey(
        "onco_hdf.Signature",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("signature"),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["convention", "centre__name"]
        constraints = [
            models.UniqueConstraint(fields=["convention", "centre"], name="party_unique")
        ]

    def __str__(self) -> str:
        return f"{self.convention} — {self.centre.label}"


class ConventionClause(models.Model):
    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="clauses")
    order = models.PositiveSmallIntegerField(_("order"))
    kind = models.CharField(_("kind"), max_length=30, choices=ClauseKind.choices)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    negotiable = models.BooleanField(_("negotiable"), default=False)
    # Optimistic concurrency: a save must carry the version it started from.
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["convention", "order"]
        verbose_name = _("convention clause")
        verbose_name_plural = _("convention clauses")

    def __str__(self) -> str:
        return self.title


class ConventionClauseEdit(models.Model):
    """One saved edit of a clause, kept for the readable diff."""

    clause = models.ForeignKey(ConventionClause, on_delete=models.CASCADE, related_name="edits")
    user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField()
    old_body = models.TextField()
    new_body = models.TextField()

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.clause} v{self.version}"


class ConventionTransition(TransitionRecord):
    """A convention's move: who, when, from, to, why (onco_hdf.workflow)."""

    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(
        _("from"), max_length=30, choices=ConventionStatus.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=30, choices=ConventionStatus.choices)

    class Meta(TransitionRecord.Meta):
        verbose_name = _("convention transition")
        verbose_name_plural = _("convention transitions")

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"


# --- Transfer plans -------------------------------------------------------------------
class TransferPlanEntry(models.Model):
    centre = models.ForeignKey(
        Centre, on_delete=models.CASCADE, related_name="transfer_plan", verbose_name=_("centre")
    )
    technique = models.CharField(_("technique"), max_length=20, choices=Technique.choices)
    rank = models.PositiveSmallIntegerField(_("rank"), default=1)
    receiving_centre = models.ForeignKey(
        Centre,
        on_delete=models.CASCADE,
        related_name="receiving_plans",
        verbose_name=_("receiving centre"),
    )
    notes = models.CharField(_("notes"), max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["centre", "technique", "rank"]
        verbose_name = _("transfer plan entry")
        verbose_name_plural = _("transfer plan entries")
        constraints = [
            models.UniqueConstraint(
                fields=["centre", "technique", "receiving_centre"], name="plan_unique_receiver"
            ),
            models.CheckConstraint(
                condition=~models.Q(centre=models.F("receiving_centre")), name="plan_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.centre.label} → {self.receiving_centre.label} ({self.technique})"


# --- Crises and exercises -------------------------------------------------------------
class CrisisStatus(models.TextChoices):
    ALERT = "alert", _("Alert")
    DECLARED = "declared", _("Declared")
    TRANSFERS = "transfers", _("Transfers in progress")
    STABILISED = "stabilised", _("Stabilised")
    RETURN = "return", _("Return in progress")
    LIFTED = "lifted", _("Lifted")
    RETEX = "retex", _("Lessons learned (RETEX)")
    CLOSED = "closed", _("Closed")


# The affected centre is "down" while the crisis is acute, "degraded" at its edges.
DOWN_STATUSES = frozenset({CrisisStatus.DECLARED, CrisisStatus.TRANSFERS})
DEGRADED_STATUSES = frozenset({CrisisStatus.ALERT, CrisisStatus.STABILISED, CrisisStatus.RETURN})
OPEN_STATUSES = frozenset(set(CrisisStatus) - {CrisisStatus.CLOSED})
ACUTE_STATUSES = DOWN_STATUSES | {CrisisStatus.ALERT, CrisisStatus.STABILISED}


class Crisis(models.Model):
    centre = models.ForeignKey(
        Centre, on_delete=models.PROTECT, related_name="crises", verbose_name=_("affected centre")
    )
    is_exercise = models.BooleanField(_("exercise (drill)"), default=False)
    status = models.CharField(
        _("status"), max_length=12, choices=CrisisStatus.choices, default=CrisisStatus.ALERT
    )
    systems_down = models.JSONField(_("systems down"), default=list, blank=True)
    description = models.TextField(_("description"), blank=True)
    started_at = models.DateTimeField(_("alert raised at"), default=timezone.now)
    declared_at = models.DateTimeField(_("declared at"), null=True, blank=True)
    declared_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("declared by")
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # The scheduled exercise this drill crisis is played in (one crisis per centre of it).
    exercise = models.ForeignKey(
        "Exercise",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="crises",
        verbose_name=_("exercise"),
    )
    is_demo = models.BooleanField(default=False, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("crisis")
        verbose_name_plural = _("crises")

    def __str__(self) -> str:
        kind = _("Exercise") if self.is_exercise else _("Crisis")
        return f"{kind} — {self.centre.label} — {timezone.localtime(self.started_at):%d/%m/%Y}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class CrisisTransition(TransitionRecord):
    """A crisis's move: who, when, from, to, why (onco_hdf.workflow)."""

    crisis = models.ForeignKey(Crisis, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(
        _("from"), max_length=30, choices=CrisisStatus.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=30, choices=CrisisStatus.choices)

    class Meta(TransitionRecord.Meta):
        verbose_name = _("crisis transition")
        verbose_name_plural = _("crisis transitions")

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"


class CrisisEvent(models.Model):
    """One line of the crisis timeline."""

    crisis = models.ForeignKey(Crisis, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    text = models.TextField(_("event"))

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return self.text[:60]


class UrgencyCategory(models.IntegerChoices):
    CATEGORY_1 = 1, _("Category 1 — interruption worsens outcome (head and neck, cervix, lung…)")
    CATEGORY_2 = 2, _("Category 2 — other curative treatment")
    CATEGORY_3 = 3, _("Category 3 — palliative or benign")


# Days an interrupted treatment may wait before the interruption itself harms the patient,
# by urgency category. Adapted from the Royal College of Radiologists' categories ("The
# timely delivery of radical radiotherapy"): category 1 = tumours whose control falls
# with every extra day of overall treatment time (head and neck and cervix squamous
# carcinomas, lung, oesophagus, anal canal...): no more than 2 days of prolongation;
# category 2 = other curative treatments (prostate, breast...): a few days; category 3 =
# palliative or benign: about ten days. Regional defaults, to be confirmed by the COPIL.
HARM_TOLERANCE_DAYS = {1: 2, 2: 5, 3: 10}


def harm_deadline(*, category: int, last_fraction_on: date) -> date:
    return last_fraction_on + timedelta(days=HARM_TOLERANCE_DAYS[category])


class PatientGroup(models.Model):
    """Patients under treatment grouped WITHOUT identity ("6 patients, VMAT prostate…")."""

    crisis = models.ForeignKey(Crisis, on_delete=models.CASCADE, related_name="patient_groups")
    label = models.CharField(
        _("description"), max_length=150, help_text=_("No identity: e.g. “VMAT prostate”.")
    )
    technique = models.CharField(_("technique"), max_length=20, choices=Technique.choices)
    category = models.PositiveSmallIntegerField(_("category"), choices=UrgencyCategory.choices)
    patient_count = models.PositiveSmallIntegerField(_("number of patients"))
    fractions_left = models.PositiveSmallIntegerField(_("fractions left"))
    last_fraction_on = models.DateField(_("last fraction delivered on"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["category", "last_fraction_on", "pk"]
        verbose_name = _("patient group")
        verbose_name_plural = _("patient groups")

    def __str__(self) -> str:
        return f"{self.patient_count} × {self.label}"

    def harm_deadline(self) -> date:
        return harm_deadline(category=self.category, last_fraction_on=self.last_fraction_on)

    def days_before_harm(self, today: date | None = None) -> int:
        today = today or timezone.localdate()
        return (self.harm_deadline() - today).days


class TransferStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    ACCEPTED = "accepted", _("Accepted")
    REFUSED = "refused", _("Refused")
    TREATING = "treating", _("First fraction delivered")
    RETURNED = "returned", _("Returned to the home centre")


class Transfer(models.Model):
    group = models.ForeignKey(PatientGroup, on_delete=models.CASCADE, related_name="transfers")
    receiving_centre = models.ForeignKey(
        Centre,
        on_delete=models.PROTECT,
        related_name="received_transfers",
        verbose_name=_("receiving centre"),
    )
    patient_count = models.PositiveSmallIntegerField(_("number of patients"))
    # The receiver's machine whose slots the transfer uses; none: the technique's total.
    receiving_machine = models.ForeignKey(
        Machine,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("receiving machine"),
    )
    plan_transferable = models.BooleanField(_("plan transferable"), default=False)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=TransferStatus.choices,
        default=TransferStatus.PROPOSED,
    )
    proposed_at = models.DateTimeField(default=timezone.now)
    proposed_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    responded_at = models.DateTimeField(null=True, blank=True)
    responded_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    response_comment = models.CharField(_("comment"), max_length=300, blank=True)
    # An answer given by phone and typed in by the project manager for the receiver.
    answered_by_name = models.CharField(
        _("answer given by"), max_length=120, blank=True, help_text=_("Name and function.")
    )
    recorded_on_behalf = models.BooleanField(_("recorded on behalf of the receiver"), default=False)
    first_fraction_on = models.DateField(_("first fraction there on"), null=True, blank=True)
    # When the receiver recorded that first fraction: the clock of the exercise metric.
    first_fraction_recorded_at = models.DateTimeField(null=True, blank=True, editable=False)
    returned_on = models.DateField(_("returned on"), null=True, blank=True)

    class Meta:
        ordering = ["proposed_at", "pk"]
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")

    def __str__(self) -> str:
        return f"{self.group} → {self.receiving_centre.label}"


class ActionStatus(models.TextChoices):
    TODO = "todo", _("To do")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")


class CrisisAction(models.Model):
    """An improvement action (RETEX) decided after a crisis or an exercise."""

    crisis = models.ForeignKey(
        Crisis, on_delete=models.CASCADE, related_name="actions", null=True, blank=True
    )
    exercise = models.ForeignKey(
        "Exercise", on_delete=models.CASCADE, related_name="actions", null=True, blank=True
    )
    title = models.CharField(_("action"), max_length=200)
    owner = models.CharField(_("owner"), max_length=120)
    due_date = models.DateField(_("due date"))
    status = models.CharField(
        _("status"), max_length=12, choices=ActionStatus.choices, default=ActionStatus.TODO
    )
    done_at = models.DateTimeField(_("done on"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_date", "pk"]
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(crisis__isnull=False, exercise__isnull=True)
                | models.Q(crisis__isnull=True, exercise__isnull=False),
                name="action_of_crisis_or_exercise",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return self.status != ActionStatus.DONE and self.due_date < timezone.localdate()


class DownSystem(models.TextChoices):
    OIS = "ois", _("OIS / record-and-verify")
    TPS = "tps", _("Treatment planning system")
    PACS = "pacs", _("PACS")
    EMAIL = "email", _("E-mail")
    TELEPHONY = "telephony", _("Telephony")
    NETWORK = "network", _("Network / workstations")
    LINAC_CONSOLES = "consoles", _("Treatment consoles")


# --- Exercises ------------------------------------------------------------------------
class ScenarioKind(models.TextChoices):
    RANSOMWARE_OIS = "ransomware_ois", _("Ransomware on the OIS")
    TPS_DOWN = "tps_down", _("Treatment planning system down")
    NETWORK_CUT = "network_cut", _("Network cut")
    RECEIVER_DOWN = "receiver_down", _("A receiving centre down too")
    OTHER = "other", _("Other")


class ExerciseScenario(models.Model):
    """A scenario of the regional exercise library, kept by the project manager."""

    title = models.CharField(_("title"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=ScenarioKind.choices)
    description = models.TextField(_("description"), blank=True)
    objectives = models.TextField(_("objectives"), blank=True)
    systems_down = models.JSONField(_("systems down"), default=list, blank=True)
    is_active = models.BooleanField(_("offered for new exercises"), default=True)
    updated_at = models.DateTimeField(_("updated on"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["title"]
        verbose_name = _("exercise scenario")
        verbose_name_plural = _("exercise scenarios")

    def __str__(self) -> str:
        return self.title


class ScenarioInject(models.Model):
    """A planned event of a scenario, announced to the players at its time."""

    scenario = models.ForeignKey(ExerciseScenario, on_delete=models.CASCADE, related_name="injects")
    minutes_after_start = models.PositiveIntegerField(_("minutes after the start"))
    text = models.CharField(_("inject"), max_length=500)

    class Meta:
        ordering = ["minutes_after_start", "pk"]
        verbose_name = _("inject")
        verbose_name_plural = _("injects")

    def __str__(self) -> str:
        return f"T+{self.minutes_after_start} — {self.text[:50]}"


class ExerciseStatus(models.TextChoices):
    PLANNED = "planned", pgettext_lazy("exercise", "Planned")
    RUNNING = "running", pgettext_lazy("exercise", "Under way")
    DONE = "done", pgettext_lazy("exercise", "Done")
    CANCELLED = "cancelled", pgettext_lazy("exercise", "Cancelled")


class Exercise(models.Model):
    """A scheduled exercise for one centre or several, played from a scenario."""

    title = models.CharField(_("title"), max_length=200)
    scenario = models.ForeignKey(
        ExerciseScenario,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="exercises",
        verbose_name=_("scenario"),
    )
    centres = models.ManyToManyField(Centre, related_name="exercises", verbose_name=_("centres"))
    planned_for = models.DateTimeField(_("planned for"))
    status = models.CharField(
        _("status"), max_length=12, choices=ExerciseStatus.choices, default=ExerciseStatus.PLANNED
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-planned_for", "-pk"]
        verbose_name = _("exercise")
        verbose_name_plural = _("exercises")

    def __str__(self) -> str:
        return f"{self.title} — {timezone.localtime(self.when):%d/%m/%Y}"

    @property
    def when(self):
        """When it was played, else when it is planned."""
        return self.started_at or self.planned_for


class ExerciseInject(models.Model):
    """An inject of an exercise: from its scenario (with its time) or free; played or not."""

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="injects")
    minutes_after_start = models.PositiveIntegerField(
        _("minutes after the start"), null=True, blank=True
    )
    text = models.CharField(_("inject"), max_length=500)
    is_free = models.BooleanField(_("free inject"), default=False)
    played_at = models.DateTimeField(_("played at"), null=True, blank=True)
    played_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = [models.F("minutes_after_start").asc(nulls_last=True), "played_at", "pk"]
        verbose_name = _("inject")
        verbose_name_plural = _("injects")

    def __str__(self) -> str:
        return self.text[:60]


# --- Authorities and mandatory reporting ----------------------------------------------
class AuthorityKind(models.TextChoices):
    ARS = "ars", _("Regional health agency (ARS)")
    CERT_SANTE = "cert_sante", _("CERT Santé / ANS")
    ASN = "asn", _("Nuclear safety authority (ASN), Lille division")
    DSRC = "dsrc", _("DSR-C ONCO HDF crisis cell")
    CENTRE_IT = "centre_it", _("Centre IT on-call")
    CENTRE_MANAGEMENT = "centre_management", _("Centre management on-call")
    OTHER = "other", _("Other")


class Authority(models.Model):
    """One line of the regional directory a crisis needs, kept by the project manager."""

    kind = models.CharField(_("kind"), max_length=20, choices=AuthorityKind.choices)
    name = models.CharField(_("name"), max_length=200)
    centre = models.ForeignKey(
        Centre,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="authorities",
        verbose_name=_("centre"),
        help_text=_("For a centre's IT or management on-call."),
    )
    phone = models.CharField(_("phone"), max_length=30)
    email = models.EmailField(_("e-mail"), blank=True)
    portal_url = models.URLField(_("reporting portal"), blank=True)
    notes = models.CharField(_("notes"), max_length=300, blank=True)
    checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    checked_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("authority")
        verbose_name_plural = _("authorities")

    def __str__(self) -> str:
        return self.name

    @property
    def is_stale(self) -> bool:
        return is_attestation_stale(self.checked_at)


class ReportRecipient(models.TextChoices):
    ARS = "ars", _("ARS (health events portal)")
    CERT_SANTE = "cert_sante", _("CERT Santé (health events portal)")


class CrisisReport(models.Model):
    """A mandatory declaration of the incident, made on the national portal."""

    crisis = models.ForeignKey(Crisis, on_delete=models.CASCADE, related_name="reports")
    recipient = models.CharField(_("declared to"), max_length=20, choices=ReportRecipient.choices)
    declared_at = models.DateTimeField(_("declared at"))
    reference = models.CharField(_("reference number"), max_length=80)
    declared_by = models.CharField(_("declared by"), max_length=120)
    recorded_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["declared_at", "pk"]
        verbose_name = _("mandatory report")
        verbose_name_plural = _("mandatory reports")
        constraints = [
            models.UniqueConstraint(fields=["crisis", "recipient"], name="crisis_report_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_recipient_display()} — {self.reference}"


class KitReason(models.TextChoices):
    MONTHLY = "monthly", _("Monthly regeneration")
    PLAN_CHANGE = "plan_change", _("Transfer plan changed")


class CrisisKitEdition(models.Model):
    """One printed-ready edition of a centre's crisis kit; previous editions are kept."""

    centre = models.ForeignKey(
        Centre, on_delete=models.CASCADE, related_name="kit_editions", verbose_name=_("centre")
    )
    created_at = models.DateTimeField(_("generated on"), default=timezone.now)
    reason = models.CharField(_("reason"), max_length=20, choices=KitReason.choices)
    pdf = models.FileField(_("PDF"), upload_to="continuity/kits/%Y/%m/")

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("crisis kit edition")
        verbose_name_plural = _("crisis kit editions")

    def __str__(self) -> str:
        return f"{self.centre.label} — {timezone.localtime(self.created_at):%d/%m/%Y %H:%M}"
