import json
from datetime import timedelta

from django import forms
from django.utils import timezone

from core.forms import ConstraintErrorsBesideFields, DurationWordsField
from metrics.models import KPI, MetricSource

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class KPIForm(ConstraintErrorsBesideFields, forms.ModelForm):
    constraint_fields = {
        "kpi_cadence_positive": "cadence",
        "kpi_between_has_ordered_bounds": "target_value_high",
        "kpi_comparator_has_value": "target_value",
        "kpi_confirm_readings_in_range": "confirm_readings",
        "kpi_confirm_after_positive": "confirm_after",
    }

    class Meta:
        model = KPI
        fields = [
            "name",
            "kind",
            "category",
            "phase",
            "unit",
            "baseline_value",
            "baseline_text",
            "comparator",
            "target_value",
            "target_value_high",
            "warning_value",
            "target_text",
            "sustain_values",
            "confirm_readings",
            "confirm_after",
            "critical",
            "method",
            "cadence",
            "owner_title",
            "description",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "method": forms.Textarea(attrs={"rows": 2}),
        }
        field_classes = {"cadence": DurationWordsField, "confirm_after": DurationWordsField}
        labels = {"owner_title": "Owner", "cadence": "Expected every"}
        help_texts = {"cadence": "How often a new value is expected, e.g. 1 day or 15 minutes."}

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.project = project
        self.fields["phase"].queryset = project.phases.filter(deleted_at__isnull=True)
        # Left empty, the default applies: a new status counts after 2 readings.
        self.fields["confirm_readings"].required = False

    def clean_confirm_readings(self):
        value = self.cleaned_data["confirm_readings"]
        return KPI._meta.get_field("confirm_readings").default if value is None else value


class MetricSourceForm(ConstraintErrorsBesideFields, forms.ModelForm):
    constraint_fields = {
        "metric_source_interval_at_least_10s": "interval",
        "metric_source_interval_at_most_366_days": "interval",
    }

    """A KPI's source. The secret is write-only: never sent back to the browser."""

    config = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
        help_text='JSON, e.g. {"url": "http://127.0.0.1:9090", "query": "up"}',
    )
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Token sent in the header named by secret_header. "
        "Leave empty to keep the stored one.",
    )

    class Meta:
        model = MetricSource
        fields = ["kind", "config", "secret", "interval", "is_active"]
        field_classes = {"interval": DurationWordsField}
        labels = {"interval": "Collect every"}
        help_texts = {"interval": "e.g. 5 minutes or 1 hour."}

    def __init__(self, *args, kpi, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.kpi = kpi
        if self.instance.pk and not self.is_bound:
            self.initial["config"] = json.dumps(self.instance.config, indent=2)

    def clean_config(self):
        try:
            value = json.loads(self.cleaned_data["config"])
        except ValueError as error:
            raise forms.ValidationError(f"This is not valid JSON: {error}.") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("The configuration is a JSON object: {...}.")
        return value

    def clean_secret(self):
        return self.cleaned_data["secret"] or (self.instance.secret if self.instance.pk else "")


class ManualValueForm(forms.Form):
    value = forms.FloatField()
    at = forms.DateTimeField(
        label="When",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Leave empty for now.",
    )
    note = forms.CharField(required=False, max_length=500)

    def clean_value(self):
        value = self.cleaned_data["value"]
        if value != value or value in (float("inf"), float("-inf")):
            raise forms.ValidationError("Enter a finite number.")
        return value

    def clean_at(self):
        at = self.cleaned_data.get("at") or timezone.now()
        if at > timezone.now() + timedelta(minutes=5):
            raise forms.ValidationError("A measurement cannot be in the future.")
        return at
