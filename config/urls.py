from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(("config.api_urls", "api"), namespace="api")),
    path("", include("projects.urls")),
    path("", include("risks.urls")),
    path("", include("metrics.urls")),
    path("", include("gates.urls")),
]

handler500 = "config.database_unavailable.server_error"
