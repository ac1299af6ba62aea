from django import forms

from core.forms import ConstraintErrorsBesideFields
from risks.models import MitigationAction, Risk

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class RiskForm(ConstraintErrorsBesideFields, forms.ModelForm):
    constraint_fields = {"risk_likelihood_1_to_5": "likelihood", "risk_impact_1_to_5": "impact"}

    reason = forms.CharField(
        label="Reason for the change",
        required=False,
        widget=forms.TextInput(),
        help_text="Kept in the risk's history with your name.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Risk
        fields = [
            "title",
            "category",
            "likelihood",
            "impact",
            "status",
            "owner_title",
            "review_by",
            "description",
            "mitigation",
            "contingency",
        ]
        widgets = {
            "review_by": DATE,
            "description": forms.Textarea(attrs={"rows": 2}),
            "mitigation": forms.Textarea(attrs={"rows": 3}),
            "contingency": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {"owner_title": "Owner", "contingency": "Contingency plan"}

    def __init__(self, *args, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("version", self.instance.version)
        else:
            self.instance.project = project
            self.instance.key = "R0"  # a placeholder: the service gives the real key
            del self.fields["reason"]

    def changes(self) -> dict:
        """The risk's fields, and the reason for the change when editing."""
        changes = {name: self.cleaned_data[name] for name in self._meta.fields}
        if "reason" in self.fields:
            changes["reason"] = self.cleaned_data["reason"]
        return changes


class MitigationActionForm(forms.ModelForm):
    class Meta:
        model = MitigationAction
        fields = ["title", "owner_title", "due", "reduces_likelihood_to", "reduces_impact_to"]
        widgets = {"due": DATE}
        labels = {
            "owner_title": "Owner",
            "reduces_likelihood_to": "Once done, likelihood becomes",
            "reduces_impact_to": "Once done, impact becomes",
        }

    def __init__(self, *args, risk, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.risk = risk

    def clean(self):
        cleaned = super().clean()
        risk = self.instance.risk
        for field, current in (
            ("reduces_likelihood_to", risk.likelihood),
            ("reduces_impact_to", risk.impact),
        ):
            value = cleaned.get(field)
            if value is not None and value > current:
                self.add_error(field, "A mitigation lowers the rating; this would raise it.")
        return cleaned


class RegisterImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns as in the export: key, title, description, category, likelihood, "
        "impact, status, owner, owner_title, mitigation, contingency, review_by.",
    )
