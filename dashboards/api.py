"""The status of a project through the API: its rating, reasons and variance."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response

from dashboards import selectors
from projects import policy
from projects.models import Project


class ReasonSerializer(serializers.Serializer):
    rule = serializers.CharField()
    rag = serializers.CharField()
    text = serializers.CharField()


class ProjectStatusSerializer(serializers.Serializer):
    project = serializers.IntegerField(source="project.pk")
    code = serializers.CharField(source="project.code")
    rag = serializers.CharField(source="rating.rag")
    summary = serializers.CharField(source="rating.summary")
    reasons = ReasonSerializer(source="rating.reasons", many=True)
    schedule_variance_days = serializers.IntegerField(
        source="variance.schedule.days", allow_null=True
    )
    budget_planned = serializers.DecimalField(
        source="variance.budget.planned", max_digits=14, decimal_places=2
    )
    budget_spent = serializers.DecimalField(
        source="variance.budget.spent", max_digits=14, decimal_places=2
    )
    budget_variance_percent = serializers.FloatField(
        source="variance.budget.percent", allow_null=True
    )
    percent_complete = serializers.FloatField(source="variance.percent_complete", allow_null=True)
    kpis_total = serializers.IntegerField()
    kpis_breached = serializers.IntegerField()
    kpis_at_risk = serializers.IntegerField()
    conditions_overdue = serializers.IntegerField(
        help_text="Conditions of CONDITIONAL GO decisions past their due date and not met."
    )


@extend_schema(responses=ProjectStatusSerializer)
class ProjectStatusView(generics.GenericAPIView):
    """The project's rating (red / amber / green) with its reasons, and its variance."""

    serializer_class = ProjectStatusSerializer

    def get(self, request, pk):
        project = policy.get_project_for(request.user, pk)
        row = selectors.project_status_rows(
            projects=Project.objects.filter(pk=project.pk), today=timezone.localdate()
        )[0]
        return Response(ProjectStatusSerializer(row).data)
