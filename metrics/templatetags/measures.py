import json

from django import template

register = template.Library()


@register.filter
def measure(value) -> str:
    """A measured number as people write it: up to four decimals, no trailing zeros."""
    if value is None or value == "":
        return "—"
    text = f"{float(value):,.4f}".rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


@register.filter
def as_json(value) -> str:
    """A source's configuration as the JSON it was entered in."""
    return json.dumps(value, indent=2, ensure_ascii=False)
