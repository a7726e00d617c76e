"""The ingest stores claimed mail in batches (one write transaction each): what a batch stores must
be exactly what storing its messages one at a time would have, and one message that fails inside
a batch costs only itself."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from samtale.channels.email import ingest
from samtale.channels.email.ingest import process_pending
from samtale.channels.email.models import RawEmail
from samtale.channels.email.smtpd import Listener
from samtale.core.events import Event
from samtale.core.models import AuditLog
from samtale.inbox import queries
from samtale.inbox.models import Conversation, Message, Notification
from samtale.routing.actions import configure_routing
from samtale.routing.models import RoutingTurn
from tests.channels.email.conftest import mail, send
from tests.conftest import World


def arrive(listener: Listener, count: int, prefix: str = "Batch") -> None:
    for n in range(count):
        assert send(listener, mail(f"{prefix} {n}", f"Message number {n}.", sender=f"C{n} <c{n}@example.com>")) == {}


def counts_exact(world: World) -> None:
    for user in (world.admin, world.agent, world.agent2):
        assert queries.view_counts(world.support, user) == queries.view_counts_exact(world.support, user)


def test_a_batch_is_one_transaction_with_one_audit_insert_and_no_savepoints(
    world_tx: World, listener: Listener
) -> None:
    arrive(listener, 6)
    with CaptureQueriesContext(connection) as seen:
        assert process_pending(100) == 6
    statements = [q["sql"] for q in seen.captured_queries]
    assert not [s for s in statements if s.upper().startswith("SAVEPOINT")]
    assert len([s for s in statements if s.startswith('INSERT INTO "core_auditlog"')]) == 1
    assert AuditLog.objects.filter(verb="message.received").count() == 6
    assert Message.objects.filter(conversation__subject__startswith="Batch").count() == 6
    assert set(RawEmail.objects.values_list("state", flat=True)) == {"done"}
    counts_exact(world_tx)


def test_a_message_that_fails_inside_a_batch_costs_only_itself(
    world_tx: World, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ingest.process

    def fails_for_one(raw: RawEmail, parsed: Any, inbound: Any) -> Any:
        if parsed.subject == "Batch 2":
            raise OverflowError("a bug this message finds")
        return real(raw, parsed, inbound)

    monkeypatch.setattr(ingest, "process", fails_for_one)
    arrive(listener, 5)
    assert process_pending(100) == 5
    subjects = sorted(Conversation.objects.values_list("subject", flat=True))
    assert subjects == ["(unreadable message)", "Batch 0", "Batch 1", "Batch 3", "Batch 4"]
    assert set(RawEmail.objects.values_list("state", flat=True)) == {"done"}
    failed = RawEmail.objects.get(message__conversation__subject="(unreadable message)")
    assert "OverflowError" in failed.error
    # what the rolled-back batch counted, audited and published is gone with it: each once
    assert AuditLog.objects.filter(verb="message.received").count() == 5
    counts_exact(world_tx)


def test_round_robin_stays_fair_inside_a_batch(world_tx: World, listener: Listener, published: list[Event]) -> None:
    configure_routing(world_tx.email, acting_user=world_tx.admin, users=[world_tx.agent, world_tx.agent2])
    arrive(listener, 6)
    assert process_pending(100) == 6
    # each assignment notification published once, after the commit, with its row's id
    notified = [e.data["notification_id"] for e in published if e.type == "notification.created"]
    assert sorted(notified) == sorted(Notification.objects.values_list("pk", flat=True)) and len(notified) == 6
    owners = list(Conversation.objects.values_list("owner_id", flat=True))
    assert sorted(owners) == sorted([world_tx.agent.pk] * 3 + [world_tx.agent2.pk] * 3)
    assert dict(RoutingTurn.objects.values_list("user_id", "assigned")) == {world_tx.agent.pk: 3, world_tx.agent2.pk: 3}
    assert Notification.objects.filter(user=world_tx.agent, kind="assignment").count() == 3
    assert AuditLog.objects.filter(verb="conversation.assigned").count() == 6
    counts_exact(world_tx)
    # and the next batch goes on from where this one left off
    arrive(listener, 2, prefix="Later")
    assert process_pending(100) == 2
    later = Conversation.objects.filter(subject__startswith="Later").values_list("owner_id", flat=True)
    assert sorted(later) == sorted([world_tx.agent.pk, world_tx.agent2.pk])


def test_capacity_holds_inside_a_batch(world_tx: World, listener: Listener) -> None:
    configure_routing(world_tx.email, acting_user=world_tx.admin, users=[world_tx.agent, world_tx.agent2], capacity=1)
    arrive(listener, 4)
    assert process_pending(100) == 4
    owners = sorted(o or 0 for o in Conversation.objects.values_list("owner_id", flat=True))
    assert owners == sorted([0, 0, world_tx.agent.pk, world_tx.agent2.pk])
    counts_exact(world_tx)


def test_the_same_message_twice_in_one_batch_is_stored_once(world_tx: World, listener: Listener) -> None:
    twice = mail("Sent twice", "Retransmitted by a confused server.", Message_ID="<twice@example.com>")
    send(listener, twice)
    arrive(listener, 2)
    send(listener, twice)
    assert process_pending(100) == 4
    assert Message.objects.filter(external_id="twice@example.com").count() == 1
    assert Message.objects.count() == 3
    assert set(RawEmail.objects.values_list("state", flat=True)) == {"done"}


def test_a_message_tried_before_is_claimed_alone(world_tx: World, listener: Listener) -> None:
    """It may be what took its last worker down: its batch-mates must not pay attempts for it."""
    arrive(listener, 4)
    first = RawEmail.objects.order_by("id").first()
    assert first is not None
    RawEmail.objects.filter(pk=first.pk).update(attempts=1)
    claims = ingest._claim_batch(16)
    try:
        assert [c.raw.pk for c in claims] == [first.pk]
    finally:
        ingest._release(claims)
    RawEmail.objects.filter(pk=first.pk).update(claimed_by="")
    assert process_pending(100) == 4
    attempts = dict(RawEmail.objects.values_list("pk", "attempts"))
    assert attempts.pop(first.pk) == 3  # the earlier try, the claim above, the batch's
    assert set(attempts.values()) == {1}


def test_messages_of_one_batch_thread_with_each_other_in_either_order(world_tx: World, listener: Listener) -> None:
    """Threading lookups are read once per batch; what the batch itself stores must count too."""
    send(listener, mail("Lamp", "It flickers", Message_ID="<p1@example.com>"))
    send(listener, mail("Re: Lamp", "Still", Message_ID="<p2@example.com>", In_Reply_To="<p1@example.com>"))
    # the answer before the message it answers (mail is not delivered in order)
    send(listener, mail("Re: Door", "Fixed?", Message_ID="<d2@example.com>", In_Reply_To="<d1@example.com>"))
    send(listener, mail("Door", "It squeaks", Message_ID="<d1@example.com>"))
    assert process_pending(100) == 4
    lamp = {m.conversation_id for m in Message.objects.filter(external_id__in=["p1@example.com", "p2@example.com"])}
    door = {m.conversation_id for m in Message.objects.filter(external_id__in=["d1@example.com", "d2@example.com"])}
    assert len(lamp) == 1 and len(door) == 1 and lamp != door
    assert Conversation.objects.count() == 2


def test_a_batch_is_searchable_once_indexed_and_hidden_text_stays_out(world_tx: World, listener: Listener) -> None:
    """PostgreSQL queues a batch's text for the index (tokenised after the commit, by `search.drain`,
    which the ingest loop's indexer runs); SQLite indexes it in the transaction. Either way every
    message is found once indexed, and a message hidden before its text was indexed stays hidden."""
    from samtale.inbox import search
    from samtale.inbox.actions import hide_message
    from samtale.inbox.models import SearchBacklog

    send(listener, mail("Lamp", "The lamp flickers", Message_ID="<s1@example.com>"))
    send(listener, mail("Door", "The door squeaks", Message_ID="<s2@example.com>"))
    assert process_pending(100) == 2
    queued = SearchBacklog.objects.count()
    assert queued == (2 if connection.vendor == "postgresql" else 0)
    assert search.drain() == queued and not SearchBacklog.objects.exists()
    every = Conversation.objects.all()
    lamp = Conversation.objects.get(subject="Lamp")
    assert list(search.matching(every, "flickers")) == [lamp]
    send(listener, mail("Re: Lamp", "Now it buzzes", Message_ID="<s3@example.com>", In_Reply_To="<s1@example.com>"))
    send(listener, mail("Re: Lamp", "And it smokes", Message_ID="<s4@example.com>", In_Reply_To="<s1@example.com>"))
    assert process_pending(100) == 2
    hide_message(Message.objects.get(external_id="s4@example.com"), acting_user=world_tx.admin)
    search.drain()
    assert list(search.matching(every, "flickers buzzes")) == [lamp]
    assert list(search.matching(every, "smokes")) == []
    assert list(search.matching(every, "squeaks")) == [Conversation.objects.get(subject="Door")]
