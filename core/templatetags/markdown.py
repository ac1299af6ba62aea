"""Filters for Markdown written by templates."""

import re

from django import template

register = template.Library()


@register.filter
def cell(value) -> str:
    """Text made safe for one cell of a Markdown table: no pipes or line breaks to split it."""
    return " ".join(str(value).split()).replace("|", "\\|")


@register.filter
def cells(value) -> str:
    """Several lines in one table cell, joined by <br> as Markdown tables allow."""
    return "<br>".join(cell(line) for line in str(value).splitlines() if line.strip())


@register.filter
def line(value) -> str:
    """Text on one Markdown line."""
    return " ".join(str(value).split())


@register.filter
def indent(value, spaces: int) -> str:
    """Text moved right by `spaces`, blank lines left empty: a list item's body."""
    pad = " " * int(spaces)
    return "\n".join(pad + text if text.strip() else "" for text in str(value).splitlines())


@register.filter
def all_done(items) -> bool:
    return all(item.done for item in items)


@register.filter
def target_without_unit(kpi) -> str:
    """'< 500' or '10–20': the target's comparator and value; the unit has a column of its own."""
    if kpi.comparator == "between":
        return f">= {kpi.target_value:g}, <= {kpi.target_value_high:g}"
    symbol = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "eq": "="}[kpi.comparator]
    return f"{symbol} {kpi.target_value:g}"


@register.filter
def criteria_cell(criteria) -> str:
    """A gate's criteria in one cell, a line each. A lone criterion holding a comma or a '+'
    ends in <br>, so that the importer reads it as one line rather than a list."""
    texts = [cell(criterion.text) for criterion in criteria]
    joined = "<br>".join(texts)
    if len(texts) == 1 and re.search(r",\s|\s\+\s", texts[0]):
        joined += "<br>"
    return joined
