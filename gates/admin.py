from django.contrib import admin

from gates import policy, services
from gates.models import (
    ApproverGroup,
    AuditAction,
    EvidencePack,
    Gate,
    GateApprover,
    GateAuditEntry,
    GateCondition,
    GateCriterion,
    GateDelegation,
    SignOff,
)
from projects.admin import (
    ProjectScopedAdmin,
    ProjectScopedInline,
    RecordedByServicesAdmin,
    RecordedByServicesInline,
)
from projects.policy import Action


class GateDefinitionInline(ProjectScopedInline):
    """A gate's criteria or approvers, changed only while the gate is a draft or open."""

    edit_action = Action.MANAGE

    def has_add_permission(self, request, obj=None):
        allowed = super().has_add_permission(request, obj)
        return allowed and (obj is None or policy.definition_is_open(obj))


class GateCriterionInline(GateDefinitionInline, admin.TabularInline):
    model = GateCriterion
    fields = [
        "order",
        "text",
        "kind",
        "critical",
        "kpi",
        "comparator",
        "threshold",
        "conditional_limit",
        "rollback",
        "phase",
    ]
    extra = 0


class ApproverGroupInline(GateDefinitionInline, admin.TabularInline):
    model = ApproverGroup
    fields = ["order", "name", "rule", "quorum", "veto"]
    extra = 0


class GateApproverInline(GateDefinitionInline, admin.TabularInline):
    model = GateApprover
    fields = ["title", "user", "role", "group"]
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        groups = formset.form.base_fields.get("group")
        if groups is not None:
            # Only the gate's own groups (none before it is saved).
            groups.queryset = groups.queryset.filter(gate=obj) if obj else groups.queryset.none()
        return formset


class SignOffInline(RecordedByServicesInline):
    model = SignOff
    fields = ["signer", "decision", "conditions", "signed_at", "invalidated_at"]


class GateDefinitionAdminMixin:
    """Saving or deleting a criterion or approver goes into the gate's trail and invalidates
    signatures given on the old definition."""

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or policy.definition_is_open(obj.gate))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or policy.definition_is_open(obj.gate))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "gate" and field is not None:
            field.queryset = field.queryset.filter(state__in=policy.DEFINITION_OPEN_STATES)
        return field

    def save_model(self, request, obj, form, change):
        services.gate_definition_save(row=obj, by=request.user)

    def delete_model(self, request, obj):
        services.gate_definition_delete(row=obj, by=request.user)


@admin.register(Gate)
class GateAdmin(ProjectScopedAdmin):
    edit_action = Action.MANAGE
    list_display = [
        "name",
        "project",
        "order",
        "kind",
        "rollout_percent",
        "phase",
        "due_date",
        "state",
        "decision",
        "decision_rule",
    ]
    list_filter = ["state", "kind", "decision", "project"]
    search_fields = ["name", "description", "timing", "project__code"]
    list_select_related = ["project", "phase__project"]
    inlines = [GateCriterionInline, ApproverGroupInline, GateApproverInline, SignOffInline]
    readonly_fields = [
        "state",
        "decision",
        "decided_at",
        "approval_stale_at",
        "approval_stale_reasons",
        "reapproval_of",
    ]

    def save_formset(self, request, form, formset, change):
        action = {
            GateCriterion: AuditAction.CRITERION_CHANGED,
            GateApprover: AuditAction.APPROVER_CHANGED,
            ApproverGroup: AuditAction.APPROVER_CHANGED,
        }.get(formset.model)
        if action is None:
            return super().save_formset(request, form, formset, change)
        changed = formset.has_changed()
        super().save_formset(request, form, formset, change)
        if changed:
            services.gate_definition_changed(
                gate=form.instance,
                by=request.user,
                action=action,
                before={},
                after={"edited_in": "gate form", "rows": len(formset.forms)},
            )
        return None

    fieldsets = [
        (None, {"fields": ["project", "phase", "order", "name", "description"]}),
        ("Kind", {"fields": ["kind", "rollout_percent", "timing", "due_date"]}),
        ("Decision", {"fields": ["decision_rule", "quorum", "state", "decision", "decided_at"]}),
        (
            "After the decision",
            {
                "fields": [
                    "watch_days",
                    "approval_stale_at",
                    "approval_stale_reasons",
                    "reapproval_of",
                ]
            },
        ),
        ("Evidence", {"fields": ["risks"]}),
    ]
    filter_horizontal = ["risks"]

    def get_fieldsets(self, request, obj=None):
        # Risks are linked once the gate belongs to a project: only that project's risks.
        fieldsets = super().get_fieldsets(request, obj)
        return fieldsets if obj else fieldsets[:-1]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not policy.definition_is_open(obj):
            fields.append("risks")  # part of a decided or cancelled gate's record
        return fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and "risks" in form.base_fields:
            form.base_fields["risks"].queryset = obj.project.risks.order_by("key")
        return form

    def save_related(self, request, form, formsets, change):
        before = sorted(form.instance.risks.values_list("key", flat=True)) if change else []
        super().save_related(request, form, formsets, change)
        after = sorted(form.instance.risks.values_list("key", flat=True))
        if before != after:
            services.gate_definition_changed(
                gate=form.instance,
                by=request.user,
                action=AuditAction.CRITERION_CHANGED,
                before={"linked_risks": before},
                after={"linked_risks": after},
            )


@admin.register(GateCriterion)
class GateCriterionAdmin(GateDefinitionAdminMixin, ProjectScopedAdmin):
    project_path = "gate__project"
    edit_action = Action.MANAGE
    list_display = ["text", "gate", "kind", "critical", "kpi", "comparator", "threshold"]
    list_filter = ["kind", "critical", "gate__project"]
    search_fields = ["text", "gate__name"]
    list_select_related = ["gate__project", "kpi"]


@admin.register(GateApprover)
class GateApproverAdmin(GateDefinitionAdminMixin, ProjectScopedAdmin):
    project_path = "gate__project"
    edit_action = Action.MANAGE
    list_display = ["gate", "title", "user", "role"]
    list_filter = ["role", "gate__project"]
    search_fields = ["title", "gate__name", "user__username"]
    list_select_related = ["gate__project", "user"]


@admin.register(ApproverGroup)
class ApproverGroupAdmin(GateDefinitionAdminMixin, ProjectScopedAdmin):
    project_path = "gate__project"
    edit_action = Action.MANAGE
    list_display = ["name", "gate", "rule", "quorum", "veto"]
    list_filter = ["rule", "veto", "gate__project"]
    search_fields = ["name", "gate__name"]
    list_select_related = ["gate__project"]


@admin.register(SignOff)
class SignOffAdmin(RecordedByServicesAdmin):
    """Signatures are append-only: shown here, never added, changed or deleted."""

    project_path = "gate__project"
    list_display = ["gate", "signer", "decision", "signed_at", "invalidated_at"]
    list_filter = ["decision", "gate__project"]
    search_fields = ["gate__name", "signer__username", "comment", "conditions"]
    list_select_related = ["gate__project", "signer"]
    date_hierarchy = "signed_at"


@admin.register(EvidencePack)
class EvidencePackAdmin(RecordedByServicesAdmin):
    """What approvers were shown when they signed: append-only, shown here only."""

    project_path = "gate__project"
    list_display = ["gate", "content_hash", "created_at"]
    list_filter = ["gate__project"]
    search_fields = ["gate__name", "content_hash"]
    list_select_related = ["gate__project"]
    date_hierarchy = "created_at"


@admin.register(GateAuditEntry)
class GateAuditEntryAdmin(RecordedByServicesAdmin):
    project_path = "gate__project"
    list_display = ["gate", "sequence", "at", "actor", "action"]
    list_filter = ["action", "gate__project"]
    search_fields = ["gate__name"]
    list_select_related = ["gate__project", "actor"]
    date_hierarchy = "at"


@admin.register(GateDelegation)
class GateDelegationAdmin(RecordedByServicesAdmin):
    project_path = "gate__project"
    list_display = ["gate", "delegator", "delegate", "starts_at", "ends_at"]
    list_filter = ["gate__project"]
    search_fields = ["gate__name", "delegator__username", "delegate__username"]
    list_select_related = ["gate__project", "delegator", "delegate"]


@admin.register(GateCondition)
class GateConditionAdmin(RecordedByServicesAdmin):
    """Conditions change on the gate's page, through services that write the gate's trail."""

    project_path = "gate__project"
    list_display = ["text", "gate", "owner", "due_date", "met_at", "escalated_at"]
    list_filter = [("met_at", admin.EmptyFieldListFilter), "gate__project"]
    search_fields = ["text", "gate__name", "owner__username"]
    list_select_related = ["gate__project", "owner"]
    date_hierarchy = "due_date"
