from django import forms
from django.contrib import admin

from projects.admin import ProjectScopedAdmin, RecordedByServicesAdmin
from risks import services
from risks.models import Risk, RiskAssessment


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
    inlines = [RiskAssessmentInline]

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
