from __future__ import annotations

from datetime import timedelta

import pytest

from samtale.accounts import actions as account_actions
from samtale.inbox import actions, queries
from samtale.inbox.models import Conversation
from tests.conftest import World


def ids(world: World, view: str, user=None) -> set[int]:  # type: ignore[no-untyped-def]
    qs = queries.conversation_queryset(world.support, user or world.agent, view, queries.Filters())
    return set(qs.values_list("pk", flat=True))


@pytest.fixture
def spread(world: World) -> dict[str, Conversation]:
    """One conversation in every state the views distinguish."""
    c: dict[str, Conversation] = {}
    c["unassigned"] = world.inbound("Unassigned one")
    c["mine"] = world.inbound("Mine", sender="mine@example.com")
    actions.assign_conversation(c["mine"], acting_user=world.admin, owner=world.agent)
    c["other"] = world.inbound("Carol's", sender="c@example.com")
    actions.assign_conversation(c["other"], acting_user=world.admin, owner=world.agent2)
    c["chat"] = world.inbound("Chat", sender="chat@example.com", channel=world.chat)
    c["bot"] = world.inbound("Bot held", sender="bot@example.com", channel=world.chat, bot="Welcome bot")
    c["closed"] = world.inbound("Closed", sender="closed@example.com")
    actions.close_conversation(c["closed"], acting_user=world.agent)
    c["sent"] = actions.compose_conversation(
        world.email, acting_user=world.agent, to="prospect@example.com", subject="Offer", text="Here it is"
    )
    c["spam"] = world.inbound("Buy now", sender="marketing@spammy.example", spam=True)
    c["filtered"] = world.inbound("Annoying", sender="annoying@example.com")
    actions.block_sender(c["filtered"], acting_user=world.agent)
    c["trash"] = world.inbound("Old", sender="old@example.com")
    actions.trash_conversation(c["trash"], acting_user=world.agent)
    return c


def test_each_default_view_holds_exactly_its_conversations(world: World, spread: dict[str, Conversation]) -> None:
    pk = {k: v.pk for k, v in spread.items()}
    assert ids(world, "unassigned") == {pk["unassigned"], pk["chat"]}
    assert ids(world, "mine") == {pk["mine"]}
    assert ids(world, "mine", world.agent2) == {pk["other"]}
    assert ids(world, "all_open") == {pk["unassigned"], pk["mine"], pk["other"], pk["chat"], pk["bot"]}
    assert ids(world, "chat") == {pk["chat"], pk["bot"]}
    assert ids(world, "bots") == {pk["bot"]}
    assert ids(world, "email") == {pk["unassigned"], pk["mine"], pk["other"]}
    assert ids(world, "all_closed") == {pk["closed"]}
    assert ids(world, "sent") == {pk["sent"]}
    assert ids(world, "spam") == {pk["spam"]}
    assert ids(world, "filtered") == {pk["filtered"]}
    assert ids(world, "trash") == {pk["trash"]}
    assert ids(world, "messenger") == set() and ids(world, "calls") == set() and ids(world, "forms") == set()


def test_counts_match_the_views_in_one_query(
    world: World, spread: dict[str, Conversation], django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for user in (world.agent, world.agent2, world.admin):
        with django_assert_num_queries(1):
            counts = queries.view_counts(world.support, user)
        for key in queries.VIEW_KEYS:
            assert counts[key] == len(ids(world, key, user)), (key, user)
        assert counts == queries.view_counts_exact(world.support, user)


def test_kept_counts_follow_every_action(world: World, spread: dict[str, Conversation]) -> None:
    from samtale.inbox import counters

    c = spread
    actions.restore_conversation(c["trash"], acting_user=world.agent)
    actions.unmark_spam(c["spam"], acting_user=world.agent)
    actions.unblock_sender(c["filtered"], acting_user=world.agent)
    actions.reopen_conversation(c["closed"], acting_user=world.agent)
    actions.assign_conversation(c["bot"], acting_user=world.agent, owner=world.agent2)
    actions.bulk_trash(world.support, acting_user=world.agent, ids=[c["chat"].pk, c["mine"].pk])
    actions.bulk_close(world.support, acting_user=world.agent, ids=[c["other"].pk, c["unassigned"].pk])
    actions.receive_inbound(
        world.email, actions.InboundMessage(sender_address="prospect@example.com", text="ok", conversation=c["sent"])
    )
    account_actions.remove_user(world.agent2, acting_user=world.admin)
    c["chat"].refresh_from_db()
    actions.delete_conversation_forever(c["chat"], acting_user=world.agent)
    for user in (world.agent, world.agent2, world.admin):
        assert queries.view_counts(world.support, user) == queries.view_counts_exact(world.support, user)
    assert counters.recount(world.support) == 0


def test_recount_repairs_drift(world: World) -> None:
    from samtale.inbox import counters
    from samtale.inbox.models import ViewCount

    world.inbound("x")
    ViewCount.objects.filter(inbox=world.support, key="all_open").update(count=99)
    assert queries.view_counts(world.support, world.agent)["all_open"] == 99
    assert counters.recount(world.support) == 1
    assert queries.view_counts(world.support, world.agent)["all_open"] == 1


def test_keys_of_agrees_with_the_view_queries_in_every_state(world: World) -> None:
    """The Python twin of the view conditions, checked over every combination of state."""
    import itertools

    from django.utils import timezone

    from samtale.inbox import counters

    at = timezone.now()
    channels = {"email": world.email, "chat": world.chat}
    for kind in ("messenger", "form", "call"):
        channels[kind] = actions.create_channel(
            world.support, acting_user=world.admin, kind=kind, name=kind, history=True
        )
    made = []
    for kind, status, owner, bot, awaiting, spam, filtered, trashed in itertools.product(
        channels,
        ("open", "closed"),
        (None, world.agent),
        ("", "Bot"),
        (False, True),
        (None, at),
        (None, at),
        (None, at),
    ):
        made.append(
            Conversation(
                account=world.account, inbox=world.support, channel=channels[kind], channel_kind=kind, status=status,
                owner=owner, bot=bot, awaiting_first_reply=awaiting, spam_at=spam, filtered_at=filtered,
                trashed_at=trashed, created_at=at, last_activity_at=at,
            )
        )  # fmt: skip
    Conversation.objects.bulk_create(made)
    for conversation in Conversation.objects.filter(inbox=world.support):
        expected = {
            (key, world.agent.pk if key == "mine" else 0)
            for key in queries.VIEW_KEYS
            if queries.conversation_queryset(world.support, world.agent, key, queries.Filters())
            .filter(pk=conversation.pk)
            .exists()
        }
        assert counters.keys_of(conversation) == expected, conversation.__dict__


def test_a_reply_to_a_sent_email_moves_it_to_all_open(world: World, spread: dict[str, Conversation]) -> None:
    sent = spread["sent"]
    actions.receive_inbound(
        world.email,
        actions.InboundMessage(sender_address="prospect@example.com", text="Thanks, yes", conversation=sent),
    )
    assert sent.pk not in ids(world, "sent")
    assert sent.pk in ids(world, "all_open")
    assert sent.pk in ids(world, "mine")  # the sender owns it


def test_removing_a_user_unassigns_their_conversations(world: World, spread: dict[str, Conversation]) -> None:
    account_actions.remove_user(world.agent2, acting_user=world.admin)
    other = Conversation.objects.get(pk=spread["other"].pk)
    assert other.owner is None and other.removed_owner_id == world.agent2.pk
    assert other.pk in ids(world, "unassigned")
    found = queries.conversation_queryset(
        world.support, world.admin, "all_open", queries.Filters(assignee=str(world.agent2.pk), include_inactive=True)
    )
    assert other.pk in set(found.values_list("pk", flat=True))


def test_a_channel_classified_as_spam_lands_in_spam(world: World) -> None:
    """The channel decides (email: role addresses, tested over SMTP in tests/channels/email); the inbox files it."""
    assert world.inbound("Offer", sender="marketing@vendor.example", spam=True).spam_at is not None
    assert world.inbound("Question", sender="ola.nordmann@vendor.example").spam_at is None


def test_blocked_senders_future_mail_is_filtered_and_unblock_restores(world: World) -> None:
    first = world.inbound("Again", sender="pest@example.com")
    actions.block_sender(first, acting_user=world.agent)
    later = world.inbound("And again", sender="pest@example.com")
    assert later.filtered_at is not None
    restored = actions.unblock_sender(later, acting_user=world.agent)
    assert restored == 2
    assert set(Conversation.objects.filter(pk__in=[first.pk, later.pk]).values_list("filtered_at", flat=True)) == {None}
    third = world.inbound("Now fine", sender="pest@example.com")
    assert third.filtered_at is None


def test_trash_is_purged_after_thirty_days(world: World) -> None:
    import time_machine

    old = world.inbound("Old")
    fresh = world.inbound("Fresh", sender="fresh@example.com")
    actions.trash_conversation(old, acting_user=world.agent)
    with time_machine.travel(timedelta(days=20)):
        actions.trash_conversation(fresh, acting_user=world.agent)
    with time_machine.travel(timedelta(days=31)):
        from samtale.inbox.tasks import purge_trash

        assert purge_trash.call() == 1
    assert not Conversation.objects.filter(pk=old.pk).exists()
    assert Conversation.objects.filter(pk=fresh.pk).exists()


def test_paging_with_a_cursor_walks_every_conversation_once(world: World) -> None:
    made = {world.inbound(f"Subject {i}", sender=f"p{i}@example.com").pk for i in range(13)}
    seen: list[int] = []
    cursor = ""
    for _ in range(10):
        page = queries.list_page(
            queries.conversation_queryset(world.support, world.agent, "all_open", queries.Filters()),
            cursor=cursor,
            limit=5,
        )
        assert page.count == 13
        seen += [c.pk for c in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert len(seen) == 13 and set(seen) == made


def test_bot_names_are_read_by_index_seeks_not_a_scan(world: World) -> None:
    from django.db import connection

    from samtale.inbox.models import Conversation
    from samtale.inbox.queries import BOT_NAMES_SQL, bot_names

    for i, bot in enumerate(["Velkomst", "Booking", "", "Velkomst", "Avvik", "", "Booking"]):
        c = world.inbound(f"Bot {i}", sender=f"bot{i}@example.com")
        Conversation.objects.filter(pk=c.pk).update(bot=bot)
    other = world.inbound("Elsewhere", sender="x@example.com", channel=world.other_email)
    Conversation.objects.filter(pk=other.pk).update(bot="Evil bot")
    assert bot_names(world.support) == ["Avvik", "Booking", "Velkomst"]
    assert bot_names(world.support, limit=2) == ["Avvik", "Booking"]
    assert bot_names(world.other_inbox) == ["Evil bot"]
    sql = BOT_NAMES_SQL.format(table=Conversation._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # the plan as with many conversations: a tiny table is scanned anyway, and for a few rows the
            # inbox's own index is as cheap as the (inbox, bot) one (which index wins depended on the
            # table's statistics of the moment): give the inbox 3,000 more, and the planner their numbers
            template = Conversation.objects.filter(inbox=world.support).first()
            assert template is not None
            fields = {
                f.attname: getattr(template, f.attname) for f in Conversation._meta.concrete_fields if not f.primary_key
            }
            Conversation.objects.bulk_create(
                [Conversation(**{**fields, "bot": "", "subject": f"n{n}"}) for n in range(3000)]
            )
            cursor.execute(f"ANALYZE {Conversation._meta.db_table}")
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, [world.support.pk, world.support.pk, 50])
            plan = "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute("SET enable_seqscan = on")
            assert "conv_inbox_bot" in plan and "Seq Scan on inbox_conversation" not in plan, plan
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, [world.support.pk, world.support.pk, 50])
            plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
            assert "conv_inbox_bot" in plan and "SCAN inbox_conversation" not in plan, plan
