from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from core.people import display_name
from gates.models import OVERRIDDEN_RECOMMENDATIONS, SignOffDecision


class SignForm(forms.Form):
    decision = forms.ChoiceField(choices=SignOffDecision.choices, widget=forms.RadioSelect)
    conditions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when approving with conditions: one a line. Each becomes an action "
        "with an owner and a due date.",
    )
    override_reason = forms.CharField(
        label="Why approve against the recommendation?",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed to approve when the recommendation is NO-GO or INCONCLUSIVE; it is "
        "recorded with your signature and shown to the project's managers.",
    )
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    username = forms.CharField(
        label="Your username", help_text="Signing asks who you are again, as a signature does."
    )
    password = forms.CharField(widget=forms.PasswordInput(render_value=False))
    evidence = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, advice: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if advice not in OVERRIDDEN_RECOMMENDATIONS:
            del self.fields["override_reason"]

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("decision") == SignOffDecision.APPROVE_WITH_CONDITIONS
            and not (cleaned.get("conditions") or "").strip()
        ):
            self.add_error("conditions", "Approving with conditions needs the conditions.")
        return cleaned


class DelegateForm(forms.Form):
    delegate = forms.ModelChoiceField(
        queryset=None,
        label="Delegate to",
        empty_label="Choose someone…",
        error_messages={
            "required": "Choose who may sign for you.",
            "invalid_choice": "Choose one of the project's members.",
        },
    )
    until = forms.DateTimeField(
        label="Until",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"required": "Say until when they may sign for you."},
    )

    def __init__(self, *args, gate, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["delegate"].queryset = (
            get_user_model()
            .objects.filter(is_active=True)
            .filter(
                Q(memberships__project=gate.project)
                | Q(memberships__programme_id=gate.project.programme_id)
            )
            .exclude(pk=user.pk)
            .distinct()
            .order_by("first_name", "last_name", "username")
        )
        self.fields["delegate"].label_from_instance = display_name

    def clean_until(self):
        until = self.cleaned_data["until"]
        if until <= timezone.now():
            raise forms.ValidationError("The delegation must end in the future.")
        return until


class ConditionForm(forms.Form):
    """A condition's owner (a member of the project) and due date."""

    owner = forms.TypedChoiceField(
        coerce=int,
        label="Owner",
        error_messages={
            "required": "Choose who owns this condition.",
            "invalid_choice": "Choose a member of the project.",
        },
    )
    due_date = forms.DateField(
        label="Due",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": "Give the day it is due.",
            "invalid": "Give the day it is due as a date, e.g. 2026-12-31.",
        },
    )

    def __init__(self, *args, members, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.members = {user.pk: user for user in members}
        self.today = today
        self.fields["owner"].choices = [("", "Choose a member")] + [
            (user.pk, display_name(user)) for user in members
        ]

    def clean_owner(self):
        return self.members[self.cleaned_data["owner"]]

    def clean_due_date(self):
        due = self.cleaned_data["due_date"]
        if "due_date" in self.changed_data and due < self.today:
            raise forms.ValidationError(
                "A new due date cannot lie in the past: choose today or later."
            )
        return due
