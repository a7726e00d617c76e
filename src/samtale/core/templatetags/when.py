"""`{{ value|when }}` and `{{ value|when_full }}`: a moment as the viewing user reads it, in their
time zone (activated per request from their profile) and their language.

Short form (lists, thread headers): today "09:03"; yesterday "yesterday 16:01" / "i går 16:01";
this year "26 Nov 16:01" / "26. nov. 16:01"; earlier years "26 Nov 2025" / "26. nov. 2025".
The full form (tooltips) always has the year and the time."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

from django import template
from django.utils import timezone, translation
from django.utils.dates import MONTHS, MONTHS_3, MONTHS_AP
from django.utils.translation import gettext as _

register = template.Library()


def _norwegian() -> bool:
    return (translation.get_language() or "en").split("-")[0] in {"nb", "no", "nn"}


class Moments:
    """Formats moments for the viewer of one request: the zone, today's date and the language's
    words are looked up once (a thread page formats sixty moments)."""

    def __init__(self, zone: tzinfo, today: date) -> None:
        self.zone, self.today = zone, today
        self.yesterday = self.today - timedelta(days=1)
        norwegian = _norwegian()
        # "26. nov." / "26. november", months lower case; "26 Nov" / "26 November"
        if norwegian:
            self.short = [""] + [f"{{}}. {str(MONTHS_AP[m]).lower()}" for m in range(1, 13)]
            self.long = [""] + [f"{{}}. {str(MONTHS[m]).lower()}" for m in range(1, 13)]
        else:
            self.short = [""] + [f"{{}} {str(MONTHS_3[m]).title()}" for m in range(1, 13)]
            self.long = [""] + [f"{{}} {str(MONTHS[m]).title()}" for m in range(1, 13)]
        self.yesterday_at = _("yesterday %(time)s")
        self.full = _("%(date)s %(year)s, %(time)s")

    def _local(self, value: datetime) -> datetime:
        return value.astimezone(self.zone) if timezone.is_aware(value) else value

    def when(self, value: datetime | None) -> str:
        if value is None:
            return ""
        local = self._local(value)
        clock = f"{local.hour:02d}:{local.minute:02d}"
        day = local.date()
        if day == self.today:
            return clock
        if day == self.yesterday:
            return self.yesterday_at % {"time": clock}
        if local.year == self.today.year:
            return f"{self.short[local.month].format(local.day)} {clock}"
        return f"{self.short[local.month].format(local.day)} {local.year}"

    def when_full(self, value: datetime | None) -> str:
        if value is None:
            return ""
        local = self._local(value)
        return self.full % {
            "date": self.long[local.month].format(local.day),
            "year": local.year,
            "time": f"{local.hour:02d}:{local.minute:02d}",
        }

    def day(self, value: datetime | None) -> str:
        if value is None:
            return ""
        local = self._local(value)
        return f"{self.short[local.month].format(local.day)} {local.year}"


_made: dict[tuple[str, str, date], Moments] = {}


def moments(now: datetime | None = None) -> Moments:
    """The formatter for the current language and zone, today (made once a day per language and zone)."""
    zone = timezone.get_current_timezone()
    today = (now or timezone.now()).astimezone(zone).date()
    key = (translation.get_language() or "en", str(zone), today)
    found = _made.get(key)
    if found is None:
        if len(_made) > 500:
            _made.clear()
        found = _made[key] = Moments(zone, today)
    return found


def format_when(value: datetime | None, now: datetime | None = None) -> str:
    return moments(now).when(value)


def format_when_full(value: datetime | None) -> str:
    return moments().when_full(value)


def format_day(value: datetime | None) -> str:
    return moments().day(value)


@register.filter
def when_day(value: datetime | None) -> str:
    return format_day(value)


@register.filter
def when(value: datetime | None) -> str:
    return format_when(value)


@register.filter
def when_full(value: datetime | None) -> str:
    return format_when_full(value)
