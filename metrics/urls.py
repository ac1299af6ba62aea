from django.urls import path

from metrics import api, views

urlpatterns = [
    path("projects/<int:pk>/kpis/", views.kpi_list, name="kpi-list"),
    path("projects/<int:project_pk>/kpis/new/", views.kpi_edit, name="kpi-create"),
    path("kpis/<int:pk>/", views.kpi_detail, name="kpi-detail"),
    path("kpis/<int:pk>/edit/", views.kpi_edit, name="kpi-edit"),
    path("kpis/<int:pk>/source/", views.source_edit, name="kpi-source"),
    path("kpis/<int:pk>/source/test/", views.source_test, name="kpi-source-test"),
    path("kpis/<int:pk>/values/", views.measurement_enter, name="kpi-value-enter"),
    path("api/measurements/", api.MeasurementPushView.as_view(), name="api-measurements"),
]
