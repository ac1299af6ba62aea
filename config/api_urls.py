"""/api/v1/: every app's resources on one router, the OpenAPI schema and its docs page."""

from django.http import JsonResponse
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from core import api as api_conventions  # noqa: F401  (registers the `id` converter)
from dashboards import api as dashboard_api
from gates import api as gate_api
from metrics import api as metric_api
from plans import api as plan_api
from projects import api as project_api
from risks import api as risk_api

router = DefaultRouter(use_regex_path=False)  # ids matched by the `id` converter
router.include_format_suffixes = False  # one path per resource: JSON is the only format
router.register("programmes", project_api.ProgrammeViewSet, basename="programme")
router.register("projects", project_api.ProjectViewSet, basename="project")
router.register("phases", project_api.PhaseViewSet, basename="phase")
router.register("checklist-items", project_api.ChecklistItemViewSet, basename="checklist-item")
router.register("memberships", project_api.MembershipViewSet, basename="membership")
router.register("risks", risk_api.RiskViewSet, basename="risk")
router.register("kpis", metric_api.KPIViewSet, basename="kpi")
router.register("metric-sources", metric_api.MetricSourceViewSet, basename="metric-source")
router.register("gates", gate_api.GateViewSet, basename="gate")
router.register("gate-criteria", gate_api.CriterionViewSet, basename="gate-criterion")
router.register("gate-approvers", gate_api.ApproverViewSet, basename="gate-approver")
router.register(
    "gate-approver-groups", gate_api.ApproverGroupViewSet, basename="gate-approver-group"
)
router.register("sign-offs", gate_api.SignOffViewSet, basename="sign-off")
router.register("audit-entries", gate_api.AuditEntryViewSet, basename="audit-entry")


def no_such_resource(request, rest):
    """Any other path under /api/v1/: a 404 in the API's error body, not an HTML page."""
    return JsonResponse({"detail": "No such resource: see /api/v1/schema/."}, status=404)


urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path(
        "projects/<id:pk>/status/",
        dashboard_api.ProjectStatusView.as_view(),
        name="project-status",
    ),
    path("plan-imports/", plan_api.PlanImportView.as_view(), name="plan-import"),
    path("measurements/", metric_api.MeasurementBatchView.as_view(), name="measurements"),
    path("", include(router.urls)),
    re_path(r"^(?P<rest>.*)$", no_such_resource),
]
