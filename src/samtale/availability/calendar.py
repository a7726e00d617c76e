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

import contextlib
import hashlib
import http.client
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from django.conf import settings

from samtale.core import egress
from samtale.core.egress import EgressError

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


MAX_OCCURRENCES = 20_000  # recurrence steps expanded from one calendar, over all its events
EARLIEST_YEAR, LATEST_YEAR = 1900, 2200  # dates outside are dropped (events) or clamped (ends)
_PER_DAY = {"SECONDLY": 86400.0, "MINUTELY": 1440.0, "HOURLY": 24.0, "DAILY": 1.0, "WEEKLY": 1 / 7, "MONTHLY": 1 / 28, "YEARLY": 1 / 365}  # fmt: skip
_FINER = {  # the BY* parts that multiply occurrences of a frequency (a bound, not an exact count)
    "SECONDLY": (), "MINUTELY": ("BYSECOND",), "HOURLY": ("BYSECOND", "BYMINUTE"),
    "DAILY": ("BYSECOND", "BYMINUTE", "BYHOUR"), "WEEKLY": ("BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY"),
    "MONTHLY": ("BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY", "BYMONTHDAY"),
    "YEARLY": ("BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH"),
}  # fmt: skip


@dataclass
class CalendarRead:
    """The out-of-office ranges of a calendar, and what the bounds left out (shown to the user)."""

    ranges: list[CalendarRange]
    cut: str = ""


def out_of_office_ranges(data: bytes, *, zone: ZoneInfo, keywords: Iterable[str], at: datetime) -> CalendarRead:
    """Every out-of-office occurrence of the calendar overlapping [at - 1 day, at + 400 days].

    Calendars are untrusted input: before anything is expanded, each event's recurrence is
    costed (the steps from its start to the end of the window, from FREQ, INTERVAL, the BY* parts,
    COUNT and UNTIL) against a budget of MAX_OCCURRENCES for the whole calendar; an event whose
    recurrence does not fit counts once (a 187-byte `RRULE:FREQ=SECONDLY` would be 34 million
    occurrences). Dates outside 1900–2200 are dropped or clamped. Ranges are clamped to the window
    and ranges that overlap or touch are merged."""
    try:
        calendars = icalendar.Calendar.from_ical(data, multiple=True)
    except Exception as exc:  # icalendar raises ValueError and friends on broken input
        raise CalendarError(f"Not an iCalendar file: {exc}") from exc
    if not calendars:
        raise CalendarError("Not an iCalendar file: no VCALENDAR found.")
    words = [k.casefold() for k in keywords]
    window_start, window_end = at - LOOK_BACK, at + LOOK_AHEAD
    found: dict[str, CalendarRange] = {}
    cuts: list[str] = []
    budget = [MAX_OCCURRENCES]
    for calendar in calendars:
        cuts.extend(_tame(calendar, zone, window_end, budget))
        recurring = {
            _text(e, "UID")
            for e in calendar.walk("VEVENT")
            if any(e.get(name) is not None for name in ("RRULE", "RDATE", "RECURRENCE-ID"))
        }
        try:
            occurrences = recurring_ical_events.of(calendar).between(window_start, window_end)
        except Exception as exc:
            raise CalendarError(f"The calendar could not be expanded: {exc}") from exc
        for event in occurrences:
            try:
                r = _occurrence(event, zone, words, recurring)
            except (OverflowError, ValueError, TypeError):  # a date out of any range: skip the event
                continue
            if r is not None:
                found[r.key] = CalendarRange(r.key, max(r.starts_at, window_start), min(r.ends_at, window_end), r.title)
    return CalendarRead(
        _merged(sorted(found.values(), key=lambda r: (r.starts_at, r.key))), " ".join(dict.fromkeys(cuts))
    )


def _tame(calendar: Any, zone: ZoneInfo, window_end: datetime, budget: list[int]) -> list[str]:
    """Make the calendar safe to expand (see `out_of_office_ranges`); returns what was cut."""
    cut: list[str] = []
    for event in list(calendar.walk("VEVENT")):
        title = _text(event, "SUMMARY")[:80]
        try:
            start = _instant(event["DTSTART"].dt, zone) if event.get("DTSTART") is not None else None
        except (OverflowError, ValueError, TypeError, AttributeError):
            start = None
        if start is None or not (EARLIEST_YEAR <= start.year <= LATEST_YEAR):
            _drop(calendar, event)
            continue
        _clamp_end(event, zone)
        steps = _steps(event, start, window_end)
        if steps > budget[0]:
            for name in ("RRULE", "RDATE", "EXRULE"):
                if name in event:
                    del event[name]
            cut.append(f"“{title}” repeats too often to read; only its first occurrence was read.")
            steps = 1
        if budget[0] <= 0:
            _drop(calendar, event)
            cut.append(f"Only the first {MAX_OCCURRENCES} events were read; the rest of the calendar was skipped.")
            continue
        budget[0] -= steps
    return cut


def _drop(calendar: Any, event: Any) -> None:
    with contextlib.suppress(ValueError):
        calendar.subcomponents.remove(event)


def _clamp_end(event: Any, zone: ZoneInfo) -> None:
    """An end beyond LATEST_YEAR (or unreadable) becomes the start of LATEST_YEAR."""
    end = event.get("DTEND")
    if end is None:
        return
    try:
        if _instant(end.dt, zone).year <= LATEST_YEAR:
            return
    except (OverflowError, ValueError, TypeError, AttributeError):
        pass
    del event["DTEND"]
    timed = isinstance(end.dt, datetime)
    event.add("DTEND", datetime(LATEST_YEAR, 1, 1, tzinfo=UTC) if timed else date(LATEST_YEAR, 1, 1))


def _steps(event: Any, start: datetime, window_end: datetime) -> int:
    """About how many occurrences expanding the event up to the window's end generates."""
    steps = 1
    rdates = event.get("RDATE")
    for item in rdates if isinstance(rdates, list) else [rdates] if rdates is not None else []:
        steps += len(getattr(item, "dts", [])) or 1
    rules = event.get("RRULE")
    for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
        freq = str((rule.get("FREQ") or ["DAILY"])[0]).upper()
        per_day = _PER_DAY.get(freq, 1.0) / max(1, int((rule.get("INTERVAL") or [1])[0]))
        for part in _FINER.get(freq, ()):
            per_day *= max(1, len(rule.get(part) or []))
        until = (rule.get("UNTIL") or [None])[0]
        stop = window_end
        if isinstance(until, datetime):
            stop = min(stop, until if until.tzinfo else until.replace(tzinfo=UTC))
        elif isinstance(until, date):
            stop = min(stop, datetime.combine(until, time.max, tzinfo=UTC))
        days = max(0.0, (stop - start).total_seconds() / 86400) + 1
        count = min(per_day * days, 86400.0 * 1000)
        if rule.get("COUNT"):
            count = min(count, float(rule["COUNT"][0]))
        steps += int(count) + 1
    return steps


def _occurrence(event: Any, zone: ZoneInfo, words: list[str], recurring: set[str]) -> CalendarRange | None:
    if event.name != "VEVENT" or not is_out_of_office(event, words):
        return None
    start = event.get("DTSTART")
    if start is None:
        return None
    starts_at = _instant(start.dt, zone)
    end = event.get("DTEND")
    if end is not None:
        ends_at = _instant(end.dt, zone)
    elif event.get("DURATION") is not None:
        ends_at = starts_at + event["DURATION"].dt
    else:  # RFC 5545: a date-only event lasts the day, a timed one is an instant
        ends_at = _instant(start.dt + timedelta(days=1), zone) if not isinstance(start.dt, datetime) else starts_at
    if ends_at <= starts_at:
        return None
    # one key per occurrence that survives the event being moved: the UID, and for occurrences of
    # a recurring event also the start it had in the series
    key = _text(event, "UID") or f"{_text(event, 'SUMMARY')}@{starts_at.isoformat()}"
    recurrence = event.get("RECURRENCE-ID")
    if recurrence is not None and _text(event, "UID") in recurring:
        key += "@" + _instant(recurrence.dt, zone).isoformat()
    if len(key) > 250:  # stored with a prefix in a 300-character column
        key = hashlib.sha256(key.encode()).hexdigest()
    return CalendarRange(key, starts_at, ends_at, _text(event, "SUMMARY")[:300])


def _merged(ranges: list[CalendarRange]) -> list[CalendarRange]:
    """Ranges sorted by start, with overlapping or touching ones merged (a week off entered as
    seven all-day events is one absence). The first range's key and title name the merged one."""
    merged: list[CalendarRange] = []
    for r in ranges:
        if merged and r.starts_at <= merged[-1].ends_at:
            last = merged[-1]
            merged[-1] = CalendarRange(last.key, last.starts_at, max(last.ends_at, r.ends_at), last.title)
        else:
            merged.append(r)
    return merged


@dataclass(frozen=True)
class Fetched:
    data: bytes | None  # None: not modified since the last fetch
    etag: str
    last_modified: str


def check_address(url: str) -> None:
    """A feed address that may be fetched (http/https, a public host: `core.egress`)."""
    try:
        egress.check_url(url)
    except EgressError as exc:
        raise CalendarError(str(exc)) from None


def fetch(url: str, *, etag: str = "", last_modified: str = "", timeout: float = 15.0) -> Fetched:
    """GET the feed (conditional when we have validators), at most SAMTALE_CALENDAR_MAX_BYTES.
    Every connection, redirects included, goes through the egress policy; errors never repeat
    what the remote end said."""
    if url.startswith("webcal://"):
        url = "https://" + url.removeprefix("webcal://")
    check_address(url)
    headers = {"User-Agent": "Samtale calendar sync", "Accept": "text/calendar"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 -- scheme checked by check_address
    if etag:
        request.add_header("If-None-Match", etag)
    if last_modified:
        request.add_header("If-Modified-Since", last_modified)
    opener = egress.opener()
    limit = settings.SAMTALE_CALENDAR_MAX_BYTES
    try:
        with opener.open(request, timeout=timeout) as response:
            data = response.read(limit + 1)
            headers = response.headers
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Fetched(None, etag, last_modified)
        raise CalendarError(f"The feed answered HTTP {exc.code}.") from None
    except EgressError as exc:
        raise CalendarError(str(exc)) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        message = str(reason) if isinstance(reason, EgressError) else "The feed could not be fetched."
        raise CalendarError(message) from None
    except (OSError, http.client.HTTPException) as exc:
        parts = urllib.parse.urlsplit(url)
        raise CalendarError(egress.describe(exc, parts.hostname or "", parts.port or 443)) from None
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
    return bytes(calendar.to_ical())
