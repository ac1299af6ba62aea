from django.urls import path

from exchange import views

urlpatterns = [
    path("projects/<int:pk>/export.json", views.project_export_download, name="project-export"),
]
