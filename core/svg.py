"""Pictures drawn on the server as inline SVG: what a PDF holds as vector drawings (WeasyPrint
draws inline <svg> itself, with nothing to fetch and no browser) and a page shows as it is.
Every picture is an image with its meaning in words (`role="img"`, `aria-label`, <title>);
every text in it is escaped here."""

import math

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

FONT = "DejaVu Sans, system-ui, sans-serif"
INK = "#1d2430"
MUTED = "#5b6475"
LINE = "#d9dee7"


def coordinate(value: float) -> str:
    """A coordinate as SVG reads it: at most one decimal, no trailing zero."""
    text = f"{value:.1f}".removesuffix(".0")
    return "0" if text == "-0" else text


def text(x: float, y: float, words: str, *, size: float = 10, anchor: str = "start", **extra):
    """A line of text at (x, y), its baseline at y; `extra` attributes as given (fill=…)."""
    attributes = "".join(
        f' {name.replace("_", "-")}="{escape(value)}"' for name, value in extra.items()
    )
    return (
        f'<text x="{coordinate(x)}" y="{coordinate(y)}" font-size="{size}" '
        f'text-anchor="{anchor}"{attributes}>{escape(words)}</text>'
    )


def picture(*, width: int, height: int, label: str, parts: list[str], css_class: str) -> SafeString:
    """An <svg> image `width` × `height` of `parts` (SVG elements, already escaped), read out
    as `label`."""
    words = escape(label)
    return mark_safe(  # noqa: S308  # nosec B308 B703: every text part is escaped above
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" role="img" '
        f'aria-label="{words}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" font-family="{FONT}" fill="{INK}">'
        f"<title>{words}</title>{''.join(parts)}</svg>"
    )


def nice_ticks(low: float, high: float, *, count: int = 4) -> list[float]:
    """Round values from at most `low` to at least `high`, about `count` of them evenly apart
    (steps of 1, 2, 2.5 or 5 times a power of ten): what a value axis is labelled with."""
    if high < low:
        low, high = high, low
    if high == low:
        spread = abs(high) * 0.1 or 1.0
        low, high = low - spread, high + spread
    rough = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(rough))
    step = next(f * power for f in (1, 2, 2.5, 5, 10) if f * power >= rough)
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    steps = round((last - first) / step)
    return [round(first + index * step, 10) for index in range(steps + 1)]
