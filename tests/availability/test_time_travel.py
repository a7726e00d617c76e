"""Availability as the clock moves, in four zones, across both DST changes of a year."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from samtale.accounts import actions as account_actions
from samtale.availability import actions
from samtale.availability.queries import status_of
from samtale.availability.status import Reason
from tests.conftest import World

WORKDAYS = range(5)


def schedule(world: World, user, zone: str, *ranges: tuple[int, time, time]) -> None:  # type: ignore[no-untyped-def]
    actions.set_time_zone(user, acting_user=world.admin, time_zone=zone)
    for weekday, start, end in ranges:
        actions.add_working_hours(user, acting_user=user, weekday=weekday, start=start, end=end)


def at_local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))  # type: ignore[misc]


@pytest.mark.parametrize(
    ("zone", "spring", "autumn"),
    [
        ("Europe/Oslo", (2026, 3, 30), (2026, 10, 26)),  # the Mondays after the changes
        ("America/New_York", (2026, 3, 9), (2026, 11, 2)),
        ("Asia/Kolkata", (2026, 3, 30), (2026, 10, 26)),  # no DST: nothing may move
        ("Pacific/Chatham", (2026, 4, 6), (2026, 9, 28)),  # +12:45/+13:45, southern hemisphere
    ],
)
def test_working_hours_hold_in_local_time_across_dst(world: World, zone: str, spring: tuple, autumn: tuple) -> None:  # type: ignore[type-arg]
    schedule(world, world.agent, zone, *[(d, time(9), time(17)) for d in WORKDAYS])
    for y, m, d in (spring, autumn):
        for hour, minute, expected in [(8, 59, False), (9, 0, True), (12, 0, True), (16, 59, True), (17, 0, False)]:
            moment = at_local(zone, y, m, d, hour, minute)
            with time_machine.travel(moment, tick=False):
                status = status_of(world.agent)
            assert status.available is expected, (zone, moment, status)
        with time_machine.travel(at_local(zone, y, m, d, 10, 0), tick=False):
            assert status_of(world.agent).next_change == at_local(zone, y, m, d, 17, 0)


def test_an_overnight_range_runs_past_midnight(world: World) -> None:
    zone = "Europe/Oslo"
    schedule(world, world.agent, zone, (0, time(22), time(6)))  # Monday night
    cases = [((2026, 11, 23, 21, 59), False), ((2026, 11, 23, 22, 0), True), ((2026, 11, 24, 3, 0), True),
             ((2026, 11, 24, 6, 0), False)]  # fmt: skip
    for parts, expected in cases:
        with time_machine.travel(at_local(zone, *parts), tick=False):
            assert status_of(world.agent).available is expected, parts


def test_the_night_of_the_autumn_change_is_an_hour_longer(world: World) -> None:
    zone = "Europe/Oslo"
    schedule(world, world.agent, zone, (5, time(22), time(6)))  # Saturday 24 Oct 2026 22:00 → Sunday 06:00
    with time_machine.travel(at_local(zone, 2026, 10, 24, 23, 0), tick=False):
        status = status_of(world.agent)
    assert status.available and status.next_change is not None
    start = at_local(zone, 2026, 10, 24, 22, 0)
    assert status.next_change - start == timedelta(hours=9)  # 22:00 CEST → 06:00 CET


def test_a_user_in_another_zone_than_the_viewer(world: World) -> None:
    schedule(world, world.agent, "Asia/Kolkata", *[(d, time(9), time(17)) for d in WORKDAYS])
    schedule(world, world.agent2, "America/New_York", *[(d, time(9), time(17)) for d in WORKDAYS])
    with time_machine.travel(datetime.fromisoformat("2026-11-24T05:00:00+00:00"), tick=False):  # 10:30 IST, 00:00 EST
        assert status_of(world.agent).available is True
        assert status_of(world.agent2).available is False


def test_set_away_holds_past_the_start_of_work_until_set_available(world: World) -> None:
    zone = "Europe/Oslo"
    schedule(world, world.agent, zone, *[(d, time(9), time(17)) for d in WORKDAYS])
    with time_machine.travel(at_local(zone, 2026, 11, 23, 18, 0), tick=False):
        actions.set_away(world.agent, acting_user=world.agent)
    with time_machine.travel(at_local(zone, 2026, 11, 24, 10, 0), tick=False):
        status = status_of(world.agent)
        assert not status.available and status.reason == Reason.SET_AWAY and status.next_change is None
        actions.set_available(world.agent, acting_user=world.agent)
        assert status_of(world.agent).available


def test_set_available_after_hours_lasts_to_the_end_of_the_next_working_period(world: World) -> None:
    zone = "Europe/Oslo"
    schedule(world, world.agent, zone, *[(d, time(9), time(17)) for d in WORKDAYS])
    with time_machine.travel(at_local(zone, 2026, 11, 23, 19, 0), tick=False):
        actions.set_available(world.agent, acting_user=world.agent)
        status = status_of(world.agent)
    assert status.available and status.reason == Reason.SET_AVAILABLE
    assert status.next_change == at_local(zone, 2026, 11, 24, 17, 0)


def test_temporarily_away_ends_by_itself(world: World) -> None:
    with time_machine.travel(datetime.fromisoformat("2026-11-24T10:00:00+00:00"), tick=False):
        actions.set_temporary_away(world.agent, acting_user=world.agent, preset="30m")
        status = status_of(world.agent)
        assert not status.available and status.reason == Reason.TEMPORARILY_AWAY
        assert status.next_change == datetime.fromisoformat("2026-11-24T10:30:00+00:00")
    with time_machine.travel(datetime.fromisoformat("2026-11-24T10:30:00+00:00"), tick=False):
        assert status_of(world.agent).available


def test_temporarily_away_needs_a_service_seat_and_a_future_end(world: World) -> None:
    with pytest.raises(PermissionDenied):
        actions.set_temporary_away(world.noperm, acting_user=world.noperm, preset="15m")
    with pytest.raises(ValidationError):
        actions.set_temporary_away(world.agent, acting_user=world.agent)
    with (
        time_machine.travel(datetime.fromisoformat("2026-11-24T10:00:00+00:00"), tick=False),
        pytest.raises(ValidationError),
    ):
        actions.set_temporary_away(
            world.agent, acting_user=world.agent, until=datetime.fromisoformat("2026-11-24T09:00:00+00:00")
        )


def test_rest_of_today_ends_at_local_midnight(world: World) -> None:
    actions.set_time_zone(world.agent, acting_user=world.agent, time_zone="Pacific/Chatham")
    with time_machine.travel(datetime.fromisoformat("2026-11-24T01:00:00+00:00"), tick=False):  # 14:45 in Chatham
        change = actions.set_temporary_away(world.agent, acting_user=world.agent, preset="today")
    assert change.until == at_local("Pacific/Chatham", 2026, 11, 25, 0, 0)


def test_out_of_office_holds_for_the_whole_range(world: World) -> None:
    zone = "America/New_York"
    schedule(world, world.agent, zone, *[(d, time(9), time(17)) for d in WORKDAYS])
    actions.add_out_of_office(
        world.agent,
        acting_user=world.agent,
        starts_at=at_local(zone, 2026, 11, 24, 12, 0),
        ends_at=at_local(zone, 2026, 11, 26, 12, 0),
    )
    with time_machine.travel(at_local(zone, 2026, 11, 25, 10, 0), tick=False):
        status = status_of(world.agent)
    assert not status.available and status.reason == Reason.OUT_OF_OFFICE
    assert status.next_change == at_local(zone, 2026, 11, 26, 12, 0)


def test_who_may_change_what(world: World) -> None:
    with pytest.raises(PermissionDenied):
        actions.set_away(world.agent, acting_user=world.agent2)  # no availability_management
    account_actions.update_membership(world.agent2, acting_user=world.admin, permissions=["availability_management"])
    from samtale.accounts.models import User

    carol = User.objects.get(pk=world.agent2.pk)  # a new request: memberships are read per request
    actions.set_away(world.agent, acting_user=carol)
    assert status_of(world.agent).reason == Reason.SET_AWAY_BY_ADMIN
    with pytest.raises(PermissionDenied):
        actions.add_working_hours(world.agent, acting_user=carol, weekday=0, start=time(9), end=time(10))
    with pytest.raises(PermissionDenied):
        actions.set_away(world.agent, acting_user=world.outsider)
    with pytest.raises(ValidationError):
        actions.set_time_zone(world.agent, acting_user=world.agent, time_zone="Mars/Olympus")
