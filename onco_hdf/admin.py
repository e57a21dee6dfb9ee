from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from onco_hdf.models import Centre, IssuedDocument, Job, Membership


@admin.register(Centre)
class CentreAdmin(SimpleHistoryAdmin):
    list_display = ["name", "finess", "city", "departement", "sector", "is_active", "is_demo"]
    list_filter = ["departement", "sector", "is_active", "is_demo"]
    search_fields = ["name", "finess", "city"]


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ["user", "role", "centre"]
    list_filter = ["role", "centre"]
    search_fields = ["user__username", "user__last_name", "user__email"]
    autocomplete_fields = ["centre"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["label", "kind", "status", "progress", "created_by", "created_at"]
    list_filter = ["kind", "status"]
    readonly_fields = [f.name for f in Job._meta.fields]


@admin.register(IssuedDocument)
class IssuedDocumentAdmin(admin.ModelAdmin):
    """The record of issued official PDFs: read only (verification relies on it)."""

    list_display = ("issued_at", "title", "reference", "object_type", "object_id", "sha256")
    list_filter = ("object_type",)
    search_fields = ("title", "reference", "sha256", "content_sha256")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
