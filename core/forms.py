"""Form fields every app shares."""

from datetime import timedelta

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import models

from core.words import DURATION_EXAMPLE, duration_exact_words, duration_read


class DurationWordsInput(forms.TextInput):
    """A duration shown as words ("1 day", "5 minutes"), to be edited as words."""

    def __init__(self, attrs=None):
        # Marked as a duration for what reads the page (the form walk's kinds of value).
        super().__init__({"data-kind": "duration", **(attrs or {})})

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


class ConstraintErrorsBesideFields:
    """A ModelForm whose model's check constraints name the field their error shows beside
    (`constraint_fields`: constraint name to field). Django reports a constraint's error above
    the form; an end before its start, or a target without a comparator, is the end's or the
    target's to show, next to where it is corrected."""

    constraint_fields: dict[str, str] = {}

    def _post_clean(self):
        super()._post_clean()
        errors = self._errors.get(NON_FIELD_ERRORS)
        if not errors:
            return
        beside = {
            str(constraint.get_violation_error_message()): self.constraint_fields[constraint.name]
            for constraint in self._meta.model._meta.constraints
            if constraint.name in self.constraint_fields
        }
        above = []
        for error in errors.as_data():
            field = next((beside[m] for m in error.messages if m in beside), None)
            if field in self.fields:
                self._errors.setdefault(field, self.error_class(renderer=self.renderer))
                self._errors[field].extend(error.messages)
                self.cleaned_data.pop(field, None)
            else:
                above.append(error)
        if above:
            self._errors[NON_FIELD_ERRORS] = self.error_class(
                above, error_class="nonfield", renderer=self.renderer
            )
        else:
            del self._errors[NON_FIELD_ERRORS]
