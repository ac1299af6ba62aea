"""Durations and moments in words: written for people, and read back from what people write."""

from datetime import UTC, datetime, timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone

from core.words import (
    DURATION_EXAMPLE,
    ago_words,
    duration_exact_words,
    duration_read,
    duration_words,
    moment_words,
)


@pytest.mark.parametrize(
    ("written", "duration"),
    [
        ("5 minutes", timedelta(minutes=5)),
        ("every 2 hours", timedelta(hours=2)),
        ("Every 2 hours", timedelta(hours=2)),
        ("1 day", timedelta(days=1)),
        ("90 seconds", timedelta(seconds=90)),
        ("15", timedelta(minutes=15)),
        ("1 hour 30 minutes", timedelta(minutes=90)),
        ("1 hour, 30 minutes", timedelta(minutes=90)),
        ("1 day and 2 hours", timedelta(hours=26)),
        ("2 weeks", timedelta(days=14)),
        ("5min", timedelta(minutes=5)),
        ("every hour", timedelta(hours=1)),
        ("an hour", timedelta(hours=1)),
        ("1.5 hours", timedelta(minutes=90)),
        ("1 day, 0:00:00", timedelta(days=1)),
        ("00:05:00", timedelta(minutes=5)),
        ("1 00:00:00", timedelta(days=1)),
    ],
)
def test_durations_are_read_as_people_write_them(written, duration):
    assert duration_read(written) == duration


@pytest.mark.parametrize(
    "written", ["soon", "5 parsecs", "minutes 5", "5 5 minutes", "-5 minutes", "1:xx", ""]
)
def test_what_is_no_duration_is_refused_with_an_example(written):
    with pytest.raises(ValueError, match="such as '15 minutes' or '1 day'"):
        duration_read(written)
    assert DURATION_EXAMPLE == "Write a duration such as '15 minutes' or '1 day'."


@pytest.mark.parametrize(
    "duration",
    [timedelta(days=1), timedelta(minutes=5), timedelta(days=2, hours=3, seconds=4)],
)
def test_a_duration_in_exact_words_reads_back_the_same(duration):
    assert duration_read(duration_exact_words(duration)) == duration


def test_durations_read_in_words():
    assert duration_words(timedelta(days=1)) == "1 day"
    assert duration_words(timedelta(minutes=5)) == "5 minutes"
    assert duration_exact_words(timedelta(days=2, hours=3, seconds=4)) == "2 days 3 hours 4 seconds"


def test_a_moment_reads_in_the_readers_time_zone():
    moment = datetime(2026, 12, 3, 7, 12, 31, 893546, tzinfo=UTC)
    with timezone.override("Europe/Paris"):
        assert moment_words(moment) == "3 Dec 2026, 08:12 CET"
    with timezone.override("UTC"):
        assert moment_words(moment) == "3 Dec 2026, 07:12 UTC"


def test_recency_reads_as_time_ago():
    now = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    assert ago_words(now - timedelta(hours=2, minutes=5), now=now) == "2 hours ago"
    assert ago_words(now - timedelta(seconds=20), now=now) == "just now"


def test_templates_write_moments_durations_and_recency_in_words():
    template = Template("{% load words %}{{ at|moment }} · every {{ every|duration }}")
    at = datetime(2026, 12, 3, 7, 12, 31, 893546, tzinfo=UTC)
    with timezone.override("Europe/Paris"):
        text = template.render(Context({"at": at, "every": timedelta(minutes=5)}))
    assert text == "3 Dec 2026, 08:12 CET · every 5 minutes"
    recent = Template("{% load words %}{{ at|ago }}").render(
        Context({"at": timezone.now() - timedelta(hours=2, minutes=1)})
    )
    assert recent == "2 hours ago"
