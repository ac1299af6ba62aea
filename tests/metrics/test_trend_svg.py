"""A KPI's week as an SVG picture: each value where its moment and size put it, the target as a
dashed line, the axes and the picture's description in words."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from core.words import day_words
from metrics import svg as trend
from metrics.models import KPI
from metrics.selectors import SeriesPoint

SINCE = datetime(2026, 11, 26, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=7)
SVG = "{http://www.w3.org/2000/svg}"


def kpi(**fields) -> KPI:
    defaults = {
        "name": "API p95 latency",
        "unit": "ms",
        "comparator": "lt",
        "target_value": 500,
        "status": "on_target",
    }
    return KPI(**{**defaults, **fields})


def point(at: datetime, value: float) -> SeriesPoint:
    return SeriesPoint(at=at, avg=value, low=value, high=value)


def parse(picture) -> ET.Element:
    return ET.fromstring(str(picture))  # noqa: S314 (the picture drawn here, not untrusted XML)


def draw(measured: KPI, points) -> ET.Element:
    picture = trend.kpi_trend_svg(measured, points, since=SINCE, until=UNTIL, span_words="7 days")
    return parse(picture)


def texts(root: ET.Element) -> list[str]:
    return [element.text for element in root.iter(f"{SVG}text")]


def test_values_map_to_their_moment_across_and_their_size_up():
    points = [point(SINCE, 400), point(SINCE + timedelta(days=3.5), 450), point(UNTIL, 500)]
    root = draw(kpi(), points)
    # The axis runs 400 to 500 ms (its round values); the plot area is x 64 to 408, y 124 to 12.
    (line,) = root.iter(f"{SVG}path")
    assert line.get("d") == "M64 124 L236 68 L408 12"
    assert line.get("stroke") == "#1e7b3c"  # on target: green
    assert [text for text in texts(root) if text.endswith(" ms")] == ["400 ms", "450 ms", "500 ms"]


def test_the_target_is_a_dashed_line_at_its_value():
    root = draw(kpi(target_value=420), [point(SINCE, 400), point(UNTIL, 500)])
    (target,) = [line for line in root.iter(f"{SVG}line") if line.get("class") == "target"]
    assert target.get("stroke-dasharray") == "5 4"
    # Axis 400 to 500 ms: 420 sits a fifth of the way up the 112 high plot area.
    assert target.get("y1") == target.get("y2") == "101.6"
    assert (target.get("x1"), target.get("x2")) == ("64", "408")
    assert "target" in texts(root)


def test_a_target_between_two_values_draws_both_and_none_draws_none():
    between = kpi(comparator="between", target_value=420, target_value_high=480)
    root = draw(between, [point(SINCE, 400), point(UNTIL, 500)])
    assert len([line for line in root.iter(f"{SVG}line") if line.get("class") == "target"]) == 2
    untargeted = kpi(comparator=None, target_value=None)
    root = draw(untargeted, [point(SINCE, 400), point(UNTIL, 500)])
    assert not [line for line in root.iter(f"{SVG}line") if line.get("class") == "target"]
    assert "target" not in texts(root)


def test_the_axes_and_the_description_are_in_words():
    root = draw(kpi(), [point(SINCE, 480), point(UNTIL, 410)])
    said = "API p95 latency, 7 days: from 480 ms to 410 ms, target below 500 ms"
    assert root.get("role") == "img"
    assert root.get("aria-label") == said
    assert root.find(f"{SVG}title").text == said
    words = texts(root)
    assert day_words(timezone.localdate(SINCE)) in words
    assert day_words(timezone.localdate(UNTIL)) in words


def test_one_value_is_a_dot_and_no_value_is_no_picture():
    root = draw(kpi(), [point(SINCE + timedelta(days=7), 430)])
    assert not list(root.iter(f"{SVG}path"))
    (dot,) = root.iter(f"{SVG}circle")
    assert dot.get("cx") == "408"
    assert root.get("aria-label").startswith("API p95 latency, 7 days: one value, 430 ms")
    assert trend.kpi_trend_svg(kpi(), [], since=SINCE, until=UNTIL, span_words="7 days") is None


def test_a_bucket_starting_before_the_window_starts_the_axis():
    early = SINCE - timedelta(hours=2)
    root = draw(kpi(), [point(early, 400), point(UNTIL, 500)])
    (line,) = root.iter(f"{SVG}path")
    assert line.get("d").startswith("M64 ")
    assert day_words(timezone.localdate(early)) in texts(root)


def test_names_and_units_are_escaped():
    odd = kpi(name='Reads <& "writes"', unit="req/s <x>")
    picture = str(
        trend.kpi_trend_svg(
            odd, [point(SINCE, 1), point(UNTIL, 2)], since=SINCE, until=UNTIL, span_words="7 days"
        )
    )
    assert "<x>" not in picture and "req/s &lt;x&gt;" in picture
    assert parse(picture).get("aria-label").startswith('Reads <& "writes", 7 days')
