from django.contrib import admin
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.decorators.http import require_safe

# Models that moved out of the projects app: their old admin addresses lead to the new ones.
MOVED_ADMIN = {
    "apitoken": "accounts",
    "notification": "notifications",
    "notificationmute": "notifications",
    "outboxtask": "core",
    "statusreportdelivery": "dashboards",
    "statusreportsubscription": "dashboards",
    "statussnapshot": "dashboards",
}


def moved_admin(request, model: str, rest: str):
    query = request.META.get("QUERY_STRING", "")
    target = f"/admin/{MOVED_ADMIN[model]}/{model}/{rest}" + (f"?{query}" if query else "")
    return HttpResponsePermanentRedirect(target)


@require_safe
def favicon(request):
    """Browsers ask /favicon.ico whatever the page links: the icon is the static SVG."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    re_path(
        rf"^admin/projects/(?P<model>{'|'.join(MOVED_ADMIN)})/(?P<rest>.*)$",
        moved_admin,
        name="admin-moved",
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include(("config.api_urls", "api"), namespace="api")),
    path("", include("accounts.urls")),
    path("", include("notifications.urls")),
    path("", include("dashboards.urls")),
    path("", include("projects.urls")),
    path("", include("plans.urls")),
    path("", include("exchange.urls")),
    path("", include("risks.urls")),
    path("", include("metrics.urls")),
    path("", include("gates.urls")),
    path("", include("ops.urls")),
]

handler403 = "core.error_pages.permission_denied"
handler404 = "core.error_pages.page_not_found"
handler500 = "core.database_unavailable.server_error"
