"""Form fields every app shares."""

from datetime import timedelta

from django import forms
from django.db import models

from core.words import DURATION_EXAMPLE, duration_exact_words, duration_read


class DurationWordsInput(forms.TextInput):
    """A duration shown as words ("1 day", "5 minutes"), to be edited as words."""

    def format_value(self, value):
        if isinstance(value, timedelta):
            return duration_exact_words(value)
        return super().format_value(value)


class DurationWordsField(forms.DurationField):
    """A duration written as people write one: "5 minutes", "every 2 hours", "1 day",
    "90 seconds", plain minutes ("15"), or the "1 day, 0:00:00" and "00:05:00" of old."""

    widget = DurationWordsInput
    default_error_messages = {
        "invalid": DURATION_EXAMPLE,
        "not_positive": "A duration is longer than nothing. " + DURATION_EXAMPLE,
    }

    def prepare_value(self, value):
        return value  # the widget writes it in words

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, timedelta):
            return value
        try:
            duration = duration_read(str(value))
        except (ValueError, OverflowError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if duration <= timedelta(0):
            raise forms.ValidationError(self.error_messages["not_positive"], code="not_positive")
        return duration


# For a ModelAdmin or inline: its duration fields are read and shown in words too.
DURATION_FORMFIELD_OVERRIDES = {
    models.DurationField: {"form_class": DurationWordsField, "widget": DurationWordsInput}
}
