from django import forms
from django.db.models import Max

from projects.models import ChecklistItem, Phase, Project

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class VersionedForm(forms.ModelForm):
    """A form for a row several people edit: it carries the version the editor started from."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "version" not in self.initial:
            self.initial["version"] = self.instance.version

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields}


class ProjectOverviewForm(VersionedForm):
    class Meta:
        model = Project
        fields = [
            "name",
            "status",
            "summary",
            "approach",
            "approach_rationale",
            "manager_name",
            "stakeholders",
            "baseline_start",
            "baseline_end",
            "target_delivery",
            "forecast_end",
            "budget_planned",
            "budget_spent",
            "currency",
        ]
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 4}),
            "approach": forms.Textarea(attrs={"rows": 3}),
            "approach_rationale": forms.Textarea(attrs={"rows": 3}),
            "stakeholders": forms.Textarea(attrs={"rows": 4}),
            "baseline_start": DATE,
            "baseline_end": DATE,
            "target_delivery": DATE,
            "forecast_end": DATE,
        }
        labels = {"manager_name": "Project manager (as the plan names them)"}


class PhaseForm(VersionedForm):
    class Meta:
        model = Phase
        fields = [
            "name",
            "timing",
            "status",
            "goal",
            "baseline_start",
            "baseline_end",
            "forecast_start",
            "forecast_end",
            "actual_end",
            "resource_needs",
            "success_criteria",
        ]
        widgets = {
            "goal": forms.Textarea(attrs={"rows": 2}),
            "resource_needs": forms.Textarea(attrs={"rows": 2}),
            "success_criteria": forms.Textarea(attrs={"rows": 3}),
            "baseline_start": DATE,
            "baseline_end": DATE,
            "forecast_start": DATE,
            "forecast_end": DATE,
            "actual_end": DATE,
        }


class NewPhaseForm(PhaseForm):
    version = None

    class Meta(PhaseForm.Meta):
        pass

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.project = project
        # Validated at the end of the plan; the service fixes the position under a lock.
        last = project.phases.filter(deleted_at__isnull=True).aggregate(last=Max("order"))
        self.instance.order = (last["last"] or 0) + 1


class ChecklistItemForm(VersionedForm):
    class Meta:
        model = ChecklistItem
        fields = ["title", "detail", "kind", "section", "owner_title", "due"]
        widgets = {"due": DATE, "detail": forms.Textarea(attrs={"rows": 3})}
        labels = {"owner_title": "Owner"}


class NewChecklistItemForm(ChecklistItemForm):
    version = None

    class Meta(ChecklistItemForm.Meta):
        pass

    def __init__(self, *args, phase: Phase, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.phase = phase
