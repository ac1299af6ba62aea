from django.contrib import admin

from core.admin import SuperuserOnlyAdmin
from notifications.models import Notification, NotificationMute


@admin.register(Notification)
class NotificationAdmin(SuperuserOnlyAdmin):
    list_display = ["title", "user", "kind", "created_at", "read_at", "emailed_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "body", "user__username", "dedupe_key"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"


@admin.register(NotificationMute)
class NotificationMuteAdmin(SuperuserOnlyAdmin):
    list_display = ["user", "kind"]
    list_filter = ["kind"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
