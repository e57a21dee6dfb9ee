"""Clinical cases, auto-contouring solutions, their RTSTRUCT submissions and the comparisons.

Every DICOM file is de-identified before it is stored (see :mod:`contouring.deidentify`);
a stored submission file is never modified afterwards: a new upload is a new submission.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from onco_hdf.models import Centre, Job
from onco_hdf.workflow import TransitionRecord


def _new_uid_secret() -> str:
    return secrets.token_hex(32)


class AnatomicalSite(models.TextChoices):
    PROSTATE = "prostate", _("Prostate / pelvis")
    HEAD_NECK = "head_neck", _("Head and neck")
    BREAST = "breast", _("Breast")
    THORAX = "thorax", _("Thorax")
    BRAIN = "brain", _("Brain")
    ABDOMEN = "abdomen", _("Abdomen")
    OTHER = "other", _("Other")


# CT window (width, level) in HU used for the slice overlays of each site.
SITE_WINDOWS: dict[str, tuple[int, int]] = {
    AnatomicalSite.PROSTATE: (400, 40),
    AnatomicalSite.HEAD_NECK: (350, 40),
    AnatomicalSite.BREAST: (400, 40),
    AnatomicalSite.THORAX: (1500, -600),
    AnatomicalSite.BRAIN: (80, 40),
    AnatomicalSite.ABDOMEN: (400, 50),
    AnatomicalSite.OTHER: (400, 40),
}


class ClinicalCase(models.Model):
    """A de-identified CT series with its expert reference contours."""

    title = models.CharField(_("title"), max_length=200)
    site = models.CharField(_("anatomical site"), max_length=20, choices=AnatomicalSite.choices)
    description = models.TextField(_("description"), blank=True)
    pseudonym = models.CharField(_("pseudonym"), max_length=40, unique=True)
    # Key of the UID remapping: several uploads of one case map the same UID the same way.
    uid_secret = models.CharField(max_length=64, default=_new_uid_secret, editable=False)
    ct_files = models.JSONField(default=list, editable=False)
    ct_sha256 = models.CharField(_("SHA-256 of the uploaded CT"), max_length=64, blank=True)
    ct_series_uid = models.CharField(max_length=64, blank=True)
    ct_frame_of_reference_uid = models.CharField(max_length=64, blank=True)
    ct_shape = models.JSONField(_("CT grid (slices, rows, columns)"), default=list, blank=True)
    ct_spacing = models.JSONField(_("voxel size (mm)"), default=list, blank=True)
    ct_manufacturer = models.CharField(_("CT manufacturer"), max_length=200, blank=True)
    reference_file = models.FileField(
        _("reference RTSTRUCT"), upload_to="contouring/cases/", max_length=300
    )
    reference_sha256 = models.CharField(_("SHA-256 of the uploaded reference"), max_length=64)
    reference_stored_sha256 = models.CharField(max_length=64, blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created on"), auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["uid_secret", "ct_files"])

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("clinical case")
        verbose_name_plural = _("clinical cases")

    def __str__(self) -> str:
        return self.title

    @property
    def window(self) -> tuple[int, int]:
        return SITE_WINDOWS.get(self.site, (400, 40))

    @property
    def ct_slice_count(self) -> int:
        return len(self.ct_files)


class CaseStructure(models.Model):
    """A structure of the reference contour set; ``is_compared`` marks the chosen ones."""

    case = models.ForeignKey(
        ClinicalCase, on_delete=models.CASCADE, related_name="structures", verbose_name=_("case")
    )
    name = models.CharField(_("name"), max_length=64)
    roi_number = models.PositiveIntegerField(_("ROI number"))
    colour = models.CharField(_("colour"), max_length=7, default="#ff0000")
    volume_cc = models.FloatField(_("volume (cm³)"), null=True, blank=True)
    is_compared = models.BooleanField(_("compared"), default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["case", "position", "pk"]
        verbose_name = _("case structure")
        verbose_name_plural = _("case structures")
        constraints = [
            models.UniqueConstraint(fields=["case", "name"], name="contouring_structure_unique")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_empty(self) -> bool:
        return not self.volume_cc


class CeMarking(models.TextChoices):
    MDR_IIB = "mdr_iib", _("CE marked, MDR class IIb")
    MDR_IIA = "mdr_iia", _("CE marked, MDR class IIa")
    MDR_I = "mdr_i", _("CE marked, MDR class I")
    MDD = "mdd", _("CE marked under the former directive (MDD)")
    NONE = "none", _("Not CE marked (research use)")
    UNKNOWN = "unknown", _("Unknown")


class Solution(models.Model):
    """An auto-contouring product in a given version."""

    vendor = models.CharField(_("vendor"), max_length=120)
    product = models.CharField(_("product"), max_length=120)
    model_version = models.CharField(_("model / version"), max_length=120)
    ce_marking = models.CharField(
        _("CE marking"), max_length=10, choices=CeMarking.choices, default=CeMarking.UNKNOWN
    )
    is_simulated = models.BooleanField(
        _("simulated"),
        default=False,
        help_text=_("A simulated solution of the demo; not a real product."),
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("registered by"),
    )
    created_at = models.DateTimeField(_("created on"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["vendor", "product", "model_version"]
        verbose_name = _("auto-contouring solution")
        verbose_name_plural = _("auto-contouring solutions")
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "product", "model_version"], name="contouring_solution_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.vendor} {self.product} {self.model_version}"


class Submission(models.Model):
    """One RTSTRUCT produced by a solution on a case's CT, for a centre; stored unmodified."""

    case = models.ForeignKey(
        ClinicalCase, on_delete=models.CASCADE, related_name="submissions", verbose_name=_("case")
    )
    solution = models.ForeignKey(
        Solution, on_delete=models.PROTECT, related_name="submissions", verbose_name=_("solution")
    )
    centre = models.ForeignKey(
        Centre,
        on_delete=models.PROTECT,
        related_name="contour_submissions",
        verbose_name=_("centre"),
    )
    file = models.FileField(_("RTSTRUCT file"), upload_to="contouring/submissions/", max_length=300)
    sha256 = models.CharField(_("SHA-256 of the uploaded file"), max_length=64)
    stored_sha256 = models.CharField(_("SHA-256 of the stored file"), max_length=64)
    manufacturer = models.CharField(_("Manufacturer"), max_length=200, blank=True)
    manufacturer_model_name = models.CharField(
        _("ManufacturerModelName"), max_length=200, blank=True
    )
    software_versions = models.CharField(_("SoftwareVersions"), max_length=200, blank=True)
    structure_set_date = models.DateField(_("StructureSetDate"), null=True, blank=True)
    provenance_justification = models.TextField(
        _("why the header differs from the declared solution"), blank=True
    )
    attested_no_retouch = models.BooleanField(_("no manual retouching attested"), default=False)
    is_current = models.BooleanField(
        _("current"),
        default=True,
        help_text=_("A later upload for the same case, solution and centre replaces this one."),
    )
    mapping_confirmed_at = models.DateTimeField(_("mapping confirmed on"), null=True, blank=True)
    mapping_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("mapping confirmed by"),
    )
    is_demo = models.BooleanField(_("demo data"), default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded on"), auto_now_add=True)

    class Meta:
        ordering = ["case", "uploaded_at", "pk"]
        verbose_name = _("RTSTRUCT submission")
        verbose_name_plural = _("RTSTRUCT submissions")
        constraints = [
            models.UniqueConstraint(fields=["case", "sha256"], name="contouring_submission_hash"),
            models.CheckConstraint(
                condition=Q(attested_no_retouch=True), name="contouring_submission_attested"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} — {self.case}"

    @property
    def label(self) -> str:
        return f"{self.solution.product} {self.solution.model_version} ({self.centre.label})"

    @property
    def short_label(self) -> str:
        return f"{self.solution.product} · {self.centre.label}"

    @property
    def is_mapped(self) -> bool:
        return self.mapping_confirmed_at is not None


class SubmissionRoi(models.Model):
    """A structure found in a submitted RTSTRUCT."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="rois")
    name = models.CharField(_("name"), max_length=64)
    roi_number = models.PositiveIntegerField(_("ROI number"))
    volume_cc = models.FloatField(_("volume (cm³)"), null=True, blank=True)
    colour = models.CharField(_("colour"), max_length=7, blank=True)

    class Meta:
        ordering = ["submission", "roi_number", "pk"]
        verbose_name = _("submitted structure")
        verbose_name_plural = _("submitted structures")

    def __str__(self) -> str:
        return self.name

    @property
    def is_empty(self) -> bool:
        return not self.volume_cc


class MappingStatus(models.TextChoices):
    SUGGESTED = "suggested", _("Suggested")
    CONFIRMED = "confirmed", _("Confirmed")


class MappingMethod(models.TextChoices):
    EXACT = "exact", _("Same name")
    NORMALISED = "normalised", _("Same name once normalised")
    SYNONYM = "synonym", _("Synonym / TG-263 name")
    MANUAL = "manual", _("Chosen by hand")
    NONE = "none", _("No match")


class StructureMapping(models.Model):
    """Which ROI of a submission stands for a case structure (None: the solution has none)."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="mappings")
    structure = models.ForeignKey(CaseStructure, on_delete=models.CASCADE, related_name="mappings")
    roi = models.ForeignKey(
        SubmissionRoi,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="mappings",
        verbose_name=_("submitted structure"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=MappingStatus.choices, default=MappingStatus.SUGGESTED
    )
    method = models.CharField(
        _("method"), max_length=12, choices=MappingMethod.choices, default=MappingMethod.NONE
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["submission", "structure__position", "pk"]
        verbose_name = _("structure mapping")
        verbose_name_plural = _("structure mappings")
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "structure"], name="contouring_mapping_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.structure} ← {self.roi or '—'}"


class ComparisonRun(models.Model):
    """One computation of every metric of a case (a background job)."""

    case = models.ForeignKey(ClinicalCase, on_delete=models.CASCADE, related_name="runs")
    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="comparison_run")
    include_consensus = models.BooleanField(_("include the majority-vote consensus"), default=True)
    hd95_method = models.CharField(max_length=10, default="pooled")
    taus = models.JSONField(default=list)
    engine_version = models.CharField(max_length=60, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    # The submissions compared, fixed at the start so that every structure's task of the
    # run compares the same contour sets.
    submission_ids = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("comparison run")
        verbose_name_plural = _("comparison runs")

    def __str__(self) -> str:
        return f"{self.case} — {self.created_at:%d/%m/%Y %H:%M}"


class RunStructure(models.Model):
    """One structure of a comparison run, computed by a task of its own (a part of the job).

    ``finished_at`` is set once, by the first delivery that stored the structure's results:
    a task run again (killed worker, duplicate message) replaces the rows, never counts twice.
    """

    run = models.ForeignKey(ComparisonRun, on_delete=models.CASCADE, related_name="parts")
    structure = models.ForeignKey(CaseStructure, on_delete=models.CASCADE, related_name="+")
    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="run_structure")
    warnings = models.JSONField(default=list, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "structure__position", "pk"]
        verbose_name = _("structure of a comparison run")
        verbose_name_plural = _("structures of a comparison run")
        constraints = [
            models.UniqueConstraint(fields=["run", "structure"], name="contouring_run_structure")
        ]

    def __str__(self) -> str:
        return f"{self.run} — {self.structure}"


class ResultKind(models.TextChoices):
    VS_REFERENCE = "reference", _("Solution vs reference")
    PAIR = "pair", _("Solution vs solution")
    CONSENSUS = "consensus", _("Consensus vs reference")
    STAPLE = "staple", _("STAPLE consensus vs reference")


class ComparisonResult(models.Model):
    """Every metric of one pair of contours of one structure (DESIGN.md §6).

    ``test`` is compared with the reference, or with ``other`` for a pair of solutions;
    both are empty for the consensus. Rows belong to their run: ``pair_key`` identifies the
    row within it, so a structure's task run twice replaces its own rows, and a case shows
    the rows of its last succeeded run only (``selectors.current_results``).
    """

    case = models.ForeignKey(ClinicalCase, on_delete=models.CASCADE, related_name="results")
    structure = models.ForeignKey(CaseStructure, on_delete=models.CASCADE, related_name="results")
    kind = models.CharField(_("kind"), max_length=10, choices=ResultKind.choices)
    pair_key = models.CharField(max_length=40)
    test = models.ForeignKey(
        Submission, on_delete=models.CASCADE, null=True, blank=True, related_name="results"
    )
    other = models.ForeignKey(
        Submission, on_delete=models.CASCADE, null=True, blank=True, related_name="pair_results"
    )
    run = models.ForeignKey(ComparisonRun, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(_("status"), max_length=20)
    reference_volume_cc = models.FloatField(null=True, blank=True)
    test_volume_cc = models.FloatField(null=True, blank=True)
    volume_ratio = models.FloatField(null=True, blank=True)
    dsc = models.FloatField(null=True, blank=True)
    jaccard = models.FloatField(null=True, blank=True)
    sensitivity = models.FloatField(null=True, blank=True)
    false_positive_cc = models.FloatField(null=True, blank=True)
    hausdorff_mm = models.FloatField(null=True, blank=True)
    hd95_mm = models.FloatField(null=True, blank=True)
    msd_mm = models.FloatField(null=True, blank=True)
    surface_dsc_1mm = models.FloatField(null=True, blank=True)
    surface_dsc_2mm = models.FloatField(null=True, blank=True)
    surface_dsc_3mm = models.FloatField(null=True, blank=True)
    apl_1mm = models.FloatField(null=True, blank=True)
    apl_2mm = models.FloatField(null=True, blank=True)
    apl_3mm = models.FloatField(null=True, blank=True)
    centroid_distance_mm = models.FloatField(null=True, blank=True)
    # The structure reaches the first or last CT slice (engine's ``touches_scan_end``): it
    # has a surface there, and near the scan's end its distances are bounded by the CT.
    reference_touches_scan_end = models.BooleanField(
        _("reference touches the CT's end"), default=False
    )
    test_touches_scan_end = models.BooleanField(_("solution touches the CT's end"), default=False)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["case", "structure__position", "pair_key"]
        verbose_name = _("comparison result")
        verbose_name_plural = _("comparison results")
        constraints = [
            models.UniqueConstraint(
                fields=["run", "structure", "pair_key"], name="contouring_result_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.structure} {self.pair_key}"

    @property
    def has_distances(self) -> bool:
        return self.status == "ok"

    @property
    def touches_scan_end(self) -> bool:
        return self.reference_touches_scan_end or self.test_touches_scan_end


class ProtocolConvention(models.TextChoices):
    DEFAULT = "default", _("Area-weighted surface elements, pooled HD95 (engine default)")
    DEEPMIND = "deepmind", _("DeepMind surface-distance (HD95 = maximum of the directed P95)")
    PLASTIMATCH = "plastimatch", _("plastimatch (boundary voxels, HD95 = mean of the directed P95)")


class ComparisonProtocol(models.Model):
    """A version of the comparison protocol: the cases, the solutions, the metric convention
    and the engine version the report is computed with, frozen when the version is created.

    The COPIL validates a protocol version (``onco_hdf.governance``); the comparison report
    on it cannot be marked final before that. ``content`` is the frozen description; a new
    version is created rather than changing one.
    """

    number = models.PositiveIntegerField(_("version"), unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    notes = models.TextField(_("notes"), blank=True)
    convention = models.CharField(
        _("metric convention"),
        max_length=20,
        choices=ProtocolConvention.choices,
        default=ProtocolConvention.DEFAULT,
    )
    hd95_method = models.CharField(_("HD95"), max_length=10)
    taus = models.JSONField(_("tolerances τ (mm)"), default=list)
    engine_version = models.CharField(_("engine version"), max_length=60)
    content = models.JSONField(_("cases and solutions"), default=dict, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created on"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-number"]
        verbose_name = _("comparison protocol version")
        verbose_name_plural = _("comparison protocol versions")

    def __str__(self) -> str:
        return f"{self.title} v{self.number}"

    @property
    def case_ids(self) -> list[int]:
        return [case["id"] for case in self.content.get("cases", [])]

    @property
    def solution_ids(self) -> list[int]:
        return [solution["id"] for solution in self.content.get("solutions", [])]


class ReportStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    FINAL = "final", _("Final")


class ComparisonReport(models.Model):
    """The comparison report on one protocol version: a draft until it is marked final."""

    protocol = models.OneToOneField(
        ComparisonProtocol,
        on_delete=models.PROTECT,
        related_name="report",
        verbose_name=_("protocol version"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.DRAFT
    )
    # What let it become final: the COPIL decision, or the project manager's override.
    decision = models.ForeignKey(
        "onco_hdf.CopilDecision",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("COPIL decision"),
    )
    override = models.ForeignKey(
        "onco_hdf.GateOverride",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("validation override"),
    )
    finalised_at = models.DateTimeField(_("marked final on"), null=True, blank=True)
    # The first PDF rendered once final, kept as the final report.
    file = models.FileField(
        _("final report (PDF)"), upload_to="contouring/reports/", max_length=300, blank=True
    )
    sha256 = models.CharField(_("SHA-256 of the final report"), max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("comparison report")
        verbose_name_plural = _("comparison reports")

    def __str__(self) -> str:
        return f"{self.protocol} — {self.get_status_display()}"

    @property
    def is_final(self) -> bool:
        return self.status == ReportStatus.FINAL

    def signatories(self) -> list:
        """Who marked the report final, and the COPIL decision that allowed it."""
        from onco_hdf.signing import Signatory

        signed = [
            Signatory(
                name=step.actor_name, capacity=str(_("marked the report final")), signed_at=step.at
            )
            for step in self.transitions.select_related("actor").filter(
                to_status=ReportStatus.FINAL
            )
        ]
        decision = self.decision
        if decision is not None and decision.decided_by is not None:
            person = decision.decided_by
            signed.insert(
                0,
                Signatory(
                    name=person.get_full_name() or person.username,
                    capacity=str(_("recorded the COPIL decision")),
                    signed_at=decision.decided_at,
                ),
            )
        return signed


class ComparisonReportTransition(TransitionRecord):
    report = models.ForeignKey(
        ComparisonReport, on_delete=models.CASCADE, related_name="transitions"
    )

    class Meta(TransitionRecord.Meta):
        verbose_name = _("comparison report transition")
        verbose_name_plural = _("comparison report transitions")


class ResultsColumns(models.Model):
    """The metric columns a user chose for the results tables (kept across visits)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contouring_columns"
    )
    columns = models.JSONField(_("columns"), default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("choice of result columns")
        verbose_name_plural = _("choices of result columns")

    def __str__(self) -> str:
        return f"{self.user} — {', '.join(self.columns)}"


class CaseDose(models.Model):
    """The reference plan's RTDOSE of a case (and optionally its RTPLAN), de-identified.

    Every structure set of the case gets its DVH on this one dose, so the dose differences
    between solutions come from their contours only.
    """

    case = models.OneToOneField(
        ClinicalCase, on_delete=models.CASCADE, related_name="dose", verbose_name=_("case")
    )
    file = models.FileField(_("RTDOSE file"), upload_to="contouring/cases/", max_length=300)
    sha256 = models.CharField(_("SHA-256 of the uploaded RTDOSE"), max_length=64)
    stored_sha256 = models.CharField(max_length=64, blank=True)
    plan_file = models.FileField(
        _("RTPLAN file"), upload_to="contouring/cases/", max_length=300, blank=True
    )
    plan_sha256 = models.CharField(_("SHA-256 of the uploaded RTPLAN"), max_length=64, blank=True)
    shape = models.JSONField(_("dose grid (planes, rows, columns)"), default=list)
    spacing = models.JSONField(_("dose voxel size (mm)"), default=list)
    max_dose_gy = models.FloatField(_("maximum dose (Gy)"))
    dose_type = models.CharField(_("DoseType"), max_length=16, blank=True)
    summation_type = models.CharField(_("DoseSummationType"), max_length=16)
    covers_whole_ct = models.BooleanField(_("the dose grid covers the whole CT"), default=True)
    plan_dvh_count = models.PositiveIntegerField(_("DVHs stored by the planning system"), default=0)
    prescription_gy = models.FloatField(_("prescribed dose (Gy)"), null=True, blank=True)
    # Our reference DVHs beside the planning system's (DVHSequence), from the last run.
    plan_comparison = models.JSONField(default=list, blank=True, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded on"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["plan_comparison"])

    class Meta:
        verbose_name = _("reference dose")
        verbose_name_plural = _("reference doses")

    def __str__(self) -> str:
        return f"RTDOSE — {self.case}"


def _short_number(value: float | None) -> str:
    from onco_hdf.numbers import decimals_needed, format_number

    return format_number(value, decimals_needed(value, 2)) if value is not None else ""


class ObjectiveMetric(models.TextChoices):
    DMEAN = "dmean", _("Dmean (mean dose)")
    DMAX = "dmax", _("Dmax (D0.03 cm³)")
    DMIN = "dmin", _("Dmin (minimum dose)")
    D_PERCENT = "d_pct", _("Dx (dose to x percent of the volume)")
    V_GY = "v_gy", _("Vx Gy (percent of the volume receiving x Gy)")


class Comparator(models.TextChoices):
    LT = "lt", "<"
    LE = "le", "≤"
    GT = "gt", ">"
    GE = "ge", "≥"


class ClinicalObjective(models.Model):
    """A dose objective for a structure named as in TG-263 (e.g. Heart Dmean < 4 Gy).

    Dose metrics (Dmean, Dmax, Dmin, Dx %) are compared in Gy, Vx Gy in % of the structure's
    volume. An objective with a site applies to the cases of that site only. The values are
    the project manager's to change; the comparison report prints them.
    """

    structure = models.CharField(
        _("structure (TG-263 name)"),
        max_length=64,
        help_text=_("The TG-263 name, e.g. Heart, Lung_L, SpinalCord, PTV."),
    )
    site = models.CharField(
        _("anatomical site"),
        max_length=20,
        choices=AnatomicalSite.choices,
        blank=True,
        help_text=_("Leave empty for an objective of every site."),
    )
    metric = models.CharField(_("metric"), max_length=8, choices=ObjectiveMetric.choices)
    level = models.FloatField(
        _("x (percent or Gy)"),
        null=True,
        blank=True,
        help_text=_("The x of Dx (in percent) or of Vx Gy (in Gy); empty for Dmean, Dmax, Dmin."),
    )
    comparator = models.CharField(_("comparison"), max_length=2, choices=Comparator.choices)
    threshold = models.FloatField(
        _("threshold"), help_text=_("In Gy for a dose, in percent of the volume for Vx Gy.")
    )
    note = models.CharField(
        _("note / source"),
        max_length=200,
        blank=True,
        help_text=_("E.g. QUANTEC, RTOG 0415, 95 percent of 50 Gy."),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["site", "structure", "metric", "level", "pk"]
        verbose_name = _("clinical objective")
        verbose_name_plural = _("clinical objectives")

    def __str__(self) -> str:
        return self.label

    @property
    def metric_label(self) -> str:
        level = _short_number(self.level)
        if self.metric == ObjectiveMetric.D_PERCENT:
            return f"D{level}\u00a0%"
        if self.metric == ObjectiveMetric.V_GY:
            return f"V{level}\u00a0Gy"
        return {"dmean": "Dmean", "dmax": "Dmax", "dmin": "Dmin"}.get(self.metric, self.metric)

    @property
    def unit(self) -> str:
        return "%" if self.metric == ObjectiveMetric.V_GY else "Gy"

    @property
    def goal_label(self) -> str:
        """ "< 4 Gy", "≥ 47,5 Gy"."""
        sign = Comparator(self.comparator).label
        return f"{sign}\u00a0{_short_number(self.threshold)}\u00a0{self.unit}"

    @property
    def label(self) -> str:
        return f"{self.structure} {self.metric_label} {self.goal_label}"

    def is_met(self, value: float | None) -> bool | None:
        if value is None:
            return None
        return {
            "lt": value < self.threshold,
            "le": value <= self.threshold,
            "gt": value > self.threshold,
            "ge": value >= self.threshold,
        }[self.comparator]


class DoseSetKind(models.TextChoices):
    REFERENCE = "reference", _("Reference")
    SOLUTION = "solution", _("Solution")
    CONSENSUS = "consensus", _("Majority-vote consensus")
    STAPLE = "staple", _("STAPLE consensus")


class StructureDose(models.Model):
    """The DVH statistics of one structure of one contour set on the case's reference dose.

    Doses in Gy, volumes in cm³; ``v_gy`` maps each objective's dose level ("20") to
    [cm³, % of the dosed volume]; ``curve`` is the cumulative DVH for the charts
    ({"dose": [Gy], "volume": [% of the dosed volume]}). A structure partly outside the
    dose grid has ``volume_without_dose_cc`` > 0; the statistics are those of the part
    that has a dose, never a dose of 0 Gy for the rest. Rows belong to their run, as the
    :class:`ComparisonResult` rows do.
    """

    case = models.ForeignKey(ClinicalCase, on_delete=models.CASCADE, related_name="doses")
    structure = models.ForeignKey(CaseStructure, on_delete=models.CASCADE, related_name="doses")
    kind = models.CharField(_("contour set"), max_length=10, choices=DoseSetKind.choices)
    set_key = models.CharField(max_length=40)
    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, null=True, blank=True, related_name="doses"
    )
    run = models.ForeignKey(ComparisonRun, on_delete=models.CASCADE, related_name="+")
    method = models.CharField(max_length=8, default="ct")
    volume_cc = models.FloatField(null=True, blank=True)
    volume_without_dose_cc = models.FloatField(default=0.0)
    dmean_gy = models.FloatField(null=True, blank=True)
    dmin_gy = models.FloatField(null=True, blank=True)
    dmax_gy = models.FloatField(null=True, blank=True)
    dpeak_gy = models.FloatField(null=True, blank=True)
    d2_gy = models.FloatField(null=True, blank=True)
    d50_gy = models.FloatField(null=True, blank=True)
    d95_gy = models.FloatField(null=True, blank=True)
    d98_gy = models.FloatField(null=True, blank=True)
    v_gy = models.JSONField(default=dict, blank=True)
    curve = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["case", "structure__position", "set_key"]
        verbose_name = _("DVH statistics")
        verbose_name_plural = _("DVH statistics")
        constraints = [
            models.UniqueConstraint(
                fields=["run", "structure", "set_key"], name="contouring_structure_dose_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.structure} {self.set_key}"

    @property
    def fraction_without_dose(self) -> float:
        return self.volume_without_dose_cc / self.volume_cc if self.volume_cc else 0.0

    @property
    def percent_without_dose(self) -> float:
        return 100.0 * self.fraction_without_dose

    @property
    def has_dose(self) -> bool:
        return self.dmean_gy is not None
