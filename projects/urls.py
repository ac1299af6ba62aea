from django.contrib.auth import views as auth_views
from django.urls import path

from projects import views

urlpatterns = [
    path("", views.home, name="home"),
    path("programmes/<slug:slug>/", views.programme_detail, name="programme-detail"),
    path("programmes/<slug:slug>/live/", views.programme_live, name="programme-live"),
    path("programmes/<slug:slug>/import/", views.plan_import_page, name="plan-import"),
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
    path("projects/<int:pk>/", views.project_detail, name="project-detail"),
    path("projects/<int:pk>/history/", views.project_history, name="project-history"),
    path("projects/<int:pk>/status/", views.project_status, name="project-status"),
    path("projects/<int:pk>/status/live/", views.project_status_live, name="project-status-live"),
    path("projects/<int:pk>/plan.md", views.project_plan_export, name="project-plan-export"),
    path("projects/<int:pk>/export.json", views.project_export_download, name="project-export"),
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
    path("projects/<int:pk>/overview/", views.project_overview, name="project-overview"),
    path(
        "projects/<int:pk>/overview/edit/",
        views.project_overview_edit,
        name="project-overview-edit",
    ),
    path(
        "projects/<int:pk>/variance/",
        views.project_plan_block,
        {"block": "variance"},
        name="project-variance",
    ),
    path(
        "projects/<int:pk>/timeline/",
        views.project_plan_block,
        {"block": "timeline"},
        name="project-timeline",
    ),
    path("projects/<int:pk>/phases/new/", views.phase_create, name="phase-create"),
    path("phases/<int:pk>/", views.phase_row, name="phase-row"),
    path("phases/<int:pk>/edit/", views.phase_edit, name="phase-edit"),
    path("phases/<int:pk>/move/", views.phase_move, name="phase-move"),
    path("phases/<int:pk>/delete/", views.phase_delete, name="phase-delete"),
    path("phases/<int:pk>/restore/", views.phase_restore, name="phase-restore"),
    path("phases/<int:pk>/items/new/", views.checklist_item_create, name="item-create"),
    path("items/<int:pk>/", views.checklist_item_row, name="item-row"),
    path("items/<int:pk>/edit/", views.checklist_item_edit, name="item-edit"),
    path("items/<int:pk>/toggle/", views.checklist_item_toggle, name="item-toggle"),
    path("items/<int:pk>/move/", views.checklist_item_move, name="item-move"),
    path("items/<int:pk>/delete/", views.checklist_item_delete, name="item-delete"),
    path("items/<int:pk>/restore/", views.checklist_item_restore, name="item-restore"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("notifications/", views.notifications, name="notifications"),
    path("account/tokens/", views.api_tokens, name="api-tokens"),
    path("account/tokens/<int:pk>/revoke/", views.api_token_revoke, name="api-token-revoke"),
    path("notifications/read/", views.notifications_mark_read, name="notifications-read"),
    path("notifications/mute/", views.notification_mute, name="notification-mute"),
    path("health/", views.health, name="health"),
]
