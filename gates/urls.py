from django.urls import path

from gates import api, views

urlpatterns = [
    path("gates/<int:pk>/", views.gate_detail, name="gate-detail"),
    path("gates/<int:pk>/sign/", views.gate_sign, name="gate-sign"),
    path("gates/<int:pk>/open/", views.gate_open, name="gate-open"),
    path("gates/<int:pk>/reapproval/", views.gate_reapproval_open, name="gate-reapproval"),
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
    path("gates/<int:pk>/record.pdf", views.gate_record_pdf, name="gate-pdf"),
    path("api/gates/<int:pk>/", api.GateRecordView.as_view(), name="api-gate"),
    path("gate-criteria/<int:pk>/attest/", views.criterion_attest, name="criterion-attest"),
    path("gate-conditions/<int:pk>/", views.condition_update, name="gate-condition-update"),
    path("gate-conditions/<int:pk>/met/", views.condition_mark_met, name="gate-condition-met"),
    path("inbox/", views.inbox, name="inbox"),
]
