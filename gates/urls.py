from django.urls import path

from gates import views

urlpatterns = [
    path("gates/<int:pk>/", views.gate_detail, name="gate-detail"),
    path("gates/<int:pk>/sign/", views.gate_sign, name="gate-sign"),
    path("gates/<int:pk>/open/", views.gate_open, name="gate-open"),
    path("gates/<int:pk>/delegate/", views.gate_delegate, name="gate-delegate"),
    path(
        "gates/<int:pk>/audit.csv", views.gate_audit_export, {"fmt": "csv"}, name="gate-audit-csv"
    ),
    path(
        "gates/<int:pk>/audit.json",
        views.gate_audit_export,
        {"fmt": "json"},
        name="gate-audit-json",
    ),
    path("inbox/", views.inbox, name="inbox"),
]
