from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from core.people import display_name
from metrics.models import KPI, Comparator, comparator_constraints, target_words
from projects.models import Phase, Project, Role
from risks.models import Risk


class GateKind(models.TextChoices):
    PHASE_EXIT = "phase_exit", "Phase exit"
    GO_NO_GO = "go_no_go", "Go / no-go"
    ROLLOUT_STAGE = "rollout_stage", "Rollout stage"


class GateState(models.TextChoices):
    """draft → open → decided; draft or open → cancelled. Nothing else."""

    DRAFT = "draft", "Draft"
    OPEN = "open", "Open for sign-off"
    DECIDED = "decided", "Decided"
    CANCELLED = "cancelled", "Cancelled"


class Decision(models.TextChoices):
    GO = "go", "GO"
    NO_GO = "no_go", "NO-GO"
    CONDITIONAL_GO = "conditional_go", "CONDITIONAL GO"


class Recommendation(models.TextChoices):
    """What the criteria recommend, on the evidence: the rule's advice to the approvers."""

    GO = "go", "GO"
    NO_GO = "no_go", "NO-GO"
    CONDITIONAL_GO = "conditional_go", "CONDITIONAL GO"
    INCONCLUSIVE = "inconclusive", "INCONCLUSIVE"


# Without a watch window of its own, a GO is watched until the next gate is decided, at most
# this many days.
DEFAULT_WATCH_DAYS = 30

# Approving against these needs a written reason: an override.
OVERRIDDEN_RECOMMENDATIONS = (Recommendation.NO_GO, Recommendation.INCONCLUSIVE)


class DecisionRule(models.TextChoices):
    ALL = "all", "All required approvers"
    ANY = "any", "Any one required approver"
    QUORUM = "quorum", "A quorum of approvers"


class Gate(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="gates")
    phase = models.ForeignKey(
        Phase, on_delete=models.SET_NULL, null=True, blank=True, related_name="gates"
    )
    order = models.PositiveIntegerField(default=1, help_text="Position in the project's pipeline.")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=GateKind.choices)
    rollout_percent = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Share of traffic this rollout stage moves, 1–100."
    )
    timing = models.CharField(
        max_length=100, blank=True, help_text="When the plan holds it, e.g. 'After D3'."
    )
    due_date = models.DateField(null=True, blank=True)
    state = models.CharField(max_length=20, choices=GateState.choices, default=GateState.DRAFT)
    decision = models.CharField(max_length=20, choices=Decision.choices, null=True, blank=True)  # noqa: DJ001 (NULL until decided)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_rule = models.CharField(
        max_length=10, choices=DecisionRule.choices, default=DecisionRule.ALL
    )
    quorum = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="How many approvals decide, for the quorum rule."
    )
    rollback_recommended_at = models.DateTimeField(null=True, blank=True, editable=False)
    rollback_reason = models.TextField(blank=True, editable=False)
    rollback_unjudged = models.TextField(
        blank=True,
        editable=False,
        help_text="While a live stage's rollback triggers cannot be judged (no fresh value), "
        "which ones and why.",
    )
    risks = models.ManyToManyField(
        Risk,
        blank=True,
        related_name="gates",
        help_text="Risks the approvers weigh: shown with their scores in the evidence.",
    )
    overridden_recommendation = models.CharField(
        max_length=20,
        choices=Recommendation.choices,
        blank=True,
        editable=False,
        help_text="Set when the gate was approved against this recommendation.",
    )
    override_reason = models.TextField(blank=True, editable=False)
    audit_head = models.CharField(
        max_length=64, blank=True, editable=False, help_text="Hash of the latest audit entry."
    )
    watch_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="How many days after a GO or CONDITIONAL GO its KPIs and linked risks are "
        "watched. Empty: until the project's next gate is decided, and at most "
        f"{DEFAULT_WATCH_DAYS} days.",
    )
    approval_stale_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the approval went stale: a KPI it was judged on breached, or a linked "
        "risk rose to a higher band, within the watch window.",
    )
    approval_stale_reasons = models.TextField(blank=True, editable=False)
    reapproval_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="reapprovals",
        help_text="The gate whose stale approval this one decides again.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="gate_name_unique_in_project"),
            models.CheckConstraint(
                condition=Q(kind=GateKind.ROLLOUT_STAGE, rollout_percent__isnull=False)
                & Q(rollout_percent__gte=1, rollout_percent__lte=100)
                | ~Q(kind=GateKind.ROLLOUT_STAGE) & Q(rollout_percent__isnull=True),
                name="gate_rollout_percent_for_rollout_stages",
                violation_error_message="A rollout stage moves 1–100% of traffic; "
                "other gates have no percentage.",
            ),
            models.CheckConstraint(
                condition=Q(
                    state=GateState.DECIDED, decision__isnull=False, decided_at__isnull=False
                )
                | ~Q(state=GateState.DECIDED) & Q(decision__isnull=True, decided_at__isnull=True),
                name="gate_decision_iff_decided",
                violation_error_message="A decided gate has a decision and its time; "
                "an undecided one has neither.",
            ),
            models.CheckConstraint(
                condition=Q(decision_rule=DecisionRule.QUORUM, quorum__isnull=False, quorum__gte=1)
                | ~Q(decision_rule=DecisionRule.QUORUM) & Q(quorum__isnull=True),
                name="gate_quorum_for_quorum_rule",
                violation_error_message="The quorum rule needs a quorum of at least 1; "
                "other rules take none.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project.code}: {self.name}"

    def clean(self) -> None:
        if self.phase_id and self.project_id and self.phase.project_id != self.project_id:
            raise ValidationError({"phase": "The phase must belong to the gate's project."})


class CriterionKind(models.TextChoices):
    KPI = "kpi", "Judged on a KPI"
    CHECKLIST = "checklist", "A phase's checklist is complete"
    MANUAL = "manual", "Attested by a person"


class GateCriterion(models.Model):
    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="criteria")
    order = models.PositiveIntegerField(default=1)
    text = models.CharField(max_length=500)
    kind = models.CharField(max_length=20, choices=CriterionKind.choices)
    critical = models.BooleanField(
        default=True, help_text="A failing critical criterion means NO-GO."
    )
    kpi = models.ForeignKey(
        KPI, on_delete=models.PROTECT, null=True, blank=True, related_name="gate_criteria"
    )
    comparator = models.CharField(max_length=10, choices=Comparator.choices, null=True, blank=True)  # noqa: DJ001
    threshold = models.FloatField(null=True, blank=True)
    threshold_high = models.FloatField(null=True, blank=True)
    phase = models.ForeignKey(
        Phase, on_delete=models.CASCADE, null=True, blank=True, related_name="gate_criteria"
    )
    conditional_limit = models.FloatField(
        null=True,
        blank=True,
        help_text="A value past the threshold but not past this limit is a conditional pass: "
        "it leads to CONDITIONAL GO rather than NO-GO.",
    )
    rollback = models.BooleanField(
        default=False,
        help_text="A rollback trigger: while this rollout stage is live, failing it means "
        "roll back.",
    )
    attested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    attested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "gate criteria"
        ordering = ["gate", "order", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=CriterionKind.KPI, kpi__isnull=False, comparator__isnull=False)
                | ~Q(kind=CriterionKind.KPI) & Q(kpi__isnull=True, comparator__isnull=True),
                name="gate_criterion_kpi_bound_has_kpi_and_condition",
                violation_error_message="A KPI-bound criterion names its KPI and condition; "
                "other kinds have neither.",
            ),
            models.CheckConstraint(
                condition=Q(kind=CriterionKind.CHECKLIST, phase__isnull=False)
                | ~Q(kind=CriterionKind.CHECKLIST) & Q(phase__isnull=True),
                name="gate_criterion_checklist_has_phase",
                violation_error_message="A checklist criterion names the phase whose checklist "
                "must be complete.",
            ),
            *comparator_constraints("gate_criterion", "comparator", "threshold", "threshold_high"),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def condition_display(self) -> str:
        """A KPI criterion's condition in words ("at most 200 ms"); "" for other kinds."""
        if self.comparator is None:
            return ""
        unit = self.kpi.unit if self.kpi_id else ""
        return target_words(self.comparator, self.threshold, self.threshold_high, unit)

    def clean(self) -> None:
        gate_project = self.gate.project_id if self.gate_id else None
        if self.kpi_id and gate_project and self.kpi.project_id != gate_project:
            raise ValidationError({"kpi": "The KPI must belong to the gate's project."})
        if self.phase_id and gate_project and self.phase.project_id != gate_project:
            raise ValidationError({"phase": "The phase must belong to the gate's project."})


class ApproverGroup(models.Model):
    """A further group of a gate's approvers with a rule of its own: the gate decides GO only
    when its own approvers (the slots in no group, by the gate's rule) and every group agree.
    "Two of the data owners AND all of security, and security can veto" is a gate with the
    data owners' slots under a quorum of 2 and a group "Security" under "all", with veto."""

    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="approver_groups")
    order = models.PositiveIntegerField(default=1)
    name = models.CharField(max_length=100, help_text="What the plan calls them: 'Security'.")
    rule = models.CharField(max_length=10, choices=DecisionRule.choices, default=DecisionRule.ALL)
    quorum = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="How many of the group's approvals it takes."
    )
    veto = models.BooleanField(
        default=False, help_text="One rejection from a member of the group decides NO-GO."
    )

    class Meta:
        ordering = ["gate", "order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["gate", "name"],
                name="approver_group_name_unique_in_gate",
                violation_error_message="The gate already has a group of that name.",
            ),
            models.CheckConstraint(
                condition=Q(rule=DecisionRule.QUORUM, quorum__isnull=False, quorum__gte=1)
                | ~Q(rule=DecisionRule.QUORUM) & Q(quorum__isnull=True),
                name="approver_group_quorum_for_quorum_rule",
                violation_error_message="The quorum rule needs a quorum of at least 1; "
                "other rules take none.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class GateApprover(models.Model):
    """A required approver of a gate: a named user, or anyone holding a role on the project;
    in the gate's own group, or in one of its further groups."""

    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="approvers")
    title = models.CharField(
        max_length=100, blank=True, help_text="What the plan calls this approver, e.g. 'DBA'."
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="gate_approver_slots",
    )
    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    group = models.ForeignKey(
        ApproverGroup,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="slots",
        help_text="Empty: one of the gate's own approvers, under the gate's rule.",
    )

    class Meta:
        ordering = ["gate", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False) | ~Q(role=""),
                name="gate_approver_names_user_or_role",
                violation_error_message="Name the approver: a user, a role, or both.",
            ),
            models.UniqueConstraint(
                fields=["gate", "user"],
                condition=Q(user__isnull=False),
                name="gate_approver_user_once_per_gate",
                violation_error_message="This user is already a required approver of the gate.",
            ),
        ]

    def __str__(self) -> str:
        who = display_name(self.user, "")
        role = f"any {self.get_role_display().lower()}" if self.role else ""
        label = " / ".join(part for part in (who, role) if part)
        return f"{self.title} ({label})" if self.title else label

    def clean(self) -> None:
        if self.group_id and self.gate_id and self.group.gate_id != self.gate_id:
            raise ValidationError({"group": "The group must belong to the same gate."})


class SignOffDecision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    APPROVE_WITH_CONDITIONS = "approve_with_conditions", "Approve with conditions"


class SignOff(models.Model):
    """An approver's signature on a gate, bound to a hash of what was signed. Append-only."""

    gate = models.ForeignKey(Gate, on_delete=models.PROTECT, related_name="signoffs")
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signoffs"
    )
    decision = models.CharField(max_length=30, choices=SignOffDecision.choices)
    conditions = models.TextField(blank=True)
    comment = models.TextField(blank=True)
    signed_at = models.DateTimeField()
    content_hash = models.CharField(
        max_length=64, help_text="SHA-256 of the canonical snapshot of the gate that was signed."
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The required approver this delegate signed for.",
    )
    invalidated_at = models.DateTimeField(null=True, blank=True)
    invalidated_reason = models.TextField(blank=True)
    evidence = models.ForeignKey(
        "EvidencePack",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="signoffs",
        help_text="The evidence exactly as the signer was shown it; its hash is content_hash.",
    )
    override_reason = models.TextField(
        blank=True, help_text="Why the signer approved against a NO-GO or INCONCLUSIVE advice."
    )

    class Meta:
        verbose_name = "sign-off"
        ordering = ["gate", "signed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["gate", "signer"],
                condition=Q(invalidated_at__isnull=True),
                name="signoff_one_valid_per_approver_and_gate",
                violation_error_message="This approver has already signed the gate.",
            ),
            models.UniqueConstraint(
                fields=["gate", "on_behalf_of"],
                condition=Q(invalidated_at__isnull=True, on_behalf_of__isnull=False),
                name="signoff_one_valid_per_delegator_and_gate",
                violation_error_message="Someone has already signed for this approver.",
            ),
            models.CheckConstraint(
                condition=~Q(decision=SignOffDecision.APPROVE_WITH_CONDITIONS) | ~Q(conditions=""),
                name="signoff_conditions_required_for_conditional_approval",
                violation_error_message="Approving with conditions requires the conditions.",
            ),
            models.CheckConstraint(
                condition=Q(content_hash__regex=r"^[0-9a-f]{64}$"),
                name="signoff_hash_is_sha256_hex",
            ),
            models.CheckConstraint(
                condition=Q(invalidated_at__isnull=True, invalidated_reason="")
                | Q(invalidated_at__isnull=False) & ~Q(invalidated_reason=""),
                name="signoff_invalidation_has_reason",
                violation_error_message="An invalidated signature says when and why.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.signer} — {self.get_decision_display()} on {self.gate}"


class EvidencePack(models.Model):
    """What an approver was shown when signing: every criterion with its verdict and the value
    behind it, checklists, attestations, linked risks, the phase's dates and the
    recommendation. Stored once per distinct content, hashed; append-only."""

    gate = models.ForeignKey(Gate, on_delete=models.PROTECT, related_name="evidence_packs")
    content_hash = models.CharField(max_length=64)
    content = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["gate", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["gate", "content_hash"], name="evidence_pack_once_per_gate"
            ),
            models.CheckConstraint(
                condition=Q(content_hash__regex=r"^[0-9a-f]{64}$"),
                name="evidence_pack_hash_is_sha256_hex",
            ),
        ]

    def __str__(self) -> str:
        return f"Evidence for {self.gate} ({self.content_hash[:12]})"


class AuditAction(models.TextChoices):
    OPENED = "opened", "Opened for sign-off"
    CRITERION_CHANGED = "criterion_changed", "Criterion changed"
    APPROVER_CHANGED = "approver_changed", "Approver changed"
    DELEGATED = "delegated", "Delegated"
    SIGNED = "signed", "Signed"
    INVALIDATED = "invalidated", "Signature invalidated"
    DECIDED = "decided", "Decided"
    CANCELLED = "cancelled", "Cancelled"
    ATTESTED = "attested", "Criterion attested"
    ROLLBACK_RECOMMENDED = "rollback_recommended", "Rollback recommended"
    ROLLBACK_CLEARED = "rollback_cleared", "Rollback no longer recommended"
    CONDITION_ADDED = "condition_added", "Condition to meet recorded"
    CONDITION_CHANGED = "condition_changed", "Condition's owner or due date changed"
    CONDITION_MET = "condition_met", "Condition met"
    CONDITION_ESCALATED = "condition_escalated", "Condition overdue: escalated"
    APPROVAL_STALE = "approval_stale", "Approval gone stale"
    REAPPROVAL_OPENED = "reapproval_opened", "Re-approval round opened"


class GateAuditEntry(models.Model):
    """One thing that happened to a gate. Append-only (refused by a database trigger), and
    chained: each entry carries the hash of the one before, so a changed or missing entry
    shows."""

    gate = models.ForeignKey(Gate, on_delete=models.PROTECT, related_name="audit_entries")
    sequence = models.PositiveIntegerField()
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=30, choices=AuditAction.choices)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name_plural = "gate audit entries"
        ordering = ["gate", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["gate", "sequence"], name="gate_audit_sequence_unique"),
            models.CheckConstraint(
                condition=Q(entry_hash__regex=r"^[0-9a-f]{64}$")
                & Q(previous_hash__regex=r"^[0-9a-f]{64}$"),
                name="gate_audit_hashes_are_sha256_hex",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gate} #{self.sequence}: {self.get_action_display()}"


class GateDelegation(models.Model):
    """A required approver lets another user sign a gate for them, for a period."""

    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="delegations")
    delegator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="gate_delegations"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["gate", "-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="gate_delegation_ends_after_start",
                violation_error_message="A delegation ends after it starts.",
            ),
            models.CheckConstraint(
                condition=~Q(delegator=models.F("delegate")),
                name="gate_delegation_to_someone_else",
                violation_error_message="Delegate to someone else.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.delegator} → {self.delegate} for {self.gate}"


class GateCondition(models.Model):
    """One condition of a CONDITIONAL GO, tracked as an action: who owns it, by when it is to
    be met, and when it was met and by whom. Made when the gate is decided, one per line of
    the conditions a signature stated."""

    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="conditions")
    signoff = models.ForeignKey(
        SignOff,
        on_delete=models.PROTECT,
        related_name="tracked_conditions",
        help_text="The signature that stated the condition.",
    )
    order = models.PositiveIntegerField(help_text="Position among the gate's conditions.")
    text = models.TextField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="gate_conditions",
    )
    due_date = models.DateField()
    met_at = models.DateTimeField(null=True, blank=True)
    met_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    escalated_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was escalated for being overdue."
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["gate", "order"]
        constraints = [
            models.UniqueConstraint(fields=["gate", "order"], name="gate_condition_order_unique"),
            models.CheckConstraint(
                condition=Q(met_at__isnull=True, met_by__isnull=True)
                | Q(met_at__isnull=False, met_by__isnull=False),
                name="gate_condition_met_says_when_and_by_whom",
                violation_error_message="A met condition records when it was met and by whom.",
            ),
        ]
        indexes = [
            models.Index(
                fields=["due_date"], condition=Q(met_at__isnull=True), name="gate_condition_open"
            )
        ]

    def __str__(self) -> str:
        return self.text

    def clean(self) -> None:
        if self.signoff_id and self.gate_id and self.signoff.gate_id != self.gate_id:
            raise ValidationError({"signoff": "The signature must be one given on this gate."})
