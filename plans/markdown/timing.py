"""A plan's words for time ("Week 1–2", "Months 1-2", "Day 4", "Day 2-3", "3-5 days") as day
offsets from the project's start."""

import re
from dataclasses import dataclass

UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "sprint": 14}
DASH = r"\s*(?:-|–|—|to)\s*"
POSITION = re.compile(rf"\b(day|week|month|sprint)s?\s+(\d+)(?:{DASH}(\d+))?", re.IGNORECASE)


@dataclass(frozen=True)
class Span:
    start_day: int  # offset from the project's start, 0-based
    end_day: int  # inclusive
    text: str


def span_of(text: str) -> Span | None:
    """Where in the project's calendar `text` places something: 'Week 1–2' is days 0–13,
    'Month 3' days 60–89, 'Day 2-3' days 1–2; None if it names no position."""
    match = POSITION.search(text)
    if not match:
        return None
    unit, first, last = match.group(1).lower(), int(match.group(2)), match.group(3)
    last = int(last) if last else first
    if first < 1 or last < first or last > 1000:
        return None
    size = UNIT_DAYS[unit]
    return Span((first - 1) * size, last * size - 1, match.group(0))
