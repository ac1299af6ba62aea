"""Filters for Markdown written by templates."""

from django import template

register = template.Library()


@register.filter
def cell(value) -> str:
    """Text made safe for one cell of a Markdown table: no pipes or line breaks to split it."""
    return " ".join(str(value).split()).replace("|", "\\|")
