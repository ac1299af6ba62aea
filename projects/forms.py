from django import forms
from django.db.models import Max

from core.forms import ConstraintErrorsBesideFields
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


class ProjectOverviewForm(ConstraintErrorsBesideFields, VersionedForm):
    constraint_fields = {
        "project_baseline_ends_after_start": "baseline_end",
        "project_currency_is_iso_code": "currency",
    }

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


class PhaseForm(ConstraintErrorsBesideFields, VersionedForm):
    constraint_fields = {
        "phase_baseline_ends_after_start": "baseline_end",
        "phase_forecast_ends_after_start": "forecast_end",
        "phase_actual_end_only_when_done": "actual_end",
    }

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


NO_OWNER = "none"


class ChecklistBulkForm(forms.Form):
    """What to do with the checklist items ticked for a bulk change, and to which."""

    ACTIONS = [
        ("done", "Mark done"),
        ("undone", "Mark not done"),
        ("assign", "Give them an owner"),
        ("move", "Move them to a phase"),
    ]
    action = forms.ChoiceField(
        choices=ACTIONS,
        error_messages={
            "required": "Choose what to do with the selected items.",
            "invalid_choice": "Choose what to do with the selected items.",
        },
    )
    owner = forms.CharField(required=False)  # a member's id, or NO_OWNER
    owner_title = forms.CharField(required=False, max_length=100, strip=True)
    to_phase = forms.IntegerField(
        required=False, error_messages={"invalid": "Choose a phase of this plan."}
    )

    def clean(self) -> dict:
        data = super().clean()
        data["seen"] = self._seen()
        action = data.get("action")
        if action == "assign":
            owner = data.get("owner") or ""
            if owner != NO_OWNER and not owner.isdigit():
                raise forms.ValidationError("Choose the owner: a member of the project, or no one.")
            data["owner_id"] = None if owner == NO_OWNER else int(owner)
        if action == "move" and data.get("to_phase") is None:
            raise forms.ValidationError("Choose the phase to move the items to.")
        return data

    def _seen(self) -> dict[int, int]:
        """{item id: version the editor saw}, from the ticked boxes ("id:version")."""
        seen = {}
        for value in self.data.getlist("items"):
            item_id, _sep, version = value.partition(":")
            if not (item_id.isdigit() and version.isdigit()):
                raise forms.ValidationError("The selection could not be read; reload the plan.")
            seen[int(item_id)] = int(version)
        return seen
