from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from habilitations.models import (
    Activity,
    CatalogueVersion,
    Domain,
    HabilitationSheet,
    Reminder,
    SheetLine,
    SheetTransition,
)


@admin.register(CatalogueVersion)
class CatalogueVersionAdmin(SimpleHistoryAdmin):
    list_display = ["number", "label", "status", "published_at"]


@admin.register(Domain)
class DomainAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "version"]
    list_filter = ["version"]


@admin.register(Activity)
class ActivityAdmin(SimpleHistoryAdmin):
    list_display = ["code", "label", "domain", "version"]
    list_filter = ["version"]


class SheetLineInline(admin.TabularInline):
    model = SheetLine
    extra = 0
    fields = ["activity", "level_requested", "level_granted", "validation_date", "expiry_date"]
    readonly_fields = fields


class SheetTransitionInline(admin.TabularInline):
    model = SheetTransition
    extra = 0
    fields = ["at", "action", "from_status", "to_status", "actor", "comment"]
    readonly_fields = fields


@admin.register(HabilitationSheet)
class HabilitationSheetAdmin(SimpleHistoryAdmin):
    list_display = ["physician", "centre", "status", "catalogue_version", "valid_until"]
    list_filter = ["status", "centre"]
    readonly_fields = ["status", "revision"]
    inlines = [SheetLineInline, SheetTransitionInline]


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ["sheet", "target_key", "expiry_date", "days_before", "sent_on"]
