"""A user's availability as a pure function of stored facts and an instant.

Nothing is flipped by a cron job: screens and the router call `status_at(facts, at)`.

Precedence, highest first:

1. **Out of office** — an out-of-office range covering the instant: Away for the whole range.
2. **Temporarily away** — until its expiry: Away. At expiry the user is Available again, as if
   they had set Available at that moment (rule 4).
3. **Set as away** (by the user, or by an admin) — Away until the user sets Available again.
   Working periods do not end it.
4. **Set available** — Available until the end of the working period it falls in, or of the
   next one when set outside working hours; after that the schedule decides again.
5. **Schedule** — Available inside a working period, Away outside. A user with no working
   hours at all is Available.

Working hours are local times in the user's zone. A range whose end is not after its start
runs past midnight (22:00–06:00). Across DST changes the local times hold: a start inside a
spring-forward gap begins at the first valid instant after it; an ambiguous local time in
the fall-back hour means its first occurrence.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cached_property
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)


class Reason(StrEnum):
    OUT_OF_OFFICE = "out_of_office"
    TEMPORARILY_AWAY = "temporarily_away"
    SET_AWAY = "set_away"
    SET_AWAY_BY_ADMIN = "set_away_by_admin"
    SET_AVAILABLE = "set_available"
    WORKING_HOURS = "working_hours"
    OUTSIDE_WORKING_HOURS = "outside_working_hours"
    NO_SCHEDULE = "no_schedule"


class Manual(StrEnum):
    AVAILABLE = "available"
    AWAY = "away"
    TEMPORARY_AWAY = "temporary_away"


@dataclass(frozen=True)
class WeeklyRange:
    weekday: int  # 0 = Monday
    start: time
    end: time  # not after start: the range ends on the next day

    @property
    def overnight(self) -> bool:
        return self.end <= self.start


@dataclass(frozen=True)
class ManualStatus:
    kind: Manual
    at: datetime
    until: datetime | None = None  # for TEMPORARY_AWAY
    by_admin: bool = False


@dataclass(frozen=True)
class Facts:
    time_zone: str = "UTC"
    hours: tuple[WeeklyRange, ...] = ()
    out_of_office: tuple[tuple[datetime, datetime], ...] = ()
    manual: ManualStatus | None = None  # the latest manual change

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @cached_property
    def absences(self) -> tuple[tuple[datetime, datetime], ...]:
        return tuple(sorted(self.out_of_office))


@dataclass(frozen=True)
class Status:
    available: bool
    reason: Reason
    next_change: datetime | None = None
    until: datetime | None = field(default=None, compare=False)  # temporary away expiry, OOO end


def _local(d: date, t: time, zone: ZoneInfo) -> datetime:
    """A local wall time as a UTC instant; a time in a DST gap moves to the end of the gap."""
    naive = datetime.combine(d, t)
    utc = naive.replace(tzinfo=zone).astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != naive:
        return _gap_end(naive, zone)
    return utc


def _gap_end(naive: datetime, zone: ZoneInfo) -> datetime:
    # The first instant whose local time is at or after `naive` (the end of the DST gap).
    probe = naive.replace(tzinfo=zone).astimezone(UTC) - timedelta(hours=3)
    step = timedelta(minutes=15)
    while probe.astimezone(zone).replace(tzinfo=None) < naive:
        probe += step
    while (probe - timedelta(minutes=1)).astimezone(zone).replace(tzinfo=None) >= naive:
        probe -= timedelta(minutes=1)
    return probe


def working_periods(facts: Facts, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """UTC intervals of work overlapping [start, end), merged where they touch."""
    if not facts.hours:
        return []
    zone = facts.zone
    first = start.astimezone(zone).date() - timedelta(days=2)
    last = end.astimezone(zone).date() + timedelta(days=1)
    periods: list[tuple[datetime, datetime]] = []
    day = first
    while day <= last:
        for r in facts.hours:
            if r.weekday != day.weekday():
                continue
            s = _local(day, r.start, zone)
            e = _local(day + timedelta(days=1) if r.overnight else day, r.end, zone)
            if e > s and e > start and s < end:
                periods.append((s, e))
        day += timedelta(days=1)
    periods.sort()
    merged: list[tuple[datetime, datetime]] = []
    for s, e in periods:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


HORIZON = timedelta(days=9)
LOOKAHEAD = timedelta(days=400)  # the next change is searched this far ahead at most


def _inside(facts: Facts, at: datetime) -> bool:
    return any(s <= at < e for s, e in working_periods(facts, at - timedelta(hours=1), at + timedelta(hours=1)))


def _in_schedule(facts: Facts, at: datetime) -> tuple[bool, datetime | None]:
    """Inside a working period? And the end of that period, or of the next one."""
    for s, e in working_periods(facts, at - timedelta(days=1), at + HORIZON):
        if s <= at < e:
            return True, e
        if s > at:
            return False, e
    return False, None


def _state(facts: Facts, at: datetime) -> tuple[bool, Reason, datetime | None]:
    for s, e in facts.out_of_office:
        if s <= at < e:
            return False, Reason.OUT_OF_OFFICE, _ooo_end(facts, at)
    manual = facts.manual
    override_from: datetime | None = None
    if manual is not None and manual.at <= at:
        if manual.kind == Manual.TEMPORARY_AWAY and manual.until is not None:
            if at < manual.until:
                return False, Reason.TEMPORARILY_AWAY, manual.until
            override_from = manual.until
        elif manual.kind == Manual.AWAY:
            return False, (Reason.SET_AWAY_BY_ADMIN if manual.by_admin else Reason.SET_AWAY), None
        elif manual.kind == Manual.AVAILABLE:
            override_from = manual.at
    if not facts.hours:
        return (
            True,
            (
                Reason.SET_AVAILABLE
                if override_from and manual and manual.kind == Manual.AVAILABLE
                else Reason.NO_SCHEDULE
            ),
            None,
        )
    if override_from is not None:
        _was_inside, ends = _in_schedule(facts, override_from)
        if ends is None or at < ends:
            return True, Reason.SET_AVAILABLE, ends
    if _inside(facts, at):
        return True, Reason.WORKING_HOURS, None
    return False, Reason.OUTSIDE_WORKING_HOURS, None


def _ooo_end(facts: Facts, at: datetime) -> datetime:
    end = at
    for s, e in facts.absences:  # by start: overlapping or touching ranges count as one absence
        if s > end:
            break
        end = max(end, e)
    return end


def _candidates(facts: Facts, at: datetime) -> list[datetime]:
    """Instants after `at` where the status may change, up to LOOKAHEAD: the work is bounded
    whatever the facts say (an out-of-office range ending in year 9999 costs what one ending next
    year does)."""
    points: set[datetime] = set()
    limit = at + LOOKAHEAD
    horizon = at + HORIZON
    manual = facts.manual
    edges = [p for r in facts.out_of_office for p in r]
    if manual is not None:
        edges.extend(p for p in (manual.at, manual.until) if p is not None)
    for p in edges:
        if at < p <= limit:
            points.add(p)
            horizon = max(horizon, min(p, limit - HORIZON) + HORIZON)
    for s, e in working_periods(facts, at, horizon):
        points.update(p for p in (s, e) if p > at)
    return sorted(points)


def available_at(facts: Facts, at: datetime) -> bool:
    """Only whether the user is available (the router's question; no next change needed)."""
    try:
        return _state(facts, at.astimezone(UTC))[0]
    except (OverflowError, ValueError, KeyError):
        return False


def status_at(facts: Facts, at: datetime) -> Status:
    """Available or Away at `at`, why, and when that next changes (None: not by itself)."""
    if at.tzinfo is None:
        raise ValueError("status_at needs an aware datetime")
    at = at.astimezone(UTC)
    try:
        available, reason, until = _state(facts, at)
    except (OverflowError, ValueError, KeyError) as exc:  # facts out of range (legacy rows, a bad zone)
        log.warning("status could not be computed (%s); treated as away", exc)
        return Status(available=False, reason=Reason.OUTSIDE_WORKING_HOURS)
    next_change = None
    try:
        for point in _candidates(facts, at):
            if _state(facts, point)[0] != available:
                next_change = point
                break
    except (OverflowError, ValueError, KeyError) as exc:
        log.warning("the next status change could not be computed (%s)", exc)
    return Status(available=available, reason=reason, next_change=next_change, until=until)
