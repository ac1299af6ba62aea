"""How risks are scored, banded and read from the plans' words.

Likelihood and impact are rated 1–5; the score is their product (1–25). Bands cut the score
at thresholds set in `settings.RISK_BAND_THRESHOLDS`.

The plans rate risks in words. This table is the one place those words become numbers:

| word in a plan                       | likelihood | impact |
|--------------------------------------|-----------:|-------:|
| very low, rare, negligible           | 1          | 1      |
| low, unlikely, minor                 | 2          | 2      |
| medium, moderate, possible           | 3          | 3      |
| high, likely, major                  | 4          | 4      |
| very high, critical, almost certain, severe | 5   | 5      |

So "Medium probability, High impact" is likelihood 3, impact 4: score 12, band high.
"""

from enum import StrEnum

from django.conf import settings

QUALITATIVE_LEVELS: dict[str, int] = {
    "very low": 1,
    "rare": 1,
    "negligible": 1,
    "low": 2,
    "unlikely": 2,
    "minor": 2,
    "medium": 3,
    "moderate": 3,
    "possible": 3,
    "high": 4,
    "likely": 4,
    "major": 4,
    "very high": 5,
    "critical": 5,
    "almost certain": 5,
    "severe": 5,
}


class Band(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def label(self) -> str:
        return self.value.capitalize()


def level_from(value) -> int:
    """A 1–5 level from a number or a plan's word; ValueError with a readable reason if not."""
    text = str(value).strip().lower()
    if text.isdigit() and 1 <= int(text) <= 5:
        return int(text)
    if text in QUALITATIVE_LEVELS:
        return QUALITATIVE_LEVELS[text]
    raise ValueError(f"'{value}' is not a level: use 1–5 or Low / Medium / High / Critical")


def band_of(score: int) -> Band:
    limits = settings.RISK_BAND_THRESHOLDS
    if score >= limits["critical"]:
        return Band.CRITICAL
    if score >= limits["high"]:
        return Band.HIGH
    if score >= limits["medium"]:
        return Band.MEDIUM
    return Band.LOW


def band_score_range(band: str) -> tuple[int, int]:
    """The scores (inclusive) that fall in `band`, for filtering in SQL."""
    limits = settings.RISK_BAND_THRESHOLDS
    return {
        Band.LOW: (1, limits["medium"] - 1),
        Band.MEDIUM: (limits["medium"], limits["high"] - 1),
        Band.HIGH: (limits["high"], limits["critical"] - 1),
        Band.CRITICAL: (limits["critical"], 25),
    }[Band(band)]


def band_rank(band: str) -> int:
    """Where a band stands, lowest first (its value or its label): compare bands by this."""
    return list(Band).index(Band(str(band).lower()))
