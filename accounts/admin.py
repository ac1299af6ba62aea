from django.contrib import admin

from accounts.models import ApiToken, Profile
from accounts.tokens import api_token_revoke
from core.admin import SuperuserOnlyAdmin


@admin.register(ApiToken)
class ApiTokenAdmin(SuperuserOnlyAdmin):
    """Tokens are made by their users on their 'API tokens' page; here they are read, and
    revoked when a user cannot."""

    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    fields = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "name", "prefix", "created_at", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(token=token)


@admin.register(Profile)
class ProfileAdmin(SuperuserOnlyAdmin):
    """People choose their preferences on their "Your settings" page; here they are read."""

    list_display = ["user", "time_zone"]
    list_filter = ["time_zone"]
    search_fields = ["user__username", "time_zone"]
    list_select_related = ["user"]
    fields = ["user", "time_zone"]
    readonly_fields = ["user", "time_zone"]
