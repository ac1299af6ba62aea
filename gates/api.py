"""The API for gates: the pipeline of each project, and a gate's record (its criteria as
judged now, the recommendation, the signatures and the verified audit trail), which is what a
deployment tool asks before moving a rollout stage; the gates' criteria and approvers, their
sign-offs (given, never changed) and their audit trail (read only).

`/api/gates/<pk>/` stays for tools set up before `/api/v1/`."""

from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.sessions import session_renew
from core.api import Conflict, FixedAfterCreate, IdFilter, RelatedObject, writes_that_may_conflict
from gates import policy, services
from gates.models import (
    ApproverGroup,
    Gate,
    GateApprover,
    GateAuditEntry,
    GateCriterion,
    GateDelegation,
    SignOff,
)
from gates.records import gate_record
from metrics import policy as metric_policy
from projects import policy as project_policy
from projects.policy import Action

CONFLICT = OpenApiResponse(
    description="Not possible in the gate's state (decided, cancelled, already done); "
    "`detail` says why. Nothing changed.",
)
DEFINITION_CONFLICT = "The gate is decided or cancelled: its definition is part of its record."


@contextmanager
def refused_as_conflict():
    """A gate service's refusal, as the API's 409 with its message."""
    try:
        yield
    except services.GateRefused as refused:
        raise Conflict(str(refused)) from None


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
    result = serializers.CharField(
        help_text="Met, Not met, Conditional, or Inconclusive (no fresh value, not attested)"
    )
    evidence = serializers.CharField(allow_blank=True)
    value = serializers.FloatField(allow_null=True)
    unit = serializers.CharField(allow_blank=True)
    measured_at = serializers.CharField(allow_null=True)
    source = serializers.CharField(allow_null=True)


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
    evidence_as_signed = serializers.JSONField(allow_null=True)
    override_reason = serializers.CharField(allow_null=True)
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
    recommendation = serializers.CharField(
        help_text="GO, NO-GO, CONDITIONAL GO or INCONCLUSIVE, on the evidence"
    )
    overridden_recommendation = serializers.CharField(
        allow_null=True, help_text="The recommendation the gate was approved against, if any."
    )
    override_reason = serializers.CharField(allow_null=True)
    rollback_unjudged = serializers.CharField(
        allow_null=True, help_text="Rollback triggers that cannot be judged now, and why."
    )
    content_hash = serializers.CharField(help_text="The fingerprint of the evidence as shown.")
    evidence = serializers.CharField(
        help_text="The evidence as shown, sealed: send it back as `evidence` when signing."
    )
    linked_risks = serializers.JSONField()
    evidence_as_signed = serializers.JSONField(
        allow_null=True,
        help_text="For a decided gate: the evidence the deciding signature was given on, "
        "beside the evidence now, differences marked.",
    )
    criteria = CriterionRecordSerializer(many=True)
    signatures = SignatureRecordSerializer(many=True)
    audit = AuditRecordSerializer()


class GateCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Why, for the gate's trail.")


class DelegationSerializer(serializers.ModelSerializer):
    delegator = serializers.CharField(source="delegator.username", read_only=True)
    delegate = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
        error_messages={"does_not_exist": "No active user has the username {value}."},
        help_text="Who may sign for you: a member of the project, by username.",
    )
    until = serializers.DateTimeField(source="ends_at", help_text="When the delegation ends.")

    class Meta:
        model = GateDelegation
        fields = ["id", "gate", "delegator", "delegate", "starts_at", "until"]
        read_only_fields = ["gate", "starts_at"]

    def validate_delegate(self, delegate):
        if delegate == self.context["request"].user:
            raise serializers.ValidationError("Delegate to someone else.")
        return delegate

    def validate_until(self, until):
        if until <= timezone.now():
            raise serializers.ValidationError("The delegation must end in the future.")
        return until

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        values["until"] = values.pop("ends_at")
        return values


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
        NO-GO / CONDITIONAL GO / INCONCLUSIVE), the evidence to sign with, the signatures with
        the evidence each was given on, the verified trail."""
        return Response(gate_record(self.get_object()))

    @extend_schema(request=None, responses={200: GateSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def open(self, request, pk=None):
        """Open a draft gate for sign-off (the project's managers), as its page does."""
        gate = policy.get_gate_for(request.user, pk, Action.MANAGE)
        with refused_as_conflict():
            gate = services.gate_open(gate=gate, by=request.user)
        return Response(GateSerializer(gate).data)

    @extend_schema(request=GateCancelSerializer, responses={200: GateSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a draft or open gate (the project's managers); the reason goes into its
        trail."""
        gate = policy.get_gate_for(request.user, pk, Action.MANAGE)
        body = GateCancelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with refused_as_conflict():
            gate = services.gate_cancel(gate=gate, by=request.user, reason=body.data["reason"])
        return Response(GateSerializer(gate).data)

    @extend_schema(
        request=DelegationSerializer, responses={201: DelegationSerializer, 409: CONFLICT}
    )
    @action(detail=True, methods=["post"])
    def delegations(self, request, pk=None):
        """A required approver lets another member of the project sign for them until a
        time, as on the gate's page; recorded in the gate's trail."""
        gate = self.get_object()
        body = DelegationSerializer(data=request.data, context={"gate": gate, "request": request})
        body.is_valid(raise_exception=True)
        with refused_as_conflict():
            delegation = services.gate_delegate(
                gate=gate,
                delegator=request.user,
                delegate=body.validated_data["delegate"],
                until=body.validated_data["until"],
                by=request.user,
            )
        return Response(DelegationSerializer(delegation).data, status=201)


# -- a gate's definition: criteria and approvers, set up by the project's managers ---------------


class GateDefinitionViewSet(viewsets.ModelViewSet):
    """Criteria and approvers: members read them, managers change them. A change is recorded
    in the gate's trail and invalidates signatures given on the old definition."""

    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    related = ()  # fetched with each row, for the serializer

    def get_queryset(self):
        model = self.get_serializer_class().Meta.model
        return model.objects.filter(
            gate__in=policy.visible_gates(self.request.user)
        ).select_related(*self.related)

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
        with refused_as_conflict():
            serializer.instance = services.gate_definition_save(row=row, by=self.request.user)

    def perform_update(self, serializer):
        row = serializer.instance
        for field, value in serializer.validated_data.items():
            setattr(row, field, value)
        with refused_as_conflict():
            serializer.instance = services.gate_definition_save(row=row, by=self.request.user)

    def perform_destroy(self, instance):
        with refused_as_conflict():
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


@extend_schema_view(**writes_that_may_conflict(CriterionSerializer, DEFINITION_CONFLICT))
class CriterionViewSet(GateDefinitionViewSet):
    serializer_class = CriterionSerializer
    filterset_class = CriterionFilter
    ordering_fields = ["order"]
    ordering = ["gate", "order", "pk"]
    lookup_value_converter = "id"

    @extend_schema(request=None, responses={200: CriterionSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def attest(self, request, pk=None):
        """Vouch for a manual criterion of a draft or open gate (the project's editors): your
        name and the time become its evidence, as on the gate's page."""
        criterion = (
            GateCriterion.objects.filter(gate__in=policy.visible_gates(request.user), pk=pk)
            .select_related("gate")
            .first()
        )
        if criterion is None:
            raise NotFound("No such criterion that you may see.")
        policy.get_gate_for(request.user, criterion.gate_id, Action.EDIT)
        with refused_as_conflict():
            services.gate_criterion_attest(criterion=criterion, by=request.user)
        criterion.refresh_from_db()
        return Response(CriterionSerializer(criterion, context={"request": request}).data)


class ApproverSerializer(GateDefinitionSerializer):
    user = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        allow_null=True,
        error_messages={"does_not_exist": "No active user has the username {value}."},
        help_text="A named approver, by username; or leave out and give a role.",
    )

    group = RelatedObject(
        among=policy.visible_approver_groups,
        required=False,
        allow_null=True,
        help_text="One of the gate's approver groups; empty: the gate's own approvers.",
    )

    class Meta:
        model = GateApprover
        fields = ["id", "gate", "title", "user", "role", "group"]
        validators = []  # the model's constraints answer, with their messages


class ApproverGroupSerializer(GateDefinitionSerializer):
    class Meta:
        model = ApproverGroup
        fields = ["id", "gate", "order", "name", "rule", "quorum", "veto"]
        validators = []  # the model's constraints answer, with their messages


class ApproverGroupFilter(filters.FilterSet):
    gate = IdFilter(field_name="gate")
    project = IdFilter(field_name="gate__project")

    class Meta:
        model = ApproverGroup
        fields = ["gate", "project", "rule", "veto"]


@extend_schema_view(**writes_that_may_conflict(ApproverGroupSerializer, DEFINITION_CONFLICT))
class ApproverGroupViewSet(GateDefinitionViewSet):
    """A gate's further approver groups, each with its rule and veto: combined with AND with
    the gate's own approvers. Members read them; managers change them."""

    serializer_class = ApproverGroupSerializer
    filterset_class = ApproverGroupFilter
    ordering = ["gate", "order", "pk"]
    lookup_value_converter = "id"


class ApproverFilter(filters.FilterSet):
    gate = IdFilter(field_name="gate")
    project = IdFilter(field_name="gate__project")

    class Meta:
        model = GateApprover
        fields = ["gate", "project", "role"]


@extend_schema_view(**writes_that_may_conflict(ApproverSerializer, DEFINITION_CONFLICT))
class ApproverViewSet(GateDefinitionViewSet):
    serializer_class = ApproverSerializer
    filterset_class = ApproverFilter
    related = ("user",)
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
    evidence = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        help_text="`evidence` of the gate record you read: the evidence exactly as you were "
        "shown it, kept with your signature. Refused only if a verdict, the recommendation or "
        "the gate's definition changed since.",
    )
    seen_hash = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="Instead of `evidence`: `content_hash` of the record you read, accepted "
        "only while the evidence is still exactly that.",
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
            "override_reason",
            "signed_at",
            "content_hash",
            "invalidated_at",
            "invalidated_reason",
            "password",
            "evidence",
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
                evidence_token=data.get("evidence", ""),
                seen_hash=data.get("seen_hash", ""),
                comment=data.get("comment", ""),
                conditions=data.get("conditions", ""),
                override_reason=data.get("override_reason", ""),
                request=self.request._request,  # the login lockout counts a wrong password
            )
        except services.PasswordRefused as refused:
            raise serializers.ValidationError({"password": [str(refused)]}) from None
        except services.GateRefused as refused:
            raise serializers.ValidationError({"non_field_errors": [str(refused)]}) from None
        session_renew(self.request._request)  # re-authenticated: a new session key


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
