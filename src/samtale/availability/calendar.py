"""Calendar sync (B6): read out-of-office events from iCalendar data, fetch feeds, publish a feed.

Which events count as out of office:
- Outlook/Exchange mark them: ``X-MICROSOFT-CDO-BUSYSTATUS:OOF`` (or ``X-MICROSOFT-CDO-INTENDEDSTATUS:OOF``).
  When an event carries one of these markers, the marker alone decides (a "Busy" meeting named
  "Holiday planning" is not an absence).
- Google's iCalendar export carries no event type: an "Out of office" event is a plain opaque
  VEVENT whose summary is the label the user gave it (by default "Out of office", in the user's
  language). Events without an Outlook marker therefore count when their summary or categories
  contain one of the user's keywords (configurable; defaults cover English and Norwegian).
- Cancelled events and free (transparent) events never count.

Recurring events are expanded (RRULE, RDATE, EXDATE, moved occurrences) over a window; all-day
events and floating times are read in the user's own time zone; Windows zone names (Outlook)
are understood.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from django.conf import settings

LOOK_BACK = timedelta(days=1)
LOOK_AHEAD = timedelta(days=400)
OOF_MARKERS = ("X-MICROSOFT-CDO-BUSYSTATUS", "X-MICROSOFT-CDO-INTENDEDSTATUS")


class CalendarError(Exception):
    """The feed could not be fetched or read; the message is shown to the user."""


@dataclass(frozen=True)
class CalendarRange:
    key: str  # stable per occurrence: UID + its original start
    starts_at: datetime
    ends_at: datetime
    title: str


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # floating time: the user's wall clock
            return value.replace(tzinfo=zone).astimezone(UTC)
        return value.astimezone(UTC)
    return datetime.combine(value, time.min, tzinfo=zone).astimezone(UTC)  # all-day: local midnight


def _text(event: icalendar.Component, name: str) -> str:
    value = event.get(name)
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def _categories(event: icalendar.Component) -> list[str]:
    found: list[str] = []
    raw = event.get("CATEGORIES")
    for item in raw if isinstance(raw, list) else [raw] if raw is not None else []:
        cats = getattr(item, "cats", None)
        found.extend(str(c) for c in cats) if cats is not None else found.append(str(item))
    return found


def is_out_of_office(event: icalendar.Component, keywords: Iterable[str]) -> bool:
    if _text(event, "STATUS").upper() == "CANCELLED":
        return False
    markers = [_text(event, name).upper() for name in OOF_MARKERS if event.get(name) is not None]
    if markers:
        return "OOF" in markers
    if _text(event, "TRANSP").upper() == "TRANSPARENT":
        return False
    haystack = " ".join([_text(event, "SUMMARY"), *_categories(event)]).casefold()
    return any(k and k in haystack for k in keywords)


def out_of_office_ranges(data: bytes, *, zone: ZoneInfo, keywords: Iterable[str], at: datetime) -> list[CalendarRange]:
    """Every out-of-office occurrence of the calendar overlapping [at - 1 day, at + 400 days]."""
    try:
        calendars = icalendar.Calendar.from_ical(data, multiple=True)
    except Exception as exc:  # icalendar raises ValueError and friends on broken input
        raise CalendarError(f"Not an iCalendar file: {exc}") from exc
    if not calendars:
        raise CalendarError("Not an iCalendar file: no VCALENDAR found.")
    words = [k.casefold() for k in keywords]
    window_start, window_end = at - LOOK_BACK, at + LOOK_AHEAD
    found: dict[str, CalendarRange] = {}
    for calendar in calendars:
        try:
            occurrences = recurring_ical_events.of(calendar).between(window_start, window_end)
        except Exception as exc:
            raise CalendarError(f"The calendar could not be expanded: {exc}") from exc
        recurring = {
            _text(e, "UID")
            for e in calendar.walk("VEVENT")
            if any(e.get(name) is not None for name in ("RRULE", "RDATE", "RECURRENCE-ID"))
        }
        for event in occurrences:
            if event.name != "VEVENT" or not is_out_of_office(event, words):
                continue
            start = event.get("DTSTART")
            if start is None:
                continue
            starts_at = _instant(start.dt, zone)
            end = event.get("DTEND")
            if end is not None:
                ends_at = _instant(end.dt, zone)
            elif event.get("DURATION") is not None:
                ends_at = starts_at + event["DURATION"].dt
            else:  # RFC 5545: a date-only event lasts the day, a timed one is an instant
                ends_at = (
                    _instant(start.dt + timedelta(days=1), zone) if not isinstance(start.dt, datetime) else starts_at
                )
            if ends_at <= starts_at:
                continue
            # one key per occurrence that survives the event being moved: the UID, and for
            # occurrences of a recurring event also the start it had in the series
            key = _text(event, "UID") or f"{_text(event, 'SUMMARY')}@{starts_at.isoformat()}"
            recurrence = event.get("RECURRENCE-ID")
            if recurrence is not None and _text(event, "UID") in recurring:
                key += "@" + _instant(recurrence.dt, zone).isoformat()
            if len(key) > 250:  # stored with a prefix in a 300-character column
                key = hashlib.sha256(key.encode()).hexdigest()
            found[key] = CalendarRange(key, starts_at, ends_at, _text(event, "SUMMARY")[:300])
    return sorted(found.values(), key=lambda r: (r.starts_at, r.key))


@dataclass(frozen=True)
class Fetched:
    data: bytes | None  # None: not modified since the last fetch
    etag: str
    last_modified: str


def check_address(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CalendarError("The feed address must start with http:// or https://.")
    if settings.SAMTALE_CALENDAR_ALLOW_PRIVATE:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except OSError as exc:
        raise CalendarError(f"The feed's host could not be found: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise CalendarError("The feed address points to a private network, which is not allowed.")


class _NoRedirectToPrivate(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        check_address(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(url: str, *, etag: str = "", last_modified: str = "", timeout: float = 15.0) -> Fetched:
    """GET the feed (conditional when we have validators), at most SAMTALE_CALENDAR_MAX_BYTES."""
    if url.startswith("webcal://"):
        url = "https://" + url.removeprefix("webcal://")
    check_address(url)
    headers = {"User-Agent": "Samtale calendar sync", "Accept": "text/calendar"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 -- scheme checked by check_address
    if etag:
        request.add_header("If-None-Match", etag)
    if last_modified:
        request.add_header("If-Modified-Since", last_modified)
    opener = urllib.request.build_opener(_NoRedirectToPrivate)
    limit = settings.SAMTALE_CALENDAR_MAX_BYTES
    try:
        with opener.open(request, timeout=timeout) as response:
            data = response.read(limit + 1)
            headers = response.headers
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Fetched(None, etag, last_modified)
        raise CalendarError(f"The feed answered HTTP {exc.code} {exc.reason}.") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise CalendarError(f"The feed could not be fetched: {getattr(exc, 'reason', exc)}") from exc
    if len(data) > limit:
        raise CalendarError(f"The feed is larger than {limit // (1024 * 1024)} MB.")
    return Fetched(data, headers.get("ETag", ""), headers.get("Last-Modified", ""))


def publish(ranges: Iterable[tuple[int, datetime, datetime, str]], *, name: str, at: datetime) -> bytes:
    """The user's out-of-office ranges as an iCalendar feed (Outlook and Google both read OOF)."""
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//Samtale//Out of office//EN")
    calendar.add("VERSION", "2.0")
    calendar.add("X-WR-CALNAME", f"{name} — out of office")
    calendar.add("X-PUBLISHED-TTL", "PT15M")
    for pk, starts_at, ends_at, title in ranges:
        event = icalendar.Event()
        event.add("UID", f"ooo-{pk}@samtale")
        event.add("DTSTAMP", at)
        event.add("DTSTART", starts_at.astimezone(UTC))
        event.add("DTEND", ends_at.astimezone(UTC))
        event.add("SUMMARY", title or "Out of office")
        event.add("TRANSP", "OPAQUE")
        event.add("X-MICROSOFT-CDO-BUSYSTATUS", "OOF")
        calendar.add_component(event)
    return calendar.to_ical()
