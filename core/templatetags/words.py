"""Quantities and moments in words (core.words), for templates."""

from django import template

from core.words import ago_words, duration_words, moment_words

register = template.Library()


@register.filter
def duration(value) -> str:
    """`{{ kpi.cadence|duration }}`: "1 day", "5 minutes"."""
    return "—" if value is None else duration_words(value)


@register.filter
def moment(value) -> str:
    """`{{ entry.at|moment }}`: "3 Dec 2026, 08:12 CET", in the reader's time zone."""
    return "—" if value is None else moment_words(value)


@register.filter
def ago(value) -> str:
    """`{{ source.last_success_at|ago }}`: "2 hours ago"."""
    return "—" if value is None else ago_words(value)
