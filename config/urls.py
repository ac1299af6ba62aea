from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("projects.urls")),
    path("", include("risks.urls")),
    path("", include("metrics.urls")),
    path("", include("gates.urls")),
]
