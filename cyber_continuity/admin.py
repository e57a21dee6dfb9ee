from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from cyber_continuity import models


@admin.register(models.Machine)
class MachineAdmin(SimpleHistoryAdmin):
    list_display = ("name", "centre", "kind", "model", "beam_matching_group", "in_service")
    list_filter = ("kind", "in_service")


@admin.register(models.CapacityDeclaration)
class CapacityAdmin(SimpleHistoryAdmin):
    list_display = (
        "centre",
        "technique",
        "free_slots_per_day",
        "surge_slots_per_day",
        "attested_at",
    )


@admin.register(models.ConventionTemplate)
class ConventionTemplateAdmin(SimpleHistoryAdmin):
    list_display = ("title",)


@admin.register(models.Convention)
class ConventionAdmin(SimpleHistoryAdmin):
    list_display = ("title", "status", "template_version", "end_date")
    list_filter = ("status",)


@admin.register(models.Crisis)
class CrisisAdmin(SimpleHistoryAdmin):
    list_display = ("centre", "is_exercise", "status", "started_at")
    list_filter = ("is_exercise", "status")


@admin.register(models.CrisisKitEdition)
class CrisisKitEditionAdmin(admin.ModelAdmin):
    list_display = ("centre", "created_at", "reason", "pdf")
    list_filter = ("reason",)


class ScenarioInjectInline(admin.TabularInline):
    model = models.ScenarioInject
    extra = 0


@admin.register(models.ExerciseScenario)
class ExerciseScenarioAdmin(SimpleHistoryAdmin):
    list_display = ("title", "kind", "is_active", "updated_at")
    list_filter = ("kind", "is_active")
    inlines = [ScenarioInjectInline]


@admin.register(models.Exercise)
class ExerciseAdmin(SimpleHistoryAdmin):
    list_display = ("title", "status", "planned_for", "started_at")
    list_filter = ("status",)
