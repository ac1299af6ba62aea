"""Form fields and rules every form of the site uses: durations in words, in and out; rules
between fields shown beside the field they name."""

from datetime import timedelta

import pytest
from django import forms

from core.forms import DurationWordsField


class EveryForm(forms.Form):
    every = DurationWordsField()


def test_a_duration_written_in_words_is_accepted():
    for written, duration in [
        ("5 minutes", timedelta(minutes=5)),
        ("every 2 hours", timedelta(hours=2)),
        ("15", timedelta(minutes=15)),
        ("1 day, 0:00:00", timedelta(days=1)),
        ("00:05:00", timedelta(minutes=5)),
    ]:
        form = EveryForm(data={"every": written})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["every"] == duration


def test_a_duration_that_cannot_be_read_is_refused_in_words_and_kept():
    form = EveryForm(data={"every": "fortnightly-ish"})
    assert not form.is_valid()
    assert form.errors["every"] == ["Write a duration such as '15 minutes' or '1 day'."]
    assert 'value="fortnightly-ish"' in str(form["every"])


def test_no_duration_at_all_is_refused():
    form = EveryForm(data={"every": "0 minutes"})
    assert not form.is_valid()
    assert "longer than nothing" in form.errors["every"][0]


def test_the_current_value_is_shown_in_words():
    form = EveryForm(initial={"every": timedelta(days=1)})
    assert 'value="1 day"' in str(form["every"])
    form = EveryForm(initial={"every": timedelta(minutes=5)})
    assert 'value="5 minutes"' in str(form["every"])


@pytest.mark.django_db
def test_a_rule_between_fields_shows_its_error_beside_the_field_it_names(project_a):
    from projects.forms import PhaseForm
    from tests.factories import PhaseFactory

    phase = PhaseFactory(project=project_a, order=1)
    data = {"name": phase.name, "status": "planned", "version": phase.version}
    form = PhaseForm(
        {**data, "baseline_start": "2026-03-02", "baseline_end": "2026-03-01"}, instance=phase
    )
    assert not form.is_valid()
    assert form.errors["baseline_end"] == ["The baseline end must not be before its start."]
    assert form.non_field_errors() == []
    assert "baseline_end" not in form.cleaned_data

    # A rule the form names no field for stays above the form.
    form.constraint_fields = {}
    form.full_clean()
    assert form.non_field_errors() == ["The baseline end must not be before its start."]


def test_a_field_is_described_by_its_error_and_its_help_shown_beside_it():
    import re

    from django.template.loader import render_to_string

    class Form(forms.Form):
        every = DurationWordsField(help_text="How often, e.g. 5 minutes.")

    html = render_to_string("core/_form_fields.html", {"form": Form({"every": "now and then"})})
    described = re.search(r'aria-describedby="([^"]+)"', html).group(1).split()
    assert described == ["id_every_helptext", "id_every_error"]
    for id_ in described:
        assert html.count(f'id="{id_}"') == 1
    assert 'aria-invalid="true"' in html
