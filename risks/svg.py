"""The risk heatmap as an SVG picture for reports: the 5 × 5 grid of likelihood by impact, each
cell coloured by its score's band and showing how many unresolved risks sit in it."""

from django.utils.safestring import SafeString

from core import svg
from risks.charts import BAND_COLOURS
from risks.scoring import band_of
from risks.selectors import IMPACT_WORDS, LIKELIHOOD_WORDS, Heatmap

CELL_WIDTH, CELL_HEIGHT = 52, 30
LEFT, TOP = 112, 22
GRID_WIDTH, GRID_HEIGHT = 5 * CELL_WIDTH, 5 * CELL_HEIGHT
WIDTH, HEIGHT = LEFT + GRID_WIDTH + 8, TOP + GRID_HEIGHT + 42


def cell_origin(likelihood: int, impact: int) -> tuple[int, int]:
    """The top left corner of a cell: likelihood rises upwards, impact to the right."""
    return LEFT + (impact - 1) * CELL_WIDTH, TOP + (5 - likelihood) * CELL_HEIGHT


def heatmap_words(heatmap: Heatmap) -> str:
    """What the picture shows, in words: how many risks, and where each cell that holds some
    sits ("2 possible, of moderate impact")."""
    total = heatmap.total
    if not total:
        return "Risk heatmap: no unresolved risks"
    cells = []
    for likelihood in range(5, 0, -1):
        for impact in range(5, 0, -1):
            count = heatmap.counts[likelihood - 1][impact - 1]
            if count:
                where = f"{LIKELIHOOD_WORDS[likelihood - 1].lower()}, of "
                where += f"{IMPACT_WORDS[impact - 1].lower()} impact"
                cells.append(f"{count} {where}")
    risks = "risk" if total == 1 else "risks"
    return f"Risk heatmap of likelihood by impact, {total} unresolved {risks}: " + "; ".join(cells)


def heatmap_svg(heatmap: Heatmap) -> SafeString | None:
    """The heatmap as an <svg> image described in words; None without unresolved risks."""
    if not heatmap.total:
        return None
    parts = []
    for likelihood in range(1, 6):
        for impact in range(1, 6):
            x, y = cell_origin(likelihood, impact)
            colour = BAND_COLOURS[band_of(likelihood * impact)]
            parts.append(
                f'<rect class="cell" data-cell="{likelihood}-{impact}" x="{x}" y="{y}" '
                f'width="{CELL_WIDTH}" height="{CELL_HEIGHT}" fill="{colour}" stroke="#ffffff" '
                'stroke-width="2"/>'
            )
            count = heatmap.counts[likelihood - 1][impact - 1]
            if count:
                parts.append(
                    svg.text(
                        x + CELL_WIDTH / 2,
                        y + CELL_HEIGHT / 2 + 5,
                        str(count),
                        size=14,
                        anchor="middle",
                        font_weight="bold",
                    )
                )
        words = LIKELIHOOD_WORDS[likelihood - 1]
        row_y = TOP + (5 - likelihood) * CELL_HEIGHT + CELL_HEIGHT / 2 + 3.5
        parts.append(svg.text(LEFT - 6, row_y, words, anchor="end", fill=svg.MUTED))
    for impact, words in enumerate(IMPACT_WORDS, start=1):
        column_x = LEFT + (impact - 0.5) * CELL_WIDTH
        parts.append(
            svg.text(
                column_x, TOP + GRID_HEIGHT + 14, words, size=9, anchor="middle", fill=svg.MUTED
            )
        )
    middle = LEFT + GRID_WIDTH / 2
    parts.append(svg.text(middle, HEIGHT - 6, "Impact →", anchor="middle", font_weight="bold"))
    parts.append(svg.text(4, 14, "Likelihood ↑", font_weight="bold"))
    return svg.picture(
        width=WIDTH,
        height=HEIGHT,
        label=heatmap_words(heatmap),
        parts=parts,
        css_class="heatmap",
    )
