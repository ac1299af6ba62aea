"""A KPI's measurements as a Plotly figure: target line, warning band, breaches marked."""

from datetime import datetime

import plotly.graph_objects as go

from core.charts import figure_spec
from metrics import status
from metrics.models import KPI, Comparator

STATUS_COLOURS = {"breached": "#b3261e", "warning": "#c77700", "on_target": "#1e7b3c"}


def _worst_value(kpi: KPI, point) -> float:
    """The value of a bucket that misses the target, if one does: its low or its high."""
    if kpi.comparator is None or point.count == 1:
        return point.avg
    for value in (point.high, point.low):
        if not status.meets(kpi, value):
            return value
    return point.avg


def time_window(kpi: KPI, points, *, since: datetime | None, until: datetime) -> tuple:
    """The stretch of time a chart shows: the window asked for, from `since` to `until`; for
    all values, from the first to the last with a margin of a cadence, so that a single value
    sits in a day or so rather than a span of milliseconds."""
    if since is not None:
        return since, until
    first, last = points[0].at, points[-1].at
    margin = max(kpi.cadence, (last - first) / 20)
    return first - margin, last + margin


def kpi_figure(kpi: KPI, series, *, since: datetime | None = None, until: datetime) -> dict | None:
    """The KPI over time from `selectors.kpi_series`: the average of each time bucket, with the
    band from its lowest to its highest value when the series was reduced; over the window
    asked for, however few values it holds. None without a value: the page says so in words."""
    points = series.points
    if not points:
        return None
    times = [point.at.isoformat() for point in points]
    values = [point.avg for point in points]
    unit = f" {kpi.unit}" if kpi.unit else ""
    figure = go.Figure()
    if series.reduced:
        figure.add_scatter(
            x=times,
            y=[p.low for p in points],
            mode="lines",
            line={"width": 0},
            hoverinfo="skip",
            showlegend=False,
        )
        figure.add_scatter(
            x=times,
            y=[p.high for p in points],
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(31, 95, 191, 0.18)",
            name="lowest–highest",
            hoverinfo="skip",
        )
    figure.add_scatter(
        x=times,
        y=values,
        mode="lines" if series.reduced else "lines+markers",
        name=kpi.name,
        line={"color": "#1f5fbf"},
        marker={"size": 4},
        hovertemplate="%{x|%d %b %H:%M}: %{y}" + unit + "<extra></extra>",
    )
    values = [_worst_value(kpi, point) for point in points]
    if kpi.comparator is not None:
        misses = [(t, v) for (t, v) in zip(times, values, strict=True) if not status.meets(kpi, v)]
        if misses:
            figure.add_scatter(
                x=[t for t, _ in misses],
                y=[v for _, v in misses],
                mode="markers",
                name="Breach",
                marker={"color": "#b3261e", "size": 9, "symbol": "x"},
                hovertemplate="Breach %{x|%d %b %H:%M}: %{y}<extra></extra>",
            )
        for line in (kpi.target_value, kpi.target_value_high):
            if line is not None:
                figure.add_hline(
                    y=line, line_color="#b3261e", line_dash="dash", annotation_text="target"
                )
        if kpi.warning_value is not None and kpi.comparator != Comparator.BETWEEN:
            figure.add_hrect(
                y0=min(kpi.warning_value, kpi.target_value),
                y1=max(kpi.warning_value, kpi.target_value),
                fillcolor="#f3b340",
                opacity=0.18,
                line_width=0,
                annotation_text="warning",
            )
    figure.update_layout(
        template="none",  # the house template is added by figure_spec
        height=320,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        showlegend=False,
        xaxis={
            "range": [
                moment.isoformat() for moment in time_window(kpi, points, since=since, until=until)
            ]
        },
        yaxis={"title": {"text": kpi.unit}, "automargin": True},
        font={"family": "system-ui, sans-serif", "size": 12},
    )
    return figure_spec(figure)


def sparkline_figure(kpi: KPI, points) -> dict | None:
    """A tiny chart of the KPI's recent values for a status tile: no axes, its target dotted;
    None with fewer than two values (a lone dot tells nothing the tile's value does not).
    Written as plotly.js's own figure dictionary: a status page draws dozens of them, and
    building each through plotly's validating objects took ~10 ms."""
    if len(points) < 2:
        return None
    trace = {
        "type": "scatter",
        "x": [point.at.isoformat() for point in points],
        "y": [point.avg for point in points],
        "mode": "lines" if len(points) > 2 else "lines+markers",
        "line": {"color": STATUS_COLOURS.get(kpi.status, "#1f5fbf"), "width": 2},
        "marker": {"size": 5},
        "hovertemplate": "%{x|%d %b %H:%M}: %{y:.4g}"
        + (f" {kpi.unit}" if kpi.unit else "")
        + "<extra></extra>",
    }
    shapes = []
    if kpi.comparator is not None:
        shapes.append(
            {
                "type": "line",
                "xref": "x domain",
                "x0": 0,
                "x1": 1,
                "yref": "y",
                "y0": kpi.target_value,
                "y1": kpi.target_value,
                "line": {"color": "#5b6475", "dash": "dot", "width": 1},
            }
        )
    layout = {
        "height": 60,
        "margin": {"l": 0, "r": 0, "t": 2, "b": 2},
        "showlegend": False,
        "xaxis": {"visible": False, "fixedrange": True},
        "yaxis": {"visible": False, "fixedrange": True},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "shapes": shapes,
    }
    return {"data": [trace], "layout": layout}
