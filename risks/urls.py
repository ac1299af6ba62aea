from django.urls import path

from risks import views

urlpatterns = [
    path("projects/<int:pk>/risks/", views.risk_register, name="risk-register"),
    path("projects/<int:pk>/risks/new/", views.risk_create, name="risk-create"),
    path("projects/<int:pk>/risks/export.csv", views.risk_register_export, name="risk-export"),
    path("projects/<int:pk>/risks/import/", views.risk_register_import, name="risk-import"),
    path(
        "projects/<int:pk>/risks/escalate/",
        views.risk_escalation_check,
        name="risk-escalation-check",
    ),
    path("programmes/<slug:slug>/risks/", views.programme_risks, name="programme-risks"),
    path("risks/<int:pk>/", views.risk_detail, name="risk-detail"),
    path("risks/<int:pk>/row/", views.risk_row, name="risk-row"),
    path("risks/<int:pk>/edit/", views.risk_edit, name="risk-edit"),
    path("risks/<int:pk>/actions/", views.mitigation_action_create, name="risk-action-create"),
    path(
        "risk-actions/<int:pk>/toggle/", views.mitigation_action_toggle, name="risk-action-toggle"
    ),
]
