from django.urls import path

from plans import views

urlpatterns = [
    path("programmes/<slug:slug>/import/", views.plan_import_page, name="plan-import"),
    path("projects/<int:pk>/plan.md", views.project_plan_export, name="project-plan-export"),
]
