from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from surveys.models import Campaign, Invitation, Questionnaire, QuestionnaireVersion, Response


@admin.register(Questionnaire)
class QuestionnaireAdmin(SimpleHistoryAdmin):
    list_display = ("title", "code", "is_demo")


@admin.register(QuestionnaireVersion)
class QuestionnaireVersionAdmin(SimpleHistoryAdmin):
    list_display = ("questionnaire", "number", "status", "published_at")
    list_filter = ("status",)


@admin.register(Campaign)
class CampaignAdmin(SimpleHistoryAdmin):
    list_display = ("title", "opens_on", "closes_on", "unit", "is_demo")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("campaign", "centre", "email", "expires_at", "opened_at")
    exclude = ("nonce", "token_hash")
    readonly_fields = ("sent_at", "opened_at", "reminder_count", "last_reminded_at")


@admin.register(Response)
class ResponseAdmin(SimpleHistoryAdmin):
    list_display = ("campaign", "centre", "status", "submitted_at", "is_demo")
    list_filter = ("status", "campaign")
    readonly_fields = ("snapshot",)
