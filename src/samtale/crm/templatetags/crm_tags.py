"""Template helpers of the CRM screens: a value of a mapping, a property's value as shown."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils.translation import gettext as _

from samtale.core.templatetags.when import when

register = template.Library()


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    return mapping.get(key, "") if isinstance(mapping, dict) else ""


@register.filter
def shown(value: Any, prop: Any) -> str:
    """A property's value for reading: a choice's label, yes/no, a teammate's or company's name."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, dict):  # in the property history: {"id", "name"}
        return str(value.get("name") or f"#{value.get('id')}")
    choices = dict(getattr(prop, "choices", ()) or ())
    if choices and str(value) in choices:
        return str(choices[str(value)])
    name = getattr(value, "name", None)
    return str(name) if name is not None else str(value)


@register.filter
def parse_moment(value: Any) -> datetime | None:
    """An ISO moment kept in a timeline line's data, as a datetime (None when it is not one)."""
    try:
        return datetime.fromisoformat(str(value)[:40])
    except ValueError:
        return None
