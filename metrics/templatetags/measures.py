import json

from django import template

from core.words import number_words

register = template.Library()


@register.filter
def measure(value) -> str:
    """A measured number as people write it: up to four decimals, no trailing zeros."""
    if value is None or value == "":
        return "—"
    return number_words(value)


@register.filter
def as_json(value) -> str:
    """A source's configuration as the JSON it was entered in."""
    return json.dumps(value, indent=2, ensure_ascii=False)
