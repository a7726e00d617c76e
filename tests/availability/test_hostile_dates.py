"""No one can freeze the account with dates: every date a user controls is bounded, status
computation is bounded in work and cannot raise, calendar recurrences are expanded lazily with
caps, and a routing failure leaves a conversation unassigned instead of losing it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from samtale.availability import status as status_module
from samtale.availability.calendar import out_of_office_ranges
from samtale.availability.models import CalendarFeed, OutOfOffice
from samtale.availability.queries import status_of
from samtale.availability.status import LOOKAHEAD
from samtale.core.clock import now
from samtale.inbox.models import Conversation
from samtale.routing import actions as routing_actions
from tests.conftest import World


def api(world: World, method: str, path: str, **kw: Any) -> Any:
    token = world.token(world.admin)
    return getattr(Client(), method)(
        f"/api/v1{path}", content_type="application/json", headers={"Authorization": f"Bearer {token}"}, **kw
    )


@pytest.mark.parametrize(
    ("start", "end"), [("2026-12-01", "9999-12-31"), ("0001-01-01", "2026-12-02"), ("2026-12-01", "2900-01-01")]
)
def test_out_of_office_outside_the_bounds_is_refused_with_a_clear_message(
    world: World, client_for: Any, start: str, end: str
) -> None:
    client = client_for(world.agent)
    r = client.post(
        f"/settings/users/{world.agent.pk}/availability/ooo/",
        {"start_date": start, "start_time": "09:00", "end_date": end, "end_time": "23:59", "title": "Forever"},
    )
    assert r.status_code == 400 and "between 1 January 2000 and ten years from now" in r.content.decode()
    assert not OutOfOffice.objects.exists()


def test_a_stored_range_ending_in_9999_breaks_no_page_no_api_and_no_routing(world: World, client_for: Any) -> None:
    # rows stored before the bounds existed (or written around them) must not take the account down
    OutOfOffice.objects.create(
        user=world.agent, starts_at=now() - timedelta(hours=1), ends_at=datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    )
    OutOfOffice.objects.create(
        user=world.agent2, starts_at=now() + timedelta(days=3), ends_at=datetime(2900, 1, 1, tzinfo=UTC)
    )
    status = status_of(world.agent)
    assert not status.available and status.reason == "out_of_office" and status.next_change is None
    later = status_of(world.agent2)
    assert later.available and later.next_change is not None and later.next_change <= now() + LOOKAHEAD
    admin = client_for(world.admin)
    assert admin.get("/settings/availability-management/").status_code == 200
    assert admin.get(f"/settings/users/{world.agent.pk}/availability/").status_code == 200
    assert api(world, "get", f"/users/{world.agent.pk}/availability").status_code == 200
    routing_actions.configure_routing(
        world.email, acting_user=world.admin, enabled=True, users=[world.agent, world.agent2]
    )
    conversation = world.inbound("Routed while one is away until 9999")
    conversation.refresh_from_db()
    assert conversation.owner_id == world.agent2.pk


def test_status_work_is_bounded_by_the_lookahead(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    spans: list[timedelta] = []
    real = status_module.working_periods

    def measured(facts: Any, start: datetime, end: datetime) -> Any:
        spans.append(end - start)
        return real(facts, start, end)

    monkeypatch.setattr(status_module, "working_periods", measured)
    from samtale.availability import actions

    actions.add_working_hours(
        world.agent,
        acting_user=world.agent,
        weekday=0,
        start=datetime.min.time(),
        end=datetime.max.time().replace(microsecond=0),
    )
    OutOfOffice.objects.create(
        user=world.agent, starts_at=now() + timedelta(days=1), ends_at=datetime(2900, 1, 1, tzinfo=UTC)
    )
    status_of(world.agent)
    assert spans and max(spans) <= LOOKAHEAD + timedelta(days=10)


def test_a_routing_failure_leaves_the_conversation_unassigned_and_the_message_kept(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    routing_actions.configure_routing(world.email, acting_user=world.admin, enabled=True, users=[world.agent])

    def broken(conversation: Any) -> None:
        raise OverflowError("date value out of range")

    monkeypatch.setattr(routing_actions, "decide", broken)  # new conversations: decided before the INSERT
    conversation = world.inbound("Still arrives")
    conversation.refresh_from_db()
    assert conversation.owner_id is None and conversation.messages.count() == 1
    assert Conversation.objects.filter(subject="Still arrives").exists()
    monkeypatch.setattr(routing_actions, "route", broken)  # a reply to an unassigned one: routed after
    world.inbound("Re: Still arrives", conversation=conversation)
    conversation.refresh_from_db()
    assert conversation.owner_id is None and conversation.messages.count() == 2


def test_what_a_failed_routing_counted_is_undone_with_it(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counter changes are summed and written just before the commit; a routing decision that
    assigned and then failed is rolled back, and so is what it counted (no drift in the counts)."""
    from samtale.inbox import queries
    from samtale.inbox.actions import assign_conversation

    routing_actions.configure_routing(world.email, acting_user=world.admin, enabled=True, users=[world.agent])

    def assigns_then_fails(conversation: Any) -> None:
        assign_conversation(conversation, acting_user=None, owner=world.agent)
        raise OverflowError("date value out of range")

    conversation = world.inbound("Counted once", auto_reply=True)  # not routed on arrival
    assert conversation.owner_id is None
    monkeypatch.setattr(routing_actions, "route", assigns_then_fails)
    world.inbound("Re: Counted once", conversation=conversation)  # the contact's answer: routed, and fails
    conversation.refresh_from_db()
    assert conversation.owner_id is None
    for user in (world.agent, world.admin):
        counts = queries.view_counts(world.support, user)
        assert counts == queries.view_counts_exact(world.support, user)
        assert counts["unassigned"] >= 1


def bomb() -> bytes:
    # starts tomorrow, whatever day the suite runs (a fixed date fell out of the import window)
    start = (now() + timedelta(days=1)).strftime("%Y%m%dT000000Z")
    end = start[:-3] + "01Z"
    return (
        f"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:bomb\r\nDTSTART:{start}\r\nDTEND:{end}\r\n"
        "RRULE:FREQ=SECONDLY\r\nSUMMARY:Out of office\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def ics(rule: str, summary: str = "Out of office") -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:series\r\nDTSTART;VALUE=DATE:20261201\r\n"
        f"DTEND;VALUE=DATE:20261202\r\nRRULE:{rule}\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def test_a_secondly_recurrence_bomb_is_not_expanded_and_the_cut_is_reported(world: World) -> None:
    data = bomb()
    assert len(data) < 200
    r = api(world, "post", f"/users/{world.agent.pk}/calendar/import", data={"ics": data.decode()})
    assert r.status_code == 200
    assert r.json()["events"] == 1 and "only its first occurrence" in r.json()["note"]
    assert "only its first occurrence" in CalendarFeed.objects.get(user=world.agent).last_note


@pytest.mark.parametrize(
    "rule",
    ["FREQ=DAILY;COUNT=20000", "FREQ=HOURLY;BYMINUTE=0,1,2,3,4,5,6,7,8,9;BYSECOND=0,1,2,3,4,5,6,7,8,9", "FREQ=DAILY"],
)
def test_long_recurrences_are_capped_and_adjacent_days_merged(rule: str) -> None:
    at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    from zoneinfo import ZoneInfo

    read = out_of_office_ranges(ics(rule), zone=ZoneInfo("Europe/Oslo"), keywords=["out of office"], at=at)
    # whole days back to back: one absence, clamped to the 400-day window
    assert len(read.ranges) == 1
    only = read.ranges[0]
    assert only.ends_at <= at + timedelta(days=400) and only.starts_at >= at - timedelta(days=1)


def test_more_occurrences_than_the_cap_are_cut_and_reported() -> None:
    at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    from zoneinfo import ZoneInfo

    many = ics("FREQ=HOURLY;BYMINUTE=0,20,40", summary="Standup")  # 28,800 steps in the window
    read = out_of_office_ranges(many, zone=ZoneInfo("UTC"), keywords=["out of office"], at=at)
    assert read.ranges == [] and "repeats too often" in read.cut


def test_events_at_the_ends_of_time_are_skipped_not_fatal() -> None:
    from zoneinfo import ZoneInfo

    data = (
        b"BEGIN:VCALENDAR\r\n"
        b"BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:99991230\r\nDTEND;VALUE=DATE:99991231\r\nSUMMARY:Out of office\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nUID:b\r\nDTSTART:20261201T080000Z\r\nDTEND:99991231T235959Z\r\nSUMMARY:Out of office\r\nEND:VEVENT\r\n"
        b"END:VCALENDAR\r\n"
    )
    at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    read = out_of_office_ranges(data, zone=ZoneInfo("Pacific/Kiritimati"), keywords=["out of office"], at=at)
    assert [r.key for r in read.ranges] == ["b"] and read.ranges[0].ends_at == at + timedelta(days=400)
