"""The risk heatmap as an SVG picture: each cell where its likelihood and impact put it,
coloured by its band, with its count; described in words."""

import xml.etree.ElementTree as ET

import pytest

from risks import svg as heatmap_pictures
from risks.charts import BAND_COLOURS
from risks.scoring import band_of
from risks.selectors import Heatmap

SVG = "{http://www.w3.org/2000/svg}"


def heatmap(cells: dict[tuple[int, int], int]) -> Heatmap:
    grid = Heatmap.empty()
    for (likelihood, impact), count in cells.items():
        grid.counts[likelihood - 1][impact - 1] = count
    return grid


def draw(grid: Heatmap) -> ET.Element:
    picture = heatmap_pictures.heatmap_svg(grid)
    return ET.fromstring(str(picture))  # noqa: S314 (the picture drawn here, not untrusted XML)


def test_each_cell_sits_by_likelihood_upwards_and_impact_rightwards_coloured_by_band():
    root = draw(heatmap({(5, 5): 2, (1, 2): 1}))
    cells = {rect.get("data-cell"): rect for rect in root.iter(f"{SVG}rect")}
    assert len(cells) == 25
    left, top = heatmap_pictures.LEFT, heatmap_pictures.TOP
    assert (cells["5-1"].get("x"), cells["5-1"].get("y")) == (str(left), str(top))
    assert (cells["1-5"].get("x"), cells["1-5"].get("y")) == (str(left + 4 * 52), str(top + 120))
    for key, rect in cells.items():
        likelihood, impact = map(int, key.split("-"))
        assert rect.get("fill") == BAND_COLOURS[band_of(likelihood * impact)], key
    counts = {
        (text.get("x"), text.get("y")): text.text
        for text in root.iter(f"{SVG}text")
        if text.text.isdigit()
    }
    # Counts in the middle of their cells: 5 × 5 top right, 1 × 2 bottom, second from left.
    assert counts == {
        (str(left + 4 * 52 + 26), str(top + 15 + 5)): "2",
        (str(left + 52 + 26), str(top + 120 + 15 + 5)): "1",
    }


def test_the_axes_and_the_description_are_in_words():
    root = draw(heatmap({(5, 5): 2, (3, 4): 1}))
    words = [text.text for text in root.iter(f"{SVG}text")]
    for label in ("Rare", "Almost certain", "Negligible", "Severe", "Impact →", "Likelihood ↑"):
        assert label in words, label
    said = (
        "Risk heatmap of likelihood by impact, 3 unresolved risks: "
        "2 almost certain, of severe impact; 1 possible, of major impact"
    )
    assert root.get("role") == "img" and root.get("aria-label") == said
    assert root.find(f"{SVG}title").text == said


@pytest.mark.parametrize("grid", [Heatmap.empty(), heatmap({})])
def test_no_unresolved_risk_draws_no_picture(grid):
    assert heatmap_pictures.heatmap_svg(grid) is None


def test_heatmaps_combine_cell_by_cell():
    combined = Heatmap.combined([heatmap({(5, 5): 2, (1, 1): 1}), heatmap({(5, 5): 1})])
    assert combined.counts[4][4] == 3 and combined.counts[0][0] == 1 and combined.total == 4
