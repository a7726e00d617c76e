"""Property tests of `status_at`: the precedence holds, and "next change" is the next change."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samtale.availability.status import Facts, Manual, ManualStatus, Reason, WeeklyRange, status_at, working_periods

ZONES = ["Europe/Oslo", "America/New_York", "Asia/Kolkata", "Pacific/Chatham", "UTC"]
# Bases around both DST changes of 2026 in the northern and southern hemispheres.
BASES = [
    datetime(2026, m, d, tzinfo=UTC)
    for m, d in [(3, 8), (3, 29), (4, 5), (6, 15), (9, 27), (10, 25), (11, 1), (12, 31)]
]

times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
ranges = st.builds(WeeklyRange, st.integers(0, 6), times, times).filter(lambda r: r.start != r.end)
offsets = st.integers(-10 * 24 * 60, 10 * 24 * 60).map(lambda m: timedelta(minutes=m))


@st.composite
def facts_and_instant(draw: st.DrawFn) -> tuple[Facts, datetime]:
    base = draw(st.sampled_from(BASES))
    ooo = []
    for _ in range(draw(st.integers(0, 2))):
        start = base + draw(offsets)
        ooo.append((start, start + timedelta(minutes=draw(st.integers(30, 6 * 24 * 60)))))
    manual = None
    if draw(st.booleans()):
        kind = draw(st.sampled_from(list(Manual)))
        at = base + draw(offsets)
        until = at + timedelta(minutes=draw(st.integers(15, 3 * 24 * 60))) if kind == Manual.TEMPORARY_AWAY else None
        manual = ManualStatus(kind=kind, at=at, until=until, by_admin=draw(st.booleans()))
    facts = Facts(
        time_zone=draw(st.sampled_from(ZONES)),
        hours=tuple(draw(st.lists(ranges, max_size=4))),
        out_of_office=tuple(ooo),
        manual=manual,
    )
    return facts, base + draw(offsets)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(facts_and_instant(), st.floats(0, 1, exclude_max=True))
def test_next_change_is_really_the_next_change(case: tuple[Facts, datetime], fraction: float) -> None:
    facts, at = case
    now = status_at(facts, at)
    if now.next_change is None:
        later = at + timedelta(days=30) * fraction
        assert status_at(facts, later).available == now.available
        return
    assert now.next_change > at
    assert status_at(facts, now.next_change).available != now.available
    between = min(at + (now.next_change - at) * fraction, now.next_change - timedelta(microseconds=1))
    assert status_at(facts, between).available == now.available


@settings(max_examples=300, deadline=None)
@given(facts_and_instant())
def test_precedence(case: tuple[Facts, datetime]) -> None:
    facts, at = case
    s = status_at(facts, at)
    in_ooo = any(a <= at < b for a, b in facts.out_of_office)
    m = facts.manual
    if in_ooo:
        assert (s.available, s.reason) == (False, Reason.OUT_OF_OFFICE)
    elif m and m.at <= at and m.kind == Manual.TEMPORARY_AWAY and m.until and at < m.until:
        assert (s.available, s.reason, s.until) == (False, Reason.TEMPORARILY_AWAY, m.until)
    elif m and m.at <= at and m.kind == Manual.AWAY:
        assert not s.available and s.reason == (Reason.SET_AWAY_BY_ADMIN if m.by_admin else Reason.SET_AWAY)
    elif not facts.hours:
        assert s.available
    elif s.reason in (Reason.WORKING_HOURS, Reason.OUTSIDE_WORKING_HOURS):
        inside = any(a <= at < b for a, b in working_periods(facts, at - timedelta(days=1), at + timedelta(days=1)))
        assert s.available == inside
    else:
        assert s.reason == Reason.SET_AVAILABLE and s.available


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ZONES), st.lists(ranges, min_size=1, max_size=4), st.sampled_from(BASES), offsets)
def test_inside_a_period_means_inside_a_configured_local_range(
    zone: str, hours: list[WeeklyRange], base: datetime, offset: timedelta
) -> None:
    facts = Facts(time_zone=zone, hours=tuple(hours))
    at = base + offset
    local = at.astimezone(ZoneInfo(zone))
    inside = any(a <= at < b for a, b in working_periods(facts, at - timedelta(days=1), at + timedelta(days=1)))

    def covers(r: WeeklyRange) -> bool:
        t, day = local.time().replace(tzinfo=None), local.weekday()
        if not r.overnight:
            return r.weekday == day and r.start <= t < r.end
        return (r.weekday == day and t >= r.start) or ((r.weekday + 1) % 7 == day and t < r.end)

    # Wall-clock membership, except within an hour of a DST change where local times jump.
    near_dst = local.utcoffset() != (local - timedelta(hours=2)).astimezone(ZoneInfo(zone)).utcoffset() or (
        local.utcoffset() != (local + timedelta(hours=2)).astimezone(ZoneInfo(zone)).utcoffset()
    )
    if not near_dst:
        assert inside == any(covers(r) for r in hours)


def test_no_schedule_means_available() -> None:
    at = datetime(2026, 5, 1, 3, tzinfo=UTC)
    s = status_at(Facts(time_zone="Asia/Kolkata"), at)
    assert s.available and s.reason == Reason.NO_SCHEDULE and s.next_change is None


def test_naive_instants_are_refused() -> None:
    import pytest

    with pytest.raises(ValueError):
        status_at(Facts(), datetime(2026, 1, 1))
