"""Routing: only available people get conversations; fair, within capacity; backlog on return."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.db import close_old_connections, connection

from samtale.accounts import actions as account_actions
from samtale.availability import actions as availability
from samtale.inbox import actions
from samtale.inbox.models import Conversation
from samtale.routing.actions import configure_routing, route_backlog
from tests.conftest import World


def arrive(world: World, n: int, prefix: str = "c") -> list[Conversation]:
    return [world.inbound(f"{prefix} {i}", sender=f"{prefix}{i}@customer.example") for i in range(n)]


def test_only_available_people_get_conversations(world: World) -> None:
    configure_routing(world.email, acting_user=world.admin, users=[world.agent, world.agent2])
    availability.set_away(world.agent2, acting_user=world.agent2)
    owners = {c.owner_id for c in arrive(world, 5)}
    assert owners == {world.agent.pk}
    availability.set_away(world.agent, acting_user=world.agent)
    waiting = arrive(world, 2, "w")
    assert {c.owner_id for c in waiting} == {None}


def test_working_hours_and_out_of_office_count(world: World) -> None:
    configure_routing(world.email, acting_user=world.admin, users=[world.agent, world.agent2])
    for user in (world.agent, world.agent2):
        availability.set_time_zone(user, acting_user=user, time_zone="Europe/Oslo")
        for d in range(7):
            availability.add_working_hours(user, acting_user=user, weekday=d, start=time(8), end=time(16))
    availability.add_out_of_office(world.agent2, acting_user=world.agent2,
                                   starts_at=datetime.fromisoformat("2026-11-24T00:00:00+01:00"),
                                   ends_at=datetime.fromisoformat("2026-11-25T00:00:00+01:00"))  # fmt: skip
    with time_machine.travel(datetime.fromisoformat("2026-11-24T10:00:00+01:00"), tick=False):
        assert {c.owner_id for c in arrive(world, 4)} == {world.agent.pk}
    with time_machine.travel(datetime.fromisoformat("2026-11-24T20:00:00+01:00"), tick=False):
        assert {c.owner_id for c in arrive(world, 2, "night")} == {None}


def test_round_robin_is_fair_over_hundreds_of_arrivals(world: World) -> None:
    configure_routing(world.email, acting_user=world.admin, users=[world.agent, world.agent2, world.admin])
    conversations = arrive(world, 301)  # (a third each, and one more: the turn is kept, never reset)
    counts = Counter(c.owner_id for c in conversations)
    assert set(counts) == {world.agent.pk, world.agent2.pk, world.admin.pk}
    assert max(counts.values()) - min(counts.values()) <= 1


def test_balanced_gives_to_the_fewest_open(world: World) -> None:
    rule = configure_routing(world.email, acting_user=world.admin, users=[world.agent, world.agent2], method="balanced")
    first = arrive(world, 4)
    assert Counter(c.owner_id for c in first) == {world.agent.pk: 2, world.agent2.pk: 2}
    for c in first:
        if c.owner_id == world.agent.pk:
            actions.close_conversation(c, acting_user=world.agent)
    nxt = arrive(world, 2, "n")
    assert {c.owner_id for c in nxt} == {world.agent.pk}
    assert rule.method == "balanced"


def test_capacity_is_respected_and_backlog_is_offered_on_return(world: World) -> None:
    configure_routing(world.email, acting_user=world.admin, users=[world.agent], capacity=2)
    conversations = arrive(world, 4)
    assert [c.owner_id for c in conversations].count(world.agent.pk) == 2
    waiting = [c for c in conversations if c.owner_id is None]
    assert len(waiting) == 2
    actions.close_conversation(
        Conversation.objects.get(owner=world.agent, pk=conversations[0].pk), acting_user=world.agent
    )
    assert route_backlog(world.support.pk) == 1


def test_backlog_is_assigned_when_someone_becomes_available(world: World, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    configure_routing(world.email, acting_user=world.admin, users=[world.agent])
    availability.set_away(world.agent, acting_user=world.agent)
    waiting = arrive(world, 3)
    assert {c.owner_id for c in waiting} == {None}
    with django_capture_on_commit_callbacks(execute=True):
        availability.set_available(world.agent, acting_user=world.agent)
    assert set(Conversation.objects.filter(pk__in=[c.pk for c in waiting]).values_list("owner_id", flat=True)) == {
        world.agent.pk
    }


def test_temporary_away_ends_and_the_worker_routes_the_waiting(world: World) -> None:
    from samtale.routing.tasks import route_waiting

    configure_routing(world.email, acting_user=world.admin, users=[world.agent])
    availability.set_temporary_away(world.agent, acting_user=world.agent, preset="15m")
    waiting = arrive(world, 2)
    assert {c.owner_id for c in waiting} == {None}
    with time_machine.travel(timedelta(minutes=16)):
        assert route_waiting.call() == 2


def test_a_reply_to_an_away_owners_conversation_is_rerouted(world: World) -> None:
    configure_routing(world.email, acting_user=world.admin, users=[world.agent, world.agent2])
    c = arrive(world, 1)[0]
    first_owner = c.owner_id
    other = world.agent2 if first_owner == world.agent.pk else world.agent
    away = world.agent if first_owner == world.agent.pk else world.agent2
    actions.close_conversation(c, acting_user=away)
    availability.set_away(away, acting_user=away)
    actions.receive_inbound(
        world.email, actions.InboundMessage(sender_address="c0@customer.example", text="again", conversation=c)
    )
    assert Conversation.objects.get(pk=c.pk).owner_id == other.pk


def test_bots_spam_and_people_without_access_are_left_out(world: World) -> None:
    configure_routing(world.chat, acting_user=world.admin, users=[world.agent])
    bot = world.inbound("bot", channel=world.chat, bot="Welcome bot")
    assert bot.owner_id is None
    configure_routing(world.email, acting_user=world.admin, users=[world.agent])
    spam = world.inbound("offer", sender="marketing@vendor.example", spam=True)
    assert spam.owner_id is None
    stranger = account_actions.create_user(world.account, acting_user=world.admin, email="x@acme.test", name="No Inbox")
    configure_routing(world.email, acting_user=world.admin, users=[stranger])
    assert arrive(world, 1, "s")[0].owner_id is None


def test_routing_needs_inbox_settings(world: World) -> None:
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        configure_routing(world.email, acting_user=world.agent, users=[world.agent])


@pytest.mark.django_db(transaction=True)
def test_capacity_holds_under_concurrent_arrivals(world_tx: World) -> None:
    """Many threads, each its own database connection, deliver at once (row locks on PostgreSQL)."""
    world = world_tx
    configure_routing(world.email, acting_user=world.admin, users=[world.agent, world.agent2], capacity=5)
    errors: list[BaseException] = []

    def deliver(i: int) -> None:
        try:
            for j in range(4):
                world.inbound(f"t{i}-{j}", sender=f"t{i}x{j}@customer.example")
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    counts = Counter(Conversation.objects.exclude(owner=None).values_list("owner_id", flat=True))
    assert counts == {world.agent.pk: 5, world.agent2.pk: 5}
    assert Conversation.objects.filter(owner=None).count() == 24 - 10


def test_routing_from_settings_and_the_api(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    import json

    from django.test import Client

    from samtale.routing.models import RoutingRule

    admin: Client = client_for(world.admin)
    r = admin.post(f"/settings/channels/{world.email.pk}/routing/",
                   {"enabled": "1", "method": "balanced", "capacity": "3", "users": [world.agent.pk, world.agent2.pk]})  # fmt: skip
    assert r.status_code == 302
    rule = RoutingRule.objects.get(channel=world.email)
    assert rule.method == "balanced" and rule.capacity == 3 and set(rule.users.all()) == {world.agent, world.agent2}
    assert "at most 3 open each" in admin.get("/settings/inboxes/").content.decode()
    assert (
        client_for(world.agent).post(f"/settings/channels/{world.email.pk}/routing/", {"enabled": "1"}).status_code
        == 403
    )
    _t, clear = account_actions.create_api_token(world.admin, acting_user=world.admin, name="t")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {clear}")
    body = {"user_ids": [world.agent.pk], "method": "round_robin", "capacity": None}
    out = api.put(f"/api/v1/channels/{world.chat.pk}/routing", json.dumps(body), content_type="application/json").json()
    assert out["user_ids"] == [world.agent.pk] and out["enabled"] is True
    assert api.get(f"/api/v1/channels/{world.chat.pk}/routing").json()["method"] == "round_robin"
    assert (
        api.put(
            f"/api/v1/channels/{world.other_email.pk}/routing", json.dumps(body), content_type="application/json"
        ).status_code
        == 404
    )


def test_the_owner_dropdown_shows_who_is_away(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    availability.set_away(world.agent2, acting_user=world.agent2)
    c = world.inbound("x")
    page = client_for(world.agent).get(f"/c/{c.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "○ Carol Agent (away)" in page and "● Bob Agent" in page


def test_a_bot_conversation_is_routed_when_the_bot_hands_over(world: World) -> None:
    from django.core.exceptions import ValidationError

    configure_routing(world.chat, acting_user=world.admin, users=[world.agent, world.agent2])
    availability.set_away(world.agent, acting_user=world.agent)
    held = world.inbound("bot chat", channel=world.chat, bot="Welcome bot")
    assert held.owner_id is None and held.bot == "Welcome bot"
    assert actions.hand_over_from_bot(held) == world.agent2  # only the available one
    held.refresh_from_db()
    assert (held.owner_id, held.bot) == (world.agent2.pk, "")
    with pytest.raises(ValidationError):
        actions.hand_over_from_bot(held)  # not held by a bot any more
    # nobody available: it waits unassigned, out of the Bots view, and is offered when someone is back
    availability.set_away(world.agent2, acting_user=world.agent2)
    second = world.inbound("bot chat 2", channel=world.chat, bot="Welcome bot")
    assert actions.hand_over_from_bot(second) is None
    assert route_backlog(world.support.pk) == 0
    availability.set_available(world.agent, acting_user=world.agent)
    route_backlog(world.support.pk)
    second.refresh_from_db()
    assert second.owner_id == world.agent.pk


def test_reopening_a_conversation_whose_owner_is_away_reroutes_it(world: World) -> None:
    configure_routing(world.email, acting_user=world.admin, users=[world.agent, world.agent2])
    c = arrive(world, 1)[0]
    owner = world.agent if c.owner_id == world.agent.pk else world.agent2
    other = world.agent2 if owner == world.agent else world.agent
    actions.close_conversation(c, acting_user=owner)
    availability.set_away(owner, acting_user=owner)
    actions.reopen_conversation(Conversation.objects.get(pk=c.pk), acting_user=world.admin)
    assert Conversation.objects.get(pk=c.pk).owner_id == other.pk
    # with rerouting switched off the owner keeps it
    configure_routing(world.email, acting_user=world.admin, users=[world.agent, world.agent2],
                      reroute_when_owner_away=False)  # fmt: skip
    actions.close_conversation(Conversation.objects.get(pk=c.pk), acting_user=world.admin)
    availability.set_away(other, acting_user=other)
    actions.reopen_conversation(Conversation.objects.get(pk=c.pk), acting_user=world.admin)
    assert Conversation.objects.get(pk=c.pk).owner_id == other.pk
