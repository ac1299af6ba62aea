"""The API for risk registers: risks, each with the history of its assessments.

Every change goes through `services.risk_update`, as on the pages: a change of likelihood,
impact, status or owner writes an assessment row, with the reason given."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core import versioning
from core.api import FixedAfterCreate, IdFilter, RelatedObject
from projects import policy as project_policy
from projects.api import needed
from projects.policy import Action
from risks import policy, services
from risks.models import Risk, RiskAssessment


class RiskSerializer(FixedAfterCreate, serializers.ModelSerializer):
    project = RelatedObject(among=project_policy.visible_projects)
    key = serializers.CharField(
        required=False, max_length=20, help_text="R1, R2, … given when left out."
    )
    version = serializers.IntegerField(required=False, min_value=1)
    reason = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Why it was assessed so: kept with the assessment.",
    )

    class Meta:
        model = Risk
        fields = [
            "id",
            "project",
            "key",
            "title",
            "description",
            "category",
            "likelihood",
            "impact",
            "score",
            "mitigation",
            "contingency",
            "owner_title",
            "status",
            "review_by",
            "version",
            "reason",
        ]
        read_only_fields = ["score"]
        validators = []  # a key taken in the project is refused by the model, with the reason

    fixed_after_create = ("project",)


class AssessmentSerializer(serializers.ModelSerializer):
    assessed_by = serializers.CharField(
        source="assessed_by.username", default=None, allow_null=True
    )

    class Meta:
        model = RiskAssessment
        fields = [
            "assessed_at",
            "assessed_by",
            "likelihood",
            "impact",
            "status",
            "owner_title",
            "reason",
        ]


class RiskFilter(filters.FilterSet):
    project = IdFilter(field_name="project")

    class Meta:
        model = Risk
        fields = ["project", "status", "category", "likelihood", "impact"]


class RiskViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    serializer_class = RiskSerializer
    filterset_class = RiskFilter
    ordering_fields = ["key", "score", "review_by", "likelihood", "impact"]
    ordering = ["project", "key"]
    lookup_value_converter = "id"

    def get_queryset(self):
        return policy.visible_risks(self.request.user)

    def get_object(self):
        action_needed = needed(self.request, Action.EDIT)
        return policy.get_risk_for(self.request.user, self.kwargs["pk"], action_needed)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("version", None)
        reason = data.pop("reason", "")
        project = project_policy.get_project_for(
            self.request.user, data.pop("project").pk, Action.EDIT
        )
        serializer.instance = services.risk_create(
            project=project,
            by=self.request.user,
            key=data.pop("key", ""),
            reason=reason,
            **data,
        )

    def perform_update(self, serializer):
        changes = dict(serializer.validated_data)
        version = changes.pop("version", None)
        reason = changes.pop("reason", "")
        try:
            serializer.instance = services.risk_update(
                risk=serializer.instance,
                by=self.request.user,
                reason=reason,
                version=version,
                **changes,
            )
        except versioning.StaleEdit as error:
            raise serializers.ValidationError({"version": [str(error)]}) from error
        serializer.instance.refresh_from_db()  # the score the database computes

    @extend_schema(responses=AssessmentSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def history(self, request, pk=None):
        """The risk's assessments, newest first: who judged it how, when, and why."""
        risk = self.get_object()
        assessments = risk.assessments.select_related("assessed_by").order_by("-assessed_at")
        return Response(AssessmentSerializer(assessments, many=True).data)
