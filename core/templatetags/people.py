from django import template

from core.people import NOBODY, display_name

register = template.Library()


@register.filter(name="display_name")
def display_name_filter(user, default: str = NOBODY) -> str:
    """`{{ risk.owner|display_name:risk.owner_title }}`: the person's name, else `default`."""
    return display_name(user or None, default or NOBODY)
