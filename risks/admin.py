from django import forms
from django.contrib import admin
from django.utils import timezone

from projects.admin import ProjectScopedAdmin, ProjectScopedInline, RecordedByServicesAdmin
from risks import services
from risks.models import MitigationAction, Risk, RiskAssessment, RiskEscalation, RiskKeySequence


class RiskAdminForm(forms.ModelForm):
    assessment_reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the likelihood, impact, status or owner changed; kept in the history.",
    )

    class Meta:
        model = Risk
        fields = [
            "project",
            "key",
            "title",
            "description",
            "category",
            "likelihood",
            "impact",
            "mitigation",
            "contingency",
            "owner",
            "owner_title",
            "status",
            "review_by",
        ]


class RiskAssessmentInline(admin.TabularInline):
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
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-assessed_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True  # the parent risk's admin has checked the user may view it


class MitigationActionInline(ProjectScopedInline, admin.TabularInline):
    model = MitigationAction
    project_path = "project"  # from the parent risk
    fields = [
        "order",
        "title",
        "owner_title",
        "due",
        "done",
        "reduces_likelihood_to",
        "reduces_impact_to",
    ]
    extra = 0


@admin.register(Risk)
class RiskAdmin(ProjectScopedAdmin):
    form = RiskAdminForm
    list_display = [
        "key",
        "title",
        "project",
        "category",
        "likelihood",
        "impact",
        "score",
        "status",
        "owner_title",
        "review_by",
    ]
    list_display_links = ["key", "title"]
    list_filter = ["status", "category", "likelihood", "impact", "project"]
    search_fields = ["key", "title", "description", "mitigation", "owner_title"]
    list_select_related = ["project"]
    readonly_fields = ["score"]
    ordering = ["project", "-score", "key"]
    inlines = [MitigationActionInline, RiskAssessmentInline]

    def save_model(self, request, obj, form, change):
        reason = form.cleaned_data.get("assessment_reason", "")
        if change:
            services.risk_update(risk=obj, by=request.user, reason=reason)
        else:
            fields = {
                name: form.cleaned_data[name]
                for name in form.cleaned_data
                if name not in {"project", "assessment_reason"}
            }
            created = services.risk_create(
                project=form.cleaned_data["project"], by=request.user, reason=reason, **fields
            )
            obj.pk = created.pk


@admin.register(RiskAssessment)
class RiskAssessmentAdmin(RecordedByServicesAdmin):
    """The assessment history: read-only, written by the risk services."""

    project_path = "risk__project"
    list_display = ["risk", "assessed_at", "likelihood", "impact", "score", "status", "assessed_by"]
    list_filter = ["status", "risk__project"]
    search_fields = ["risk__key", "risk__title", "reason"]
    list_select_related = ["risk__project", "assessed_by"]
    date_hierarchy = "assessed_at"


@admin.register(MitigationAction)
class MitigationActionAdmin(ProjectScopedAdmin):
    project_path = "risk__project"
    list_display = [
        "title",
        "risk",
        "owner_title",
        "due",
        "done",
        "reduces_likelihood_to",
        "reduces_impact_to",
    ]
    list_filter = ["done", "risk__project"]
    search_fields = ["title", "owner_title", "risk__key", "risk__title"]
    list_select_related = ["risk__project"]
    readonly_fields = ["done_at", "done_by"]

    def save_model(self, request, obj, form, change):
        if obj.done and not obj.done_at:
            obj.done_at, obj.done_by = timezone.now(), request.user
        elif not obj.done:
            obj.done_at, obj.done_by = None, None
        super().save_model(request, obj, form, change)


@admin.register(RiskEscalation)
class RiskEscalationAdmin(RecordedByServicesAdmin):
    project_path = "risk__project"
    list_display = ["risk", "reason", "escalated_at", "resolved_at"]
    list_filter = ["reason", ("resolved_at", admin.EmptyFieldListFilter), "risk__project"]
    search_fields = ["risk__key", "risk__title", "detail"]
    list_select_related = ["risk__project"]


@admin.register(RiskKeySequence)
class RiskKeySequenceAdmin(RecordedByServicesAdmin):
    list_display = ["project", "last_number"]
    search_fields = ["project__code"]
    list_select_related = ["project"]
