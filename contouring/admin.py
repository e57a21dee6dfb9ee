from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from contouring.models import (
    CaseStructure,
    ClinicalCase,
    ComparisonResult,
    ComparisonRun,
    Solution,
    Submission,
)


class CaseStructureInline(admin.TabularInline):
    model = CaseStructure
    extra = 0
    fields = ["name", "roi_number", "volume_cc", "is_compared"]
    readonly_fields = ["name", "roi_number", "volume_cc"]


@admin.register(ClinicalCase)
class ClinicalCaseAdmin(SimpleHistoryAdmin):
    list_display = ["title", "site", "pseudonym", "is_demo", "created_at"]
    list_filter = ["site", "is_demo"]
    search_fields = ["title", "pseudonym"]
    readonly_fields = [
        "pseudonym",
        "ct_sha256",
        "reference_sha256",
        "reference_stored_sha256",
        "ct_series_uid",
        "ct_frame_of_reference_uid",
        "ct_shape",
        "ct_spacing",
    ]
    exclude = ["uid_secret", "ct_files"]
    inlines = [CaseStructureInline]


@admin.register(Solution)
class SolutionAdmin(SimpleHistoryAdmin):
    list_display = ["vendor", "product", "model_version", "ce_marking", "is_simulated"]
    list_filter = ["ce_marking", "is_simulated"]


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ["case", "solution", "centre", "uploaded_at", "is_current", "sha256"]
    list_filter = ["case", "centre", "is_current"]
    readonly_fields = [
        "file",
        "sha256",
        "stored_sha256",
        "manufacturer",
        "manufacturer_model_name",
        "software_versions",
        "structure_set_date",
        "uploaded_by",
        "attested_no_retouch",
    ]


@admin.register(ComparisonRun)
class ComparisonRunAdmin(admin.ModelAdmin):
    list_display = ["case", "created_at", "finished_at", "engine_version"]


@admin.register(ComparisonResult)
class ComparisonResultAdmin(admin.ModelAdmin):
    list_display = ["case", "structure", "kind", "pair_key", "status", "dsc", "hd95_mm"]
    list_filter = ["case", "kind", "status"]
