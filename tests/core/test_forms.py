"""The duration field every form of the site uses: words in, words shown."""

from datetime import timedelta

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
