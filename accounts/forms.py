from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator

from accounts.time_zones import time_zone_names


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


class SettingsForm(forms.Form):
    """A person's own preferences ("Your settings")."""

    time_zone = forms.ChoiceField(
        label="Time zone",
        required=False,
        help_text="Dates and times show in this zone, with its abbreviation: "
        "“3 Dec 2026, 09:12 CET”.",
        error_messages={
            "invalid_choice": "Choose a time zone from the list: “%(value)s” is not one "
            "this portal knows."
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [
            ("", f"The portal's time zone ({settings.TIME_ZONE})"),
            *((name, name) for name in time_zone_names()),
        ]

    def show_saved(self, saved: str) -> None:
        """After a choice that could not be saved, the list shows the saved one again beside
        the error: saving once more then changes nothing by surprise."""
        self.data = self.data.copy()
        self.data[self.add_prefix("time_zone")] = saved
