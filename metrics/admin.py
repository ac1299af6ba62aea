from django import forms
from django.contrib import admin

from core.admin import SuperuserOnlyAdmin
from core.forms import DURATION_FORMFIELD_OVERRIDES, DurationWordsField
from core.words import duration_words
from metrics import services
from metrics.models import KPI, KPIPin, Measurement, MeasurementHour, MetricSource
from projects.admin import ProjectScopedAdmin, ProjectScopedInline, RecordedByServicesAdmin


class MetricSourceForm(forms.ModelForm):
    """The secret is write-only: it is never sent back to the browser."""

    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Token or database URL. Leave empty to keep the stored one.",
    )

    class Meta:
        model = MetricSource
        fields = ["kpi", "kind", "config", "secret", "interval", "is_active"]
        field_classes = {"interval": DurationWordsField}

    def clean_secret(self):
        new_secret = self.cleaned_data["secret"]
        return new_secret or (self.instance.secret if self.instance.pk else "")


class MetricSourceInline(ProjectScopedInline, admin.StackedInline):
    model = MetricSource
    form = MetricSourceForm
    project_path = "project"  # from the parent KPI
    extra = 0
    formfield_overrides = DURATION_FORMFIELD_OVERRIDES


@admin.register(KPI)
class KPIAdmin(ProjectScopedAdmin):
    list_display = [
        "name",
        "project",
        "category",
        "kind",
        "baseline_text",
        "target_display",
        "unit",
        "cadence_words",
        "owner_title",
    ]
    formfield_overrides = DURATION_FORMFIELD_OVERRIDES
    list_filter = ["category", "kind", "critical", "project"]
    search_fields = ["name", "description", "method", "target_text", "owner_title"]
    list_select_related = ["project"]
    inlines = [MetricSourceInline]
    fieldsets = [
        (None, {"fields": ["project", "phase", "name", "description", "kind", "category"]}),
        ("Baseline", {"fields": ["baseline_value", "baseline_text", "unit"]}),
        (
            "Target",
            {
                "fields": [
                    "comparator",
                    "target_value",
                    "target_value_high",
                    "warning_value",
                    "target_text",
                ]
            },
        ),
        ("Measurement", {"fields": ["method", "cadence", "owner", "owner_title"]}),
    ]

    @admin.display(description="target")
    def target_display(self, kpi: KPI) -> str:
        return kpi.target_display

    @admin.display(description="expected every", ordering="cadence")
    def cadence_words(self, kpi: KPI) -> str:
        return duration_words(kpi.cadence)


@admin.register(MetricSource)
class MetricSourceAdmin(ProjectScopedAdmin):
    form = MetricSourceForm
    project_path = "kpi__project"
    list_display = [
        "kpi",
        "kind",
        "interval_words",
        "is_active",
        "health",
        "next_due_at",
        "last_success_at",
        "consecutive_failures",
    ]
    list_filter = ["kind", "health", "is_active", "kpi__project"]
    search_fields = ["kpi__name", "last_error"]
    list_select_related = ["kpi__project"]
    formfield_overrides = DURATION_FORMFIELD_OVERRIDES
    readonly_fields = [
        "health",
        "next_due_at",
        "last_success_at",
        "last_error",
        "last_error_at",
        "consecutive_failures",
    ]

    @admin.display(description="every", ordering="interval")
    def interval_words(self, source: MetricSource) -> str:
        return duration_words(source.interval)


@admin.register(Measurement)
class MeasurementAdmin(ProjectScopedAdmin):
    """Values are append-only: they can be entered by hand, never changed or deleted."""

    project_path = "kpi__project"
    list_display = ["kpi", "at", "value", "source", "partial", "recorded_by", "recorded_at"]
    list_filter = ["partial", "kpi__project", "kpi"]
    search_fields = ["kpi__name", "note"]
    list_select_related = ["kpi__project", "source__kpi", "recorded_by"]
    date_hierarchy = "at"
    fields = ["kpi", "at", "value", "note"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        created = services.measurement_record(
            kpi=obj.kpi, at=obj.at, value=obj.value, by=request.user, note=obj.note
        )
        obj.pk = created.pk


@admin.register(MeasurementHour)
class MeasurementHourAdmin(RecordedByServicesAdmin):
    """The hourly sums the database keeps for long charts: read only."""

    project_path = "kpi__project"
    list_display = ["kpi", "hour", "count", "low", "high", "partials"]
    list_filter = ["kpi__project"]
    list_select_related = ["kpi__project"]


@admin.register(KPIPin)
class KPIPinAdmin(SuperuserOnlyAdmin):
    """Which KPIs each person pinned on a project's dashboard: a preference, not project data."""

    list_display = ["user", "kpi", "created_at"]
    search_fields = ["user__username", "kpi__name", "kpi__project__code"]
    list_select_related = ["user", "kpi"]
