"""The API for gates: the pipeline of each project, and a gate's record (its criteria as
judged now, the recommendation, the signatures and the verified audit trail), which is what a
deployment tool asks before moving a rollout stage.

`/api/gates/<pk>/` stays for tools set up before `/api/v1/`."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from gates import policy
from gates.models import Gate
from gates.records import gate_record
from projects.api import IdFilter


@extend_schema(exclude=True)  # the same record as /api/v1/gates/<id>/record/
class GateRecordView(APIView):
    """GET a gate as a record: criteria as judged now, signatures, the verified trail."""

    def get(self, request, pk: int):
        return Response(gate_record(policy.get_gate_for(request.user, pk)))


class GateSerializer(serializers.ModelSerializer):
    approvers = serializers.SerializerMethodField()

    class Meta:
        model = Gate
        fields = [
            "id",
            "project",
            "phase",
            "order",
            "name",
            "description",
            "kind",
            "rollout_percent",
            "timing",
            "due_date",
            "state",
            "decision",
            "decided_at",
            "decision_rule",
            "quorum",
            "rollback_recommended_at",
            "rollback_reason",
            "approvers",
        ]
        read_only_fields = fields

    def get_approvers(self, gate) -> list[str]:
        return [approver.title or approver.get_role_display() for approver in gate.approvers.all()]


class CriterionRecordSerializer(serializers.Serializer):
    text = serializers.CharField()
    critical = serializers.BooleanField()
    result = serializers.CharField(help_text="met, not met, or unknown (no evidence yet)")
    evidence = serializers.CharField(allow_blank=True)


class SignatureRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    signer = serializers.CharField()
    on_behalf_of = serializers.CharField(allow_null=True)
    decision = serializers.CharField()
    meaning = serializers.CharField()
    signed_at = serializers.DateTimeField()
    signed_at_display = serializers.CharField()
    conditions = serializers.CharField(allow_blank=True)
    comment = serializers.CharField(allow_blank=True)
    content_hash = serializers.CharField()
    invalidated_at = serializers.CharField(allow_null=True)
    invalidated_reason = serializers.CharField(allow_null=True)


class AuditEntryRecordSerializer(serializers.Serializer):
    sequence = serializers.IntegerField()
    at_utc = serializers.DateTimeField()
    actor = serializers.CharField(allow_blank=True)
    action = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)
    entry_hash = serializers.CharField()


class AuditRecordSerializer(serializers.Serializer):
    intact = serializers.BooleanField()
    verification = serializers.CharField()
    entries = AuditEntryRecordSerializer(many=True)


class GateRecordSerializer(serializers.Serializer):
    gate = serializers.IntegerField()
    project = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    rollout_percent = serializers.IntegerField(allow_null=True)
    state = serializers.CharField()
    decision = serializers.CharField(allow_null=True)
    decided_at = serializers.CharField(allow_null=True)
    decision_rule = serializers.CharField()
    rollback_recommended = serializers.BooleanField()
    recommendation = serializers.CharField(help_text="GO, NO-GO or CONDITIONAL GO, on evidence")
    criteria = CriterionRecordSerializer(many=True)
    signatures = SignatureRecordSerializer(many=True)
    audit = AuditRecordSerializer()


class GateFilter(filters.FilterSet):
    project = IdFilter(field_name="project")

    class Meta:
        model = Gate
        fields = ["project", "kind", "state", "decision"]


class GateViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = GateSerializer
    filterset_class = GateFilter
    ordering_fields = ["order", "due_date", "decided_at"]
    ordering = ["project", "order"]
    lookup_value_converter = "id"

    def get_queryset(self):
        return policy.visible_gates(self.request.user).prefetch_related("approvers")

    def get_object(self):
        return policy.get_gate_for(self.request.user, self.kwargs["pk"])

    @extend_schema(responses=GateRecordSerializer)
    @action(detail=True, methods=["get"])
    def record(self, request, pk=None):
        """The gate as judged now: each criterion with its evidence, the recommendation (GO /
        NO-GO / CONDITIONAL GO), the signatures with their meaning, the verified trail."""
        return Response(gate_record(self.get_object()))
