from django import forms

from gates.models import SignOffDecision


class SignForm(forms.Form):
    decision = forms.ChoiceField(choices=SignOffDecision.choices, widget=forms.RadioSelect)
    conditions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when approving with conditions; they become follow-up tasks.",
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
