"""Figures for Plotly, built on the server and drawn by plotly.js served from static/."""

from datetime import date, timedelta

import plotly.graph_objects as go

from core.charts import figure_spec
from projects.variance import phase_variance

BASELINE_COLOUR = "#9aa5b8"
FORECAST_COLOURS = {"green": "#1e7b3c", "amber": "#c77700", "red": "#b3261e", "unknown": "#1f5fbf"}


def _bars(phases, start_of, end_of) -> dict:
    bars = {"y": [], "base": [], "x": [], "text": [], "phases": []}
    for phase in phases:
        start, end = start_of(phase), end_of(phase)
        if start and end:
            bars["y"].append(f"{phase.order}. {phase.name}")
            bars["base"].append(start.isoformat())
            # Bars on a date axis are measured in milliseconds; the end day counts in full.
            bars["x"].append(((end - start) + timedelta(days=1)).total_seconds() * 1000)
            bars["text"].append(f"{start:%d %b %Y} – {end:%d %b %Y}")
            bars["phases"].append(phase)
    return bars


def phase_timeline(phases, *, today: date | None = None) -> dict:
    """Baseline and forecast (or actual) bars per phase, as a Plotly figure dictionary."""
    phases = list(phases)
    baseline = _bars(phases, lambda p: p.baseline_start, lambda p: p.baseline_end)
    forecast = _bars(
        phases,
        lambda p: p.forecast_start or p.baseline_start,
        lambda p: p.actual_end or p.forecast_end,
    )
    figure = go.Figure()
    for name, bars, colour in (
        ("Baseline", baseline, BASELINE_COLOUR),
        (
            "Forecast / actual",
            forecast,
            [FORECAST_COLOURS[phase_variance(phase).rag] for phase in forecast["phases"]],
        ),
    ):
        figure.add_bar(
            name=name,
            y=bars["y"],
            base=bars["base"],
            x=bars["x"],
            text=bars["text"],
            textposition="none",
            orientation="h",
            marker_color=colour,
            hovertemplate=f"%{{y}}<br>{name}: %{{text}}<extra></extra>",
        )
    figure.update_layout(
        barmode="group",
        height=max(180, 64 * len(phases) + 80),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"type": "date"},
        yaxis={"autorange": "reversed", "automargin": True},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        template="none",  # the house template is added by figure_spec
        font={"family": "system-ui, sans-serif", "size": 12},
    )
    today = today or date.today()
    figure.add_vline(x=today.isoformat(), line_dash="dot", line_color="#5b6475")
    return figure_spec(figure)
