"""A KPI's trend as an SVG picture for reports: its values over a window as a line, its target
dashed, the axes labelled in words (days, values with their unit)."""

from datetime import datetime

from django.utils import timezone
from django.utils.safestring import SafeString

from core import svg
from core.words import day_words, number_words
from metrics.charts import STATUS_COLOURS
from metrics.models import KPI

WIDTH, HEIGHT = 420, 150
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 26
LINE_COLOUR = "#1f5fbf"
TARGET_COLOUR = "#b3261e"


def amount_words(kpi: KPI, value: float) -> str:
    """A value of the KPI with its unit: "410 ms"."""
    return f"{number_words(value)} {kpi.unit}".strip()


def trend_words(kpi: KPI, points, span_words: str) -> str:
    """What the picture shows, in words: "API p95 latency, 7 days: from 480 ms to 410 ms,
    target below 500 ms"."""
    if len(points) == 1:
        said = f"{kpi.name}, {span_words}: one value, {amount_words(kpi, points[0].avg)}"
    else:
        first, last = amount_words(kpi, points[0].avg), amount_words(kpi, points[-1].avg)
        said = f"{kpi.name}, {span_words}: from {first} to {last}"
    if kpi.comparator is not None:
        said += f", target {kpi.target_display}"
    return said


def target_lines(kpi: KPI) -> list[float]:
    """The values the KPI's target draws a line at: one, or two for 'between'."""
    if kpi.comparator is None:
        return []
    return [value for value in (kpi.target_value, kpi.target_value_high) if value is not None]


class Scale:
    """Where a moment and a value fall in the picture's plot area."""

    def __init__(self, *, start: datetime, end: datetime, low: float, high: float):
        self.start, self.end, self.low, self.high = start, end, low, high

    def x(self, moment: datetime) -> float:
        seconds = (self.end - self.start).total_seconds() or 1.0
        share = (moment - self.start).total_seconds() / seconds
        return LEFT + min(max(share, 0.0), 1.0) * (WIDTH - LEFT - RIGHT)

    def y(self, value: float) -> float:
        share = (value - self.low) / ((self.high - self.low) or 1.0)
        return HEIGHT - BOTTOM - share * (HEIGHT - TOP - BOTTOM)


def kpi_trend_svg(
    kpi: KPI, points, *, since: datetime, until: datetime, span_words: str
) -> SafeString | None:
    """The KPI's `points` (selectors.SeriesPoint, oldest first, already reduced to a few dozen)
    from `since` to `until` as a line, its target as a dashed line: an <svg> image described
    in words. None without a point: a picture of nothing tells nothing."""
    if not points:
        return None
    values = [point.avg for point in points]
    targets = target_lines(kpi)
    ticks = svg.nice_ticks(min(values + targets), max(values + targets))
    # A reduced series' first bucket may start before the window: the axis starts with it.
    scale = Scale(start=min(since, points[0].at), end=until, low=ticks[0], high=ticks[-1])
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM
    parts = []
    for tick in ticks:
        y = svg.coordinate(scale.y(tick))
        parts.append(
            f'<line x1="{LEFT}" x2="{right}" y1="{y}" y2="{y}" stroke="{svg.LINE}" '
            'stroke-width="0.6"/>'
        )
        parts.append(
            svg.text(
                LEFT - 6, scale.y(tick) + 3.5, amount_words(kpi, tick), anchor="end", fill=svg.MUTED
            )
        )
    for value in targets:
        y = svg.coordinate(scale.y(value))
        parts.append(
            f'<line class="target" x1="{LEFT}" x2="{right}" y1="{y}" y2="{y}" '
            f'stroke="{TARGET_COLOUR}" stroke-width="1.2" stroke-dasharray="5 4"/>'
        )
    if targets:
        label_y = scale.y(max(targets)) - 4
        parts.append(svg.text(right, label_y, "target", size=9, anchor="end", fill=TARGET_COLOUR))
    colour = STATUS_COLOURS.get(kpi.status, LINE_COLOUR)
    coordinates = [(scale.x(point.at), scale.y(point.avg)) for point in points]
    if len(coordinates) == 1:
        x, y = coordinates[0]
        parts.append(
            f'<circle class="value" cx="{svg.coordinate(x)}" cy="{svg.coordinate(y)}" r="3" '
            f'fill="{colour}"/>'
        )
    else:
        path = " ".join(
            f"{'M' if index == 0 else 'L'}{svg.coordinate(x)} {svg.coordinate(y)}"
            for index, (x, y) in enumerate(coordinates)
        )
        parts.append(
            f'<path class="value" d="{path}" fill="none" stroke="{colour}" stroke-width="2" '
            'stroke-linejoin="round" stroke-linecap="round"/>'
        )
    parts.append(
        f'<line x1="{LEFT}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="{svg.MUTED}" '
        'stroke-width="0.8"/>'
    )
    first_day = day_words(timezone.localdate(scale.start))
    last_day = day_words(timezone.localdate(until))
    parts.append(svg.text(LEFT, HEIGHT - 8, first_day, fill=svg.MUTED))
    parts.append(svg.text(right, HEIGHT - 8, last_day, anchor="end", fill=svg.MUTED))
    return svg.picture(
        width=WIDTH,
        height=HEIGHT,
        label=trend_words(kpi, points, span_words),
        parts=parts,
        css_class="trend",
    )
