from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator


class LoginForm(AuthenticationForm):
    """The login form, its errors in the portal's words: a missing field says so beside it;
    a wrong pair says so above the form, without saying which of the two was wrong."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That username and password do not match an active account. "
        "Check both and try again.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].error_messages["required"] = "Enter your username."
        self.fields["password"].error_messages["required"] = "Enter your password."
        # Django sets the username's length after the field is made, without its check.
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(username.max_length))


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What will use it, e.g. 'CI pipeline' or 'Grafana export'.",
    )
