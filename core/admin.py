from django.contrib import admin

from core.models import OutboxTask
from core.outbox import outbox_resend


class SuperuserOnlyAdmin(admin.ModelAdmin):
    """Rows that belong to a user rather than a project: superusers only."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


@admin.register(OutboxTask)
class OutboxTaskAdmin(SuperuserOnlyAdmin):
    """Work the broker could not take, waiting for `outbox_resend`: read here, sent again at
    once with the action, or removed when it should not run at all."""

    list_display = ["task", "args", "queue", "created_at", "attempts", "last_error"]
    list_filter = ["task"]
    readonly_fields = ["task", "args", "queue", "created_at", "attempts", "last_error"]
    actions = ["resend"]

    @admin.action(description="Send the selected tasks again now")
    def resend(self, request, queryset):
        sent = outbox_resend(pks=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{sent} task(s) sent; any the broker refused stay kept.")
