"""Quantities in words, for people: the one place durations are spelled out."""

from datetime import timedelta

_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def duration_words(duration: timedelta, *, parts: int = 2) -> str:
    """`duration` in words, its largest `parts` units: "2 days 3 hours", "40 minutes",
    "1 minute 30 seconds"; under a second reads "less than a second"."""
    remaining = int(abs(duration).total_seconds())
    words = []
    for name, seconds in _UNITS:
        count, remaining = divmod(remaining, seconds)
        if count:
            words.append(f"{count} {name}{'' if count == 1 else 's'}")
        if len(words) == parts:
            break
    return " ".join(words) or "less than a second"
