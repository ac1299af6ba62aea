"""Targets as plans write them ("< 500ms", "99.99% match", "by 30%", "Zero P1 bugs") parsed
into comparator, value and unit; and KPI lines ("p95 write latency < 15ms") split into the
metric's name and its target."""

import re
from dataclasses import dataclass

from metrics.models import target_words

COMPARATORS = {
    "<": "lt",
    "<=": "lte",
    "≤": "lte",
    ">": "gt",
    ">=": "gte",
    "≥": "gte",
    "=": "eq",
    "==": "eq",
}
UNITS = {
    "ms": "ms",
    "millisecond": "ms",
    "milliseconds": "ms",
    "s": "s",
    "sec": "s",
    "second": "s",
    "seconds": "s",
    "min": "min",
    "minute": "min",
    "minutes": "min",
    "h": "h",
    "hour": "h",
    "hours": "h",
    "day": "days",
    "days": "days",
    "week": "weeks",
    "weeks": "weeks",
    "%": "%",
    "req/s": "req/s",
    "rps": "req/s",
    "gb": "GB",
    "mb": "MB",
}
NUMBER = r"\$?(\d[\d,]*(?:\.\d+)?)"
UNIT_WORD = (
    r"(ms|milliseconds?|seconds?|sec|s|minutes?|min|hours?|h|days?|weeks?|%|req/s|rps|gb|mb)?"
)
EXPLICIT = re.compile(
    rf"(<=|>=|==|≤|≥|<|>|=)\s*{NUMBER}\s*{UNIT_WORD}(?![a-z])(?:\s*(/\s*mo(?:nth)?))?",
    re.IGNORECASE,
)
PLUS = re.compile(rf"{NUMBER}\s*{UNIT_WORD}\s*\+", re.IGNORECASE)
BY = re.compile(rf"\bby\s+{NUMBER}\s*{UNIT_WORD}(?![a-z])", re.IGNORECASE)
WITHIN = re.compile(rf"\bwithin\s+(?:\d+\s*(?:-|–)\s*)?{NUMBER}[\s-]*{UNIT_WORD}", re.IGNORECASE)
LEADING = re.compile(rf"^\s*{NUMBER}\s*{UNIT_WORD}(?![a-z\d])", re.IGNORECASE)
ZERO = re.compile(r"^\s*zero\b", re.IGNORECASE)
SHOULD_BE = re.compile(rf"\bshould\s+be\s+{NUMBER}\s*{UNIT_WORD}(?![a-z])", re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    comparator: str  # metrics.models.Comparator value
    value: float
    unit: str
    matched: str  # the words it was read from

    @property
    def words(self) -> str:
        """The target in words, as the KPI will show it: "below 0.01 %"."""
        return target_words(self.comparator, self.value, unit=self.unit)


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _unit(word: str | None, per_month: str | None = None) -> str:
    unit = UNITS.get((word or "").lower(), word or "")
    if per_month:
        unit = (unit + "/month") if unit else "USD/month"
    return unit


def parse_target(text: str) -> Target | None:
    """The numeric target in `text`, or None when it states none."""
    match = EXPLICIT.search(text)
    if match:
        symbol, number, unit, per_month = match.groups()
        matched = match.group(0)
        if "$" in matched and not unit:
            unit = "USD"
        elif not unit and not per_month:
            # "< 100 pending", "= 0 bugs": the word after the number is the unit.
            word = re.match(r"\s*([a-zA-Z]{2,15})\b", text[match.end() :])
            if word and word.group(1).lower() not in (
                "per",
                "of",
                "for",
                "in",
                "on",
                "and",
                "or",
                "average",
                "sustained",
                "by",
            ):
                unit = word.group(1)
                matched = text[match.start() : match.end() + word.end()]
        return Target(COMPARATORS[symbol], _number(number), _unit(unit, per_month), matched)
    for pattern, comparator in ((PLUS, "gte"), (BY, "gte"), (WITHIN, "lte"), (SHOULD_BE, "eq")):
        match = pattern.search(text)
        if match:
            return Target(
                comparator, _number(match.group(1)), _unit(match.group(2)), match.group(0)
            )
    match = LEADING.match(text)
    if match and match.group(2):
        return Target("gte", _number(match.group(1)), _unit(match.group(2)), match.group(0))
    match = ZERO.match(text)
    if match:
        return Target("eq", 0.0, "", match.group(0))
    return None


@dataclass(frozen=True)
class KPILine:
    name: str
    target_text: str
    target: Target | None


def split_kpi_line(text: str) -> KPILine:
    """'Avg. response time <2 seconds' → name 'Avg. response time', target < 2 s;
    '99.9% availability post-deployment' → 'Availability post-deployment', ≥ 99.9 %."""
    target = parse_target(text)
    if target is None:
        return KPILine(_tidy(text), "", None)
    name = text.replace(target.matched, " ", 1)
    name = re.sub(r"\((?:\s*target\s*:)?\s*\)", " ", name)  # "(target: 70%+)" emptied
    name = re.sub(r"\bby\s*$", "", name.strip()).strip(" ,;:-–")
    return KPILine(_tidy(name) or _tidy(text), target.matched.strip(), target)


def _tidy(text: str) -> str:
    text = " ".join(text.split()).strip(" ,;:-–")
    if text and text.split()[0].isalpha():  # "p95 latency" keeps its lower-case p
        return text[:1].upper() + text[1:]
    return text
