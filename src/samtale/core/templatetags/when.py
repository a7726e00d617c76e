"""`{{ value|when }}` and `{{ value|when_full }}`: a moment as the viewing user reads it, in their
time zone (activated per request from their profile) and their language.

Short form (lists, thread headers): today "09:03"; yesterday "yesterday 16:01" / "i går 16:01";
this year "26 Nov 16:01" / "26. nov. 16:01"; earlier years "26 Nov 2025" / "26. nov. 2025".
The full form (tooltips) always has the year and the time."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone, translation
from django.utils.dates import MONTHS, MONTHS_3, MONTHS_AP
from django.utils.translation import gettext as _

register = template.Library()


def _norwegian() -> bool:
    return (translation.get_language() or "en").split("-")[0] in {"nb", "no", "nn"}


def _day_month(moment: datetime, *, full: bool = False) -> str:
    if _norwegian():  # "26. nov." / "26. november", months lower case
        month = str(MONTHS[moment.month] if full else MONTHS_AP[moment.month])
        return f"{moment.day}. {month.lower()}"
    month = str(MONTHS[moment.month] if full else MONTHS_3[moment.month])
    return f"{moment.day} {month.title()}"


def format_when(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    today = timezone.localtime(now or timezone.now()).date()
    clock = local.strftime("%H:%M")
    if local.date() == today:
        return clock
    if local.date() == today - timedelta(days=1):
        return _("yesterday %(time)s") % {"time": clock}
    if local.year == today.year:
        return f"{_day_month(local)} {clock}"
    return f"{_day_month(local)} {local.year}"


def format_when_full(value: datetime | None) -> str:
    if value is None:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return _("%(date)s %(year)s, %(time)s") % {
        "date": _day_month(local, full=True),
        "year": local.year,
        "time": local.strftime("%H:%M"),
    }


def format_day(value: datetime | None) -> str:
    if value is None:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{_day_month(local)} {local.year}"


@register.filter
def when_day(value: datetime | None) -> str:
    return format_day(value)


@register.filter
def when(value: datetime | None) -> str:
    return format_when(value)


@register.filter
def when_full(value: datetime | None) -> str:
    return format_when_full(value)
