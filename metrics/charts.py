"""A KPI's measurements as a Plotly figure: target line, warning band, breaches marked."""

import json

import plotly.graph_objects as go

from metrics import status
from metrics.models import KPI, Comparator


def kpi_figure(kpi: KPI, series) -> dict:
    times = [at.isoformat() for at, _, _ in series]
    values = [value for _, value, _ in series]
    figure = go.Figure()
    figure.add_scatter(
        x=times,
        y=values,
        mode="lines+markers",
        name=kpi.name,
        line={"color": "#1f5fbf"},
        marker={"size": 4},
        hovertemplate="%{x|%d %b %H:%M}: %{y}"
        + (f" {kpi.unit}" if kpi.unit else "")
        + "<extra></extra>",
    )
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
        template="plotly_white",
        height=320,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        showlegend=False,
        yaxis={"title": {"text": kpi.unit}, "automargin": True},
        font={"family": "system-ui, sans-serif", "size": 12},
    )
    return json.loads(figure.to_json())
