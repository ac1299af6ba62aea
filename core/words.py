"""Quantities and moments in words, for people: the one place durations and times are spelled
out, and durations written by people are read."""

import re
from datetime import date, datetime, timedelta, tzinfo

from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.dateparse import parse_duration

_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))

# How a moment reads everywhere: "3 Dec 2026, 08:12 CET", in the reader's time zone; a day
# without a time: "3 Dec 2026".
MOMENT_FORMAT = "j M Y, H:i T"
DAY_FORMAT = "j M Y"

DURATION_EXAMPLE = "Write a duration such as '15 minutes' or '1 day'."

_UNIT_SECONDS = {
    **{name: 604800 for name in ("w", "wk", "wks", "week", "weeks")},
    **{name: 86400 for name in ("d", "day", "days")},
    **{name: 3600 for name in ("h", "hr", "hrs", "hour", "hours")},
    **{name: 60 for name in ("m", "min", "mins", "minute", "minutes")},
    **{name: 1 for name in ("s", "sec", "secs", "second", "seconds")},
}
_PART = re.compile(r"(\d+(?:\.\d+)?|an?)?\s*([a-z]+)")
_SEPARATORS = re.compile(r"\s*(?:,|\band\b)\s*|\s+")


def number_words(value: float) -> str:
    """A number as people write it: up to four decimals, no trailing zeros, thousands
    grouped: "0.01", "1,250", "99.99"."""
    text = f"{float(value):,.4f}".rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


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


def duration_exact_words(duration: timedelta) -> str:
    """`duration` in words to the second, so that reading it back gives the same duration."""
    return duration_words(duration, parts=len(_UNITS))


def duration_read(text: str) -> timedelta:
    """A duration as people write it: "5 minutes", "every 2 hours", "1 day", "90 seconds",
    "1 hour 30 minutes", plain minutes ("15"), or as Python and Django print one ("1 day,
    0:00:00", "00:05:00"). ValueError with DURATION_EXAMPLE for anything else."""
    written = " ".join(text.strip().lower().split())
    written = written.removeprefix("every ").strip()
    if re.fullmatch(r"\d+", written):
        return timedelta(minutes=int(written))
    if ":" in written or written.startswith("p"):
        parsed = parse_duration(written)
        if parsed is None:
            raise ValueError(DURATION_EXAMPLE)
        return parsed
    seconds = 0.0
    parts = [part for part in _SEPARATORS.split(written) if part]
    # "5 minutes" splits into "5" and "minutes": join each number to the unit after it.
    joined, pending = [], ""
    for part in parts:
        if re.fullmatch(r"\d+(?:\.\d+)?|an?", part):
            if pending:
                raise ValueError(DURATION_EXAMPLE)
            pending = part
            continue
        joined.append(f"{pending} {part}".strip())
        pending = ""
    if pending or not joined:
        raise ValueError(DURATION_EXAMPLE)
    for part in joined:
        match = _PART.fullmatch(part)
        if not match or match.group(2) not in _UNIT_SECONDS:
            raise ValueError(DURATION_EXAMPLE)
        count = match.group(1)
        amount = 1.0 if count in (None, "a", "an") else float(count)
        seconds += amount * _UNIT_SECONDS[match.group(2)]
    return timedelta(seconds=seconds)


def moment_words(moment: datetime, zone: tzinfo | None = None) -> str:
    """`moment` as people read it, in the reader's time zone: "3 Dec 2026, 08:12 CET"; in
    `zone` instead for text that must read the same for every reader (a gate's evidence)."""
    return date_format(timezone.localtime(moment, zone), MOMENT_FORMAT)


def day_words(day: date) -> str:
    """A calendar day as people read it: "3 Dec 2026"."""
    return date_format(day, DAY_FORMAT)


def value_words(value) -> str:
    """A recorded value of any kind as people read it: moments and days as above, durations in
    words, yes or no, numbers without trailing zeros; text as it is."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return moment_words(value)
    if isinstance(value, date):
        return day_words(value)
    if isinstance(value, timedelta):
        return duration_words(value, parts=len(_UNITS))
    if isinstance(value, float):
        return number_words(value)
    return str(value)


def ago_words(moment: datetime, *, now: datetime | None = None) -> str:
    """How long ago `moment` was, where recency matters: "2 hours ago", "just now"."""
    elapsed = (now or timezone.now()) - moment
    if elapsed < timedelta(minutes=1):
        return "just now"
    return f"{duration_words(elapsed, parts=1)} ago"
