from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from samtale.inbox import actions, queries
from samtale.inbox.models import Conversation
from tests.conftest import World


def found(world: World, **filters) -> set[int]:  # type: ignore[no-untyped-def]
    qs = queries.conversation_queryset(world.support, world.agent, "all_open", queries.Filters(**filters))
    return set(qs.values_list("pk", flat=True))


def test_keyword_search_covers_subject_bodies_and_contact(world: World) -> None:
    invoice = world.inbound(
        "Faktura for oktober", text="Beløpet stemmer ikke", sender="ola@firma.no", name="Ola Nordmann"
    )
    login = world.inbound("Login trouble", text="The page reloads", sender="grace@example.org", name="Grace Hopper")
    actions.reply_to_conversation(login, acting_user=world.agent, text="Try clearing the zebrafish cookie")
    assert found(world, q="faktura") == {invoice.pk}
    assert found(world, q="beløpet") == {invoice.pk}
    assert found(world, q="zebrafish") == {login.pk}  # words of a later outbound message
    assert found(world, q="Hopper") == {login.pk}  # contact name
    assert found(world, q="ola@firma.no") == {invoice.pk}  # contact address
    assert found(world, q="firma") == {invoice.pk}
    assert found(world, q="fakt") == {invoice.pk}  # prefix, as typed
    assert found(world, q="login reloads") == {login.pk}  # every word must match
    assert found(world, q="login faktura") == set()


def test_search_ignores_query_syntax(world: World) -> None:
    c = world.inbound('Quotes "and" stars*', text="OR NOT NEAR(a b)")
    for q in ['"', "*", "NEAR(", "a OR", "-", "(", "stars*", "' OR 1=1 --"]:
        found(world, q=q)  # must not raise
    assert c.pk in found(world, q="stars*")


def test_filters_combine_with_search(world: World) -> None:
    a = world.inbound("Refund please", sender="a@example.com")
    b = world.inbound("Refund now", sender="b@example.com", channel=world.chat)
    c = world.inbound("Refund later", sender="c@example.com")
    actions.assign_conversation(a, acting_user=world.agent, owner=world.agent)
    actions.close_conversation(c, acting_user=world.agent)
    assert found(world, q="refund") == {a.pk, b.pk, c.pk}
    assert found(world, q="refund", status="closed") == {c.pk}
    assert found(world, q="refund", channel="chat") == {b.pk}
    assert found(world, q="refund", assignee="me") == {a.pk}
    assert found(world, q="refund", assignee=str(world.agent.pk)) == {a.pk}
    assert found(world, q="refund", assignee="none") == {b.pk, c.pk}
    assert found(world, q="refund", contact=a.contact_id) == {a.pk}
    today = timezone.localdate()
    assert found(world, q="refund", date_from=today - timedelta(days=1), date_to=today + timedelta(days=1)) == {
        a.pk,
        b.pk,
        c.pk,
    }
    assert found(world, q="refund", date_from=today + timedelta(days=2)) == set()


def test_hide_trash_and_hide_filtered_are_on_by_default(world: World) -> None:
    trashed = world.inbound("Invoice copy", sender="t@example.com")
    blocked = world.inbound("Invoice spam", sender="b@example.com")
    actions.trash_conversation(trashed, acting_user=world.agent)
    actions.block_sender(blocked, acting_user=world.agent)
    assert found(world, q="invoice") == set()
    assert found(world, q="invoice", hide_trash=False) == {trashed.pk}
    assert found(world, q="invoice", hide_filtered=False) == {blocked.pk}


def test_bot_assignee_filter(world: World) -> None:
    bot = world.inbound("Hi", sender="v@example.com", channel=world.chat, bot="Triage")
    world.inbound("Hi", sender="w@example.com", channel=world.chat)
    assert found(world, assignee="bot") == {bot.pk}
    assert found(world, assignee="bot:Triage") == {bot.pk}
    assert found(world, assignee="bot:Other") == set()


def test_sort_oldest_first(world: World) -> None:
    first = world.inbound("One", sender="1@example.com")
    second = world.inbound("Two", sender="2@example.com")
    newest = list(
        queries.conversation_queryset(world.support, world.agent, "all_open", queries.Filters()).values_list(
            "pk", flat=True
        )
    )
    oldest = list(
        queries.conversation_queryset(
            world.support, world.agent, "all_open", queries.Filters(sort="oldest")
        ).values_list("pk", flat=True)
    )
    assert newest == [second.pk, first.pk] and oldest == [first.pk, second.pk]


def test_search_never_crosses_accounts(world: World) -> None:
    actions.receive_inbound(
        world.other_email, actions.InboundMessage(sender_address="x@example.com", subject="Secretword", text="x")
    )
    assert found(world, q="secretword") == set()


def test_a_search_with_few_and_with_many_matches_finds_the_same(world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    made = [world.inbound(f"Order {i}", text="parcel tracking", sender=f"o{i}@example.com").pk for i in range(6)]
    world.inbound("Other", text="nothing", sender="x@example.com")

    def paged(**filters) -> set[int]:  # type: ignore[no-untyped-def]
        page = queries.conversation_page(world.support, world.agent, "all_open", queries.Filters(**filters), limit=100)
        return {c.pk for c in page.items}

    few = paged(q="parcel")
    monkeypatch.setattr(queries, "COUNT_CAP", 2)  # now "parcel" has more matches than are counted: walked
    assert few == paged(q="parcel") == found(world, q="parcel") == set(made)
    assert paged(q="parcel order") == set(made)
    assert paged(q="parcel", status="closed") == set()


def _pages(world: World, **filters) -> list[tuple[list[int], int | None, bool]]:  # type: ignore[no-untyped-def]
    """Every page of a search, followed by cursor: (ids, count, capped) each."""
    pages, cursor = [], ""
    while True:
        page = queries.conversation_page(
            world.support, world.agent, "all_open", queries.Filters(**filters), cursor=cursor, limit=2
        )
        pages.append(([c.pk for c in page.items], page.count, page.count_capped))
        if not page.next_cursor:
            return pages
        cursor = page.next_cursor


def test_a_broad_search_walked_in_list_order_gives_the_pages_collecting_does(world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from samtale.inbox import search

    made = [world.inbound(f"Walk {i}", text="parcel tracking", sender=f"w{i}@example.com") for i in range(7)]
    for i in range(5):
        world.inbound(f"Noise {i}", text="nothing here", sender=f"n{i}@example.com")
    actions.close_conversation(made[2], acting_user=world.agent)
    cases = [{"q": "parcel"}, {"q": "parc trac"}, {"q": "parcel", "sort": "oldest"}, {"q": "parcel", "status": "closed"},
             {"q": "parcel", "status": "open"}, {"q": "nomatch"}]  # fmt: skip
    collected = [_pages(world, **case) for case in cases]  # few matches: all collected, counted exactly
    assert collected[0][0] == ([made[6].pk, made[5].pk], 7, False) and collected[3] == [([made[2].pk], 1, False)]
    assert collected[2][0][0] == [made[0].pk, made[1].pk] and collected[5] == [([], 0, False)]
    monkeypatch.setattr(queries, "COUNT_CAP", 0)  # more matches than are counted now: walked in list order
    monkeypatch.setattr(queries, "WALK_FIRST", 2)  # in several steps
    ids = [[page[0] for page in pages] for pages in collected]
    walked = [_pages(world, **case) for case in cases]
    assert [[page[0] for page in pages] for pages in walked] == ids
    assert {(count, capped) for pages in walked[:5] for _ids, count, capped in pages} == {(0, True)}  # "0+"
    monkeypatch.setattr(search, "WALK_SPREAD", 0)  # SQLite: every chunk "spread", all matches read once
    assert [[page[0] for page in pages] for pages in (_pages(world, **case) for case in cases)] == ids


def test_search_counts_are_capped(world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    for i in range(5):
        world.inbound(f"Cap {i}", text="capword", sender=f"c{i}@example.com")
    qs = queries.conversation_queryset(world.support, world.agent, "all_open", queries.Filters(q="capword"))
    page = queries.list_page(qs)
    assert page.count == 3 and page.count_capped is True and len(page.items) == 5


def _lexemes(conversation_id: int) -> tuple[set[str], set[str]]:
    """PostgreSQL: the words of the stored vector, and of the document tokenised whole now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tsvector_to_array(tsv), tsvector_to_array(to_tsvector('simple', document))"
            " FROM inbox_conversationsearch WHERE conversation_id = %s",
            [conversation_id],
        )
        stored, whole = cursor.fetchone()
    return set(stored), set(whole)


def test_a_reply_extends_the_index_and_a_rewrite_rebuilds_it(world: World) -> None:
    """A reply adds only its own words to the index (PostgreSQL tokenises just the addition);
    hiding a message rewrites the document, and its words leave the index."""
    from samtale.inbox import search
    from samtale.inbox.actions import hide_message

    conversation = world.inbound("Lamp", text="The lamp flickers at night")
    actions.receive_inbound(
        world.email,
        actions.InboundMessage(sender_address="kunde@example.com", text="Now it buzzes too", conversation=conversation),
    )
    everything = Conversation.objects.filter(account=world.account)
    assert list(search.matching(everything, "flickers buzzes")) == [conversation]
    if connection.vendor == "postgresql":
        stored, whole = _lexemes(conversation.pk)
        assert {"flickers", "buzzes", "lamp"} <= stored and stored == whole
    first = conversation.messages.order_by("id").first()
    assert first is not None
    hide_message(first, acting_user=world.admin)
    assert list(search.matching(everything, "flickers")) == []
    assert list(search.matching(everything, "buzzes")) == [conversation]
    if connection.vendor == "postgresql":
        stored, whole = _lexemes(conversation.pk)
        assert "flickers" not in stored and stored == whole


def test_a_search_started_in_trash_spam_or_filtered_includes_that_view(world: World) -> None:
    """Searching from the Trash (Spam, Filtered) finds what is there; from elsewhere those stay hidden."""
    from samtale.inbox.actions import block_sender, mark_spam, trash_conversation

    trashed = world.inbound("Old quokka invoice", sender="t@example.com")
    spam = world.inbound("Cheap quokka pills", sender="s@example.com")
    blocked = world.inbound("Quokka again", sender="b@example.com")
    trash_conversation(trashed, acting_user=world.agent)
    mark_spam(spam, acting_user=world.agent)
    block_sender(blocked, acting_user=world.admin)

    def search_in(view: str) -> set[int]:
        qs = queries.conversation_queryset(world.support, world.agent, view, queries.Filters(q="quokka"))
        return set(qs.values_list("pk", flat=True))

    assert search_in("all_open") == set()
    assert search_in("trash") == {trashed.pk}
    assert search_in("spam") == {spam.pk}
    assert search_in("filtered") == {blocked.pk}
