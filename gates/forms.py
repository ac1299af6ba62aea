from django import forms

from gates.models import SignOffDecision


class SignForm(forms.Form):
    decision = forms.ChoiceField(choices=SignOffDecision.choices, widget=forms.RadioSelect)
    conditions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when approving with conditions: one a line. Each becomes an action "
        "with an owner and a due date.",
    )
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    username = forms.CharField(
        label="Your username", help_text="Signing asks who you are again, as a signature does."
    )
    password = forms.CharField(widget=forms.PasswordInput(render_value=False))
    seen_hash = forms.CharField(widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("decision") == SignOffDecision.APPROVE_WITH_CONDITIONS
            and not (cleaned.get("conditions") or "").strip()
        ):
            self.add_error("conditions", "Approving with conditions needs the conditions.")
        return cleaned


class DelegateForm(forms.Form):
    delegate = forms.ModelChoiceField(queryset=None, label="Delegate to")
    until = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )

    def __init__(self, *args, gate, user, **kwargs):
        super().__init__(*args, **kwargs)
        from django.contrib.auth import get_user_model
        from django.db.models import Q

        self.fields["delegate"].queryset = (
            get_user_model()
            .objects.filter(is_active=True)
            .filter(
                Q(memberships__project=gate.project)
                | Q(memberships__programme_id=gate.project.programme_id)
            )
            .exclude(pk=user.pk)
            .distinct()
        )

    def clean_until(self):
        from django.utils import timezone

        until = self.cleaned_data["until"]
        if until <= timezone.now():
            raise forms.ValidationError("The delegation must end in the future.")
        return until
