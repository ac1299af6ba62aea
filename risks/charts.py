"""Plotly figures of the risk register: the 5×5 heatmap and a risk's score over time."""

import plotly.graph_objects as go

from core.charts import figure_spec
from risks.scoring import band_of
from risks.selectors import IMPACT_WORDS, LIKELIHOOD_WORDS, Heatmap

BAND_COLOURS = {"low": "#cfe8d5", "medium": "#fbe7b5", "high": "#f6c2a0", "critical": "#ef9a9a"}


def heatmap_figure(heatmap: Heatmap) -> dict:
    """Cells coloured by the band of their score, each showing how many risks sit in it.
    Likelihood rises upwards, impact to the right."""
    impacts, likelihoods = IMPACT_WORDS, LIKELIHOOD_WORDS
    bands = ["low", "medium", "high", "critical"]
    z, text, custom = [], [], []
    for likelihood in range(1, 6):
        z.append([bands.index(band_of(likelihood * impact)) for impact in range(1, 6)])
        row = heatmap.counts[likelihood - 1]
        text.append([str(count) if count else "" for count in row])
        custom.append([[likelihood, impact, row[impact - 1]] for impact in range(1, 6)])
    colourscale = []
    for index, band in enumerate(bands):
        colourscale += [[index / 4, BAND_COLOURS[band]], [(index + 1) / 4, BAND_COLOURS[band]]]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=impacts,
            y=likelihoods,
            text=text,
            customdata=custom,
            texttemplate="%{text}",
            textfont={"size": 18},
            colorscale=colourscale,
            zmin=0,
            zmax=4,
            showscale=False,
            xgap=3,
            ygap=3,
            hovertemplate="Likelihood %{customdata[0]} × impact %{customdata[1]}: "
            "%{customdata[2]} risk(s)<extra></extra>",
        )
    )
    figure.update_layout(
        template="none",  # the house template is added by figure_spec
        height=340,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"title": {"text": "Impact"}, "side": "bottom", "fixedrange": True},
        yaxis={"title": {"text": "Likelihood"}, "automargin": True, "fixedrange": True},
        font={"family": "system-ui, sans-serif", "size": 12},
    )
    return figure_spec(figure)


def score_trend_figure(assessments) -> dict:
    """The risk's score at each assessment, as steps."""
    assessments = list(assessments)
    figure = go.Figure(
        go.Scatter(
            x=[assessment.assessed_at.isoformat() for assessment in assessments],
            y=[assessment.score for assessment in assessments],
            mode="lines+markers",
            line={"shape": "hv", "color": "#b3261e"},
            hovertemplate="%{x|%d %b %Y %H:%M}: score %{y}<extra></extra>",
        )
    )
    figure.update_layout(
        template="none",  # the house template is added by figure_spec
        height=220,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        yaxis={"range": [0, 26], "title": {"text": "Score"}, "automargin": True},
        font={"family": "system-ui, sans-serif", "size": 12},
    )
    return figure_spec(figure)
