"""``{{ user|person }}``: a staff member's name as the center writes it (孙海涛, family name first
with no space; others "First Last"; the username when there is no name) — ``display_name``."""

from django import template

from ..navigation import display_name

register = template.Library()


@register.filter
def person(user) -> str:
    return display_name(user) if user is not None else ""
