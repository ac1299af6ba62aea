from django.contrib import admin

from core.admin import SuperuserOnlyAdmin
from dashboards.models import StatusReportDelivery, StatusReportSubscription, StatusSnapshot


@admin.register(StatusSnapshot)
class StatusSnapshotAdmin(SuperuserOnlyAdmin):
    """Recorded by the daily task; read here, never edited."""

    list_display = ["project", "taken_on", "rag", "percent_complete", "schedule_days"]
    list_filter = ["rag", "project"]
    list_select_related = ["project"]
    date_hierarchy = "taken_on"

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StatusReportSubscription)
class StatusReportSubscriptionAdmin(SuperuserOnlyAdmin):
    list_display = ["user", "project", "programme", "created_at"]
    search_fields = ["user__username"]
    list_select_related = ["user", "project", "programme"]


@admin.register(StatusReportDelivery)
class StatusReportDeliveryAdmin(SuperuserOnlyAdmin):
    list_display = ["subscription", "week", "claimed_at", "sent_at"]
    list_filter = ["week"]
    list_select_related = [
        "subscription__user",
        "subscription__project",
        "subscription__programme",
    ]

    def has_delete_permission(self, request, obj=None):
        return False
