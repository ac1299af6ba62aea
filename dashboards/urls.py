from django.urls import path

from dashboards import views

urlpatterns = [
    path("projects/<int:pk>/", views.project_detail, name="project-detail"),
    path("", views.home, name="home"),
    path("programmes/<slug:slug>/", views.programme_detail, name="programme-detail"),
    path("programmes/<slug:slug>/live/", views.programme_live, name="programme-live"),
    path("programmes/<slug:slug>/report/", views.programme_report, name="programme-report"),
    path(
        "programmes/<slug:slug>/report.md",
        views.programme_report,
        {"fmt": "md"},
        name="programme-report-md",
    ),
    path(
        "programmes/<slug:slug>/report.pdf",
        views.programme_report,
        {"fmt": "pdf"},
        name="programme-report-pdf",
    ),
    path(
        "programmes/<slug:slug>/report/subscription/",
        views.programme_report_subscription,
        name="programme-report-subscription",
    ),
    path("help/status/", views.status_help, name="status-help"),
    path("projects/<int:pk>/status/", views.project_status, name="project-status"),
    path("projects/<int:pk>/status/live/", views.project_status_live, name="project-status-live"),
    path("kpis/<int:pk>/pin/", views.kpi_pin, name="kpi-pin"),
    path("projects/<int:pk>/report/", views.project_report, name="project-report"),
    path(
        "projects/<int:pk>/report.md", views.project_report, {"fmt": "md"}, name="project-report-md"
    ),
    path(
        "projects/<int:pk>/report.pdf",
        views.project_report,
        {"fmt": "pdf"},
        name="project-report-pdf",
    ),
    path(
        "projects/<int:pk>/report/subscription/",
        views.project_report_subscription,
        name="project-report-subscription",
    ),
]
