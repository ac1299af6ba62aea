"""The API for gates: the pipeline of each project, and a gate's record (its criteria as
judged now, the recommendation, the signatures and the verified audit trail), which is what a
deployment tool asks before moving a rollout stage; the gates' criteria and approvers, their
sign-offs (given, never changed) and their audit trail (read only).

`/api/gates/<pk>/` stays for tools set up before `/api/v1/`."""

from django.contrib.auth import get_user_model
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import FixedAfterCreate, RelatedObject
from gates import policy, services
from gates.models import Gate, GateApprover, GateAuditEntry, GateCriterion, SignOff
from gates.records import gate_record
from metrics import policy as metric_policy
from projects import policy as project_policy
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
    content_hash = serializers.CharField(
        help_text="The hash of the gate as shown: send it as `seen_hash` when signing."
    )
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


# -- a gate's definition: criteria and approvers, set up by the project's managers ---------------


class GateDefinitionViewSet(viewsets.ModelViewSet):
    """Criteria and approvers: members read them, managers change them. A change is recorded
    in the gate's trail and invalidates signatures given on the old definition."""

    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_queryset(self):
        model = self.get_serializer_class().Meta.model
        return model.objects.filter(gate__in=policy.visible_gates(self.request.user))

    def get_object(self):
        model = self.get_serializer_class().Meta.model
        row = (
            model.objects.select_related("gate__project")
            .filter(gate__in=policy.visible_gates(self.request.user), pk=self.kwargs["pk"])
            .first()
        )
        if row is None:
            raise NotFound("No such object that you may see.")
        if self.request.method not in ("GET", "HEAD") and not policy.can_manage_gate(
            self.request.user, row.gate
        ):
            raise PermissionDenied("Only the project's managers change a gate's definition.")
        return row

    def perform_create(self, serializer):
        row = serializer.Meta.model(**serializer.validated_data)
        if not policy.can_manage_gate(self.request.user, row.gate):
            raise PermissionDenied("Only the project's managers change a gate's definition.")
        serializer.instance = services.gate_definition_save(row=row, by=self.request.user)

    def perform_update(self, serializer):
        row = serializer.instance
        for field, value in serializer.validated_data.items():
            setattr(row, field, value)
        serializer.instance = services.gate_definition_save(row=row, by=self.request.user)

    def perform_destroy(self, instance):
        services.gate_definition_delete(row=instance, by=self.request.user)


class GateDefinitionSerializer(FixedAfterCreate, serializers.ModelSerializer):
    gate = RelatedObject(among=policy.visible_gates, help_text="The gate (not changed later).")
    fixed_after_create = ("gate",)


class CriterionSerializer(GateDefinitionSerializer):
    kpi = RelatedObject(among=metric_policy.visible_kpis, required=False, allow_null=True)
    phase = RelatedObject(among=project_policy.visible_phases, required=False, allow_null=True)

    class Meta:
        model = GateCriterion
        fields = [
            "id",
            "gate",
            "order",
            "text",
            "kind",
            "critical",
            "kpi",
            "comparator",
            "threshold",
            "threshold_high",
            "conditional_limit",
            "rollback",
            "phase",
            "attested_by",
            "attested_at",
        ]
        read_only_fields = ["attested_by", "attested_at"]


class CriterionFilter(filters.FilterSet):
    gate = IdFilter(field_name="gate")
    project = IdFilter(field_name="gate__project")

    class Meta:
        model = GateCriterion
        fields = ["gate", "project", "kind", "critical", "rollback"]


class CriterionViewSet(GateDefinitionViewSet):
    serializer_class = CriterionSerializer
    filterset_class = CriterionFilter
    ordering_fields = ["order"]
    ordering = ["gate", "order", "pk"]
    lookup_value_converter = "id"


class ApproverSerializer(GateDefinitionSerializer):
    user = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="A named approver, by username; or leave out and give a role.",
    )

    class Meta:
        model = GateApprover
        fields = ["id", "gate", "title", "user", "role"]
        validators = []  # the model's constraints answer, with their messages


class ApproverFilter(filters.FilterSet):
    gate = IdFilter(field_name="gate")
    project = IdFilter(field_name="gate__project")

    class Meta:
        model = GateApprover
        fields = ["gate", "project", "role"]


class ApproverViewSet(GateDefinitionViewSet):
    serializer_class = ApproverSerializer
    filterset_class = ApproverFilter
    ordering = ["gate", "pk"]
    lookup_value_converter = "id"


# -- sign-offs: created only, by the signer, who enters their password again ---------------------


class SignOffSerializer(serializers.ModelSerializer):
    gate = RelatedObject(among=policy.visible_gates)
    signer = serializers.CharField(source="signer.username", read_only=True)
    on_behalf_of = serializers.CharField(
        source="on_behalf_of.username", read_only=True, allow_null=True, default=None
    )
    password = serializers.CharField(
        write_only=True,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="Your password, entered again: a signature is given by a person, not a "
        "token. Wrong ones count towards the login lockout.",
    )
    seen_hash = serializers.CharField(
        write_only=True,
        max_length=64,
        help_text="`content_hash` of the gate record you read: the gate as you judged it.",
    )

    class Meta:
        model = SignOff
        fields = [
            "id",
            "gate",
            "signer",
            "on_behalf_of",
            "decision",
            "conditions",
            "comment",
            "signed_at",
            "content_hash",
            "invalidated_at",
            "invalidated_reason",
            "password",
            "seen_hash",
        ]
        read_only_fields = [
            "signed_at",
            "content_hash",
            "invalidated_at",
            "invalidated_reason",
        ]


class SignOffFilter(filters.FilterSet):
    gate = IdFilter(field_name="gate")
    project = IdFilter(field_name="gate__project")

    class Meta:
        model = SignOff
        fields = ["gate", "project", "decision"]


class SignOffViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Signatures: read by the project's members; given by a required approver (or their
    delegate) with their password, on the gate as they read it. Never changed or removed."""

    serializer_class = SignOffSerializer
    filterset_class = SignOffFilter
    ordering_fields = ["signed_at"]
    ordering = ["gate", "signed_at"]
    lookup_value_converter = "id"

    def get_queryset(self):
        return SignOff.objects.filter(
            gate__in=policy.visible_gates(self.request.user)
        ).select_related("signer", "on_behalf_of")

    def perform_create(self, serializer):
        data = serializer.validated_data
        try:
            serializer.instance = services.gate_sign(
                gate=data["gate"],
                signer=self.request.user,
                decision=data["decision"],
                password=data["password"],
                seen_hash=data["seen_hash"],
                comment=data.get("comment", ""),
                conditions=data.get("conditions", ""),
                request=self.request._request,  # the login lockout counts a wrong password
            )
        except services.GateRefused as refused:
            raise serializers.ValidationError({"non_field_errors": [str(refused)]}) from None


# -- the audit trail: read only ------------------------------------------------------------------


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None, allow_null=True)

    class Meta:
        model = GateAuditEntry
        fields = [
            "id",
            "gate",
            "sequence",
            "at",
            "actor",
            "action",
            "before",
            "after",
            "previous_hash",
            "entry_hash",
        ]
        read_only_fields = fields


class AuditEntryFilter(filters.FilterSet):
    gate = IdFilter(field_name="gate")
    project = IdFilter(field_name="gate__project")

    class Meta:
        model = GateAuditEntry
        fields = ["gate", "project", "action"]


class AuditEntryViewSet(viewsets.ReadOnlyModelViewSet):
    """Every gate's trail, entry by entry, each chained to the one before by its hash
    (`/gates/{id}/record/` says whether the chain is intact). Append-only: nothing here
    is written through the API."""

    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilter
    ordering_fields = ["at", "sequence"]
    ordering = ["gate", "sequence"]
    lookup_value_converter = "id"

    def get_queryset(self):
        return GateAuditEntry.objects.filter(
            gate__in=policy.visible_gates(self.request.user)
        ).select_related("actor")
