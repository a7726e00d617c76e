"""Long threads: a page of the newest entries first, earlier ones by cursor (issue 11, item 2 and
thread paging) — on the screen, in the fragment that loads earlier entries, and in the API."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.http import Http404
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from samtale.inbox import queries
from samtale.inbox.models import Attachment, Comment, Conversation, Message
from tests.conftest import World


def long_thread(world: World, messages: int, comments_every: int = 10, ties: bool = False) -> Conversation:
    """A conversation of `messages` inbound messages, a comment every `comments_every`, one minute
    apart (with `ties`: every second message shares its minute with the one before, and each
    comment shares the minute of a message)."""
    conversation = world.inbound("Long", text="message 0", sender="long@example.com")
    start = timezone.now() - timedelta(days=30)
    Message.objects.filter(conversation=conversation).update(created_at=start)
    base = {"account": world.account, "conversation": conversation, "direction": "in", "channel_kind": "email"}
    rows, notes = [], []
    for i in range(1, messages):
        at = start + timedelta(minutes=(i // 2 if ties else i))
        rows.append(Message(**base, text=f"message {i}", html=f"<p>message {i}</p>", sender_address="long@example.com",
                            created_at=at))  # fmt: skip
        if i % comments_every == 0:
            notes.append(Comment(account=world.account, conversation=conversation, author=world.agent,
                                 text=f"note {i}", created_at=at))  # fmt: skip
    Message.objects.bulk_create(rows)
    Comment.objects.bulk_create(notes)
    return conversation


def names(thread: queries.Thread) -> list[str]:
    return [e.text for _kind, e in thread.entries]


def every_page(conversation: Conversation, limit: int) -> list[str]:
    seen: list[str] = []
    page = queries.thread(conversation, limit=limit)
    while True:
        seen = names(page) + seen
        if page.before is None:
            assert page.earlier == 0
            return seen
        assert page.earlier > 0
        page = queries.thread(conversation, limit=limit, before=page.before)


def test_the_first_page_is_the_newest_and_the_pages_cover_the_thread_once(world: World) -> None:
    conversation = long_thread(world, 75)
    whole = names(queries.thread(conversation, limit=None))
    assert len(whole) == 75 + 7
    first = queries.thread(conversation)
    assert names(first) == whole[-queries.THREAD_PAGE :]
    assert first.earlier == len(whole) - queries.THREAD_PAGE
    assert [m.text for m in first.messages][-1] == "message 74"  # time order within the page
    for limit in (1, 7, 30, 200):
        assert every_page(conversation, limit) == whole


def test_entries_at_the_same_instant_are_neither_lost_nor_doubled(world: World) -> None:
    conversation = long_thread(world, 41, comments_every=3, ties=True)
    whole = names(queries.thread(conversation, limit=None))
    for limit in (1, 2, 3, 5):
        assert every_page(conversation, limit) == whole


def test_a_permalink_opens_the_thread_at_its_message(world: World) -> None:
    conversation = long_thread(world, 80)
    target = Message.objects.get(conversation=conversation, text="message 5")
    page = queries.thread(conversation, from_message=target.pk)
    assert names(page)[0] == "message 5" and len(page.entries) == queries.THREAD_PAGE
    assert page.later and page.earlier == 5
    assert names(queries.thread(conversation, before=page.before, limit=50)) == [f"message {i}" for i in range(5)]
    other = world.inbound("Other")
    assert names(queries.thread(conversation, from_message=world.first_message(other).pk)) == names(
        queries.thread(conversation)
    )  # a message of another thread is no anchor


def test_a_thread_page_costs_the_same_queries_at_any_length(world: World) -> None:
    short, long = long_thread(world, 40), long_thread(world, 400)

    def cost(conversation: Conversation) -> int:
        with CaptureQueriesContext(connection) as ctx:
            page = queries.thread(conversation)
            assert len(page.entries) == queries.THREAD_PAGE
        return len(ctx.captured_queries)

    assert cost(short) == cost(long)


def test_the_conversation_page_shows_the_newest_and_loads_earlier(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    conversation = long_thread(world, 75)
    client: Client = client_for(world.agent)
    page = client.get(f"/inbox/{world.support.pk}/v/all_open/c/{conversation.pk}/").content.decode()
    assert "message 74" in page and "message 73" in page
    assert ">message 10<" not in page and "note 10" not in page
    earlier = 75 + 7 - queries.THREAD_PAGE
    assert f"Show {earlier} earlier" in page
    url = re.search(r'data-url="(/c/\d+/earlier/\?before=[^"]+)"', page)
    assert url is not None
    fragment = client.get(url.group(1).replace("&amp;", "&"), HTTP_HX_REQUEST="true").content.decode()
    texts = re.findall(r"message \d+|note \d+", fragment)
    assert texts[-1] == "message 47" and len(set(texts)) == queries.THREAD_PAGE
    assert f"Show {earlier - queries.THREAD_PAGE} earlier" in fragment
    # a live refresh keeps what the agent opened; a permalink opens at its message
    since = queries.thread(conversation, before=queries.thread(conversation).before).first_cursor
    refreshed = client.get(f"/c/{conversation.pk}/?part=body&since={since}", HTTP_HX_REQUEST="true").content.decode()
    assert ">message 19<" not in refreshed and ">message 20<" in refreshed and "message 74" in refreshed
    assert "Show 22 earlier" in refreshed
    target = Message.objects.get(conversation=conversation, text="message 3")
    linked = client.get(f"/inbox/{world.support.pk}/v/all_open/c/{conversation.pk}/?message={target.pk}")
    body = linked.content.decode()
    assert f'id="message-{target.pk}"' in body and "Show 3 earlier" in body
    assert "Show the newest messages" in body and "message 74" not in body


def test_the_earlier_fragment_refuses_bad_cursors_and_other_accounts(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    conversation = long_thread(world, 40)
    client: Client = client_for(world.agent)
    for bad in ("", "x", "bm90fGF8Y3Vyc29y", "A" * 500):
        r = client.get(f"/c/{conversation.pk}/earlier/?before={bad}", HTTP_HX_REQUEST="true")
        assert r.status_code == 400 and "position" in r.content.decode()
    cursor = queries.thread(conversation).before
    assert client_for(world.outsider).get(f"/c/{conversation.pk}/earlier/?before={cursor}").status_code == 404


def test_the_api_pages_a_thread_by_cursor(world: World) -> None:
    conversation = long_thread(world, 120)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {world.token(world.agent)}")
    detail = api.get(f"/api/v1/conversations/{conversation.pk}").json()
    assert len(detail["messages"]) + len(detail["comments"]) == 50
    assert detail["messages"][-1]["text"] == "message 119" and detail["earlier"] == 120 + 11 - 50
    seen = [m["text"] for m in detail["messages"]]
    cursor = detail["earlier_cursor"]
    while cursor:
        page = api.get(f"/api/v1/conversations/{conversation.pk}/entries?before={cursor}&limit=37").json()
        seen = [m["text"] for m in page["messages"]] + seen
        cursor = page["earlier_cursor"]
    assert seen == [f"message {i}" for i in range(120)]
    newest = api.get(f"/api/v1/conversations/{conversation.pk}/entries?limit=3").json()
    assert [m["text"] for m in newest["messages"]] == ["message 117", "message 118", "message 119"]
    assert api.get(f"/api/v1/conversations/{conversation.pk}/entries?before=nope").status_code == 400
    assert api.get(f"/api/v1/conversations/{conversation.pk}/entries?limit=0").status_code == 400
    assert api.get(f"/api/v1/conversations/{conversation.pk}/entries?limit=201").status_code == 400
    foreign = Client(HTTP_AUTHORIZATION=f"Bearer {world.token(world.outsider)}")
    assert foreign.get(f"/api/v1/conversations/{conversation.pk}/entries").status_code == 404


def test_every_value_a_sender_or_teammate_writes_is_escaped_on_the_thread(world: World, client_for: Any) -> None:
    """The thread's entries are written by `inbox/templatetags/entries.py`, not the template engine:
    what a sender controls (name, address, Reply-To, attachment names) and a comment's text must
    still reach the page as text, never as markup."""
    evil = '"><img src=x onerror=alert(1)>'
    conversation = world.inbound(
        "Escapes", text="hi", sender="kari@example.com", name=f"Kari {evil}", reply_to=f"x{evil}@example.com"
    )
    message = world.first_message(conversation)
    Attachment.objects.create(
        account=world.account, message=message, filename=f"bill{evil}.pdf", content_type="application/pdf", size=2048
    )
    Comment.objects.create(account=world.account, conversation=conversation, author=world.agent,
                           text=f"line one {evil}\nline two <b>bold</b>", created_at=timezone.now())  # fmt: skip
    page = client_for(world.agent).get(f"/c/{conversation.pk}/", headers={"HX-Request": "true"}).content.decode()
    entries = page[page.index('id="entries"') : page.index("</ol>", page.index('id="entries"'))]
    assert "<img src=x" not in entries and "<b>bold" not in entries
    escaped = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
    assert f"Kari {escaped}" in entries  # the name
    assert f"bill{escaped}.pdf" in entries  # the attachment, in its link and download name
    assert f"line one {escaped}<br>line two &lt;b&gt;bold&lt;/b&gt;" in entries  # the comment, lines kept
    assert "2.0\xa0KB" in entries and f'id="message-{message.pk}"' in entries


def test_screens_count_the_earlier_entries_only_up_to_a_cap(world: World, client_for: Any, monkeypatch: Any) -> None:
    """Counting every entry before the page read the whole thread's index (the one part of opening a
    thread that grew with its length): screens stop counting at `EARLIER_COUNTED` and say "N+"."""
    conversation = long_thread(world, 75)  # 82 entries: 52 before the first page
    exact = queries.thread(conversation)
    assert (exact.earlier, exact.earlier_capped) == (52, False)
    capped = queries.thread(conversation, counted_up_to=20)
    assert (capped.earlier, capped.earlier_capped) == (20, True) and capped.before == exact.before
    assert names(capped) == names(exact)
    assert queries.thread(conversation, counted_up_to=52).earlier_capped  # exactly the cap: a floor
    assert not queries.thread(conversation, counted_up_to=53).earlier_capped
    client = client_for(world.agent)
    monkeypatch.setattr(queries, "EARLIER_COUNTED", 20)
    page = client.get(f"/c/{conversation.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "Show earlier (20+)" in page and "Show 52 earlier" not in page
    monkeypatch.setattr(queries, "EARLIER_COUNTED", 1000)
    assert "Show 52 earlier" in client.get(f"/c/{conversation.pk}/", HTTP_HX_REQUEST="true").content.decode()


def test_a_thread_opens_at_the_first_entry_new_to_the_reader(world: World) -> None:
    conversation = long_thread(world, 75)  # the notes are the agent's own
    at = {m.text: m for m in Message.objects.filter(conversation=conversation)}
    agent = world.agent.pk

    def opened(read_to: Any, reader: int = agent) -> queries.Thread:
        return queries.thread(conversation, read_to=read_to, reader_id=reader)

    assert opened(None).first_unread is None  # never opened: at the newest
    assert opened(at["message 74"].created_at).first_unread is None  # read to the end
    page = opened(at["message 70"].created_at)
    assert page.first_unread == ("message", at["message 71"].pk) and names(page)[-1] == "message 74"
    # the reader's own entries are not news to them: note 70 (the agent's) shares message 70's minute
    page = opened(at["message 69"].created_at)
    assert page.first_unread == ("message", at["message 70"].pk)
    note = Comment.objects.get(conversation=conversation, text="note 70")
    assert opened(at["message 69"].created_at, reader=world.admin.pk).first_unread in (
        ("message", at["message 70"].pk),
        ("comment", note.pk),
    )
    # further back than the newest page: a page starting there, the newest below it
    page = opened(at["message 5"].created_at)
    assert page.first_unread == ("message", at["message 6"].pk)
    assert names(page)[0] == "message 6" and page.later and page.earlier == 6
    # a redraw or a permalink is never re-anchored
    assert queries.thread(conversation, since=page.first_cursor, read_to=None).first_unread is None


def test_the_page_marks_what_the_agent_has_read_and_shows_where_the_new_begins(world: World, client_for: Any) -> None:
    from samtale.inbox.actions import mark_read
    from samtale.inbox.models import ReadMark

    conversation = long_thread(world, 12)
    url = f"/inbox/{world.support.pk}/v/all_open/c/{conversation.pk}/"
    agent: Client = client_for(world.agent)
    first = agent.get(url).content.decode()
    assert 'id="first-unread"' not in first  # never opened: the newest, nothing marked new
    newest = Message.objects.filter(conversation=conversation).order_by("-created_at").first()
    assert newest is not None
    assert ReadMark.objects.get(user=world.agent, conversation=conversation).read_to == newest.created_at
    fresh = Message.objects.create(
        account=world.account, conversation=conversation, direction="in", channel_kind="email",
        text="a new question", html="<p>a new question</p>", sender_address="long@example.com",
        created_at=timezone.now(),
    )  # fmt: skip
    page = agent.get(url).content.decode()
    divider = page.index('id="first-unread"')
    assert divider < page.index(f'id="message-{fresh.pk}"') and page.index(f'id="message-{newest.pk}"') < divider
    assert 'id="first-unread"' not in agent.get(url).content.decode()  # read now
    # another teammate's reading is their own
    admin: Client = client_for(world.admin)
    assert 'id="first-unread"' not in admin.get(url).content.decode()
    assert ReadMark.objects.filter(conversation=conversation).count() == 2
    # a live redraw counts as read only when the page says the agent can see it
    later = Message.objects.create(
        account=world.account, conversation=conversation, direction="in", channel_kind="email",
        text="and another", sender_address="long@example.com", created_at=timezone.now() + timedelta(seconds=1),
    )  # fmt: skip
    since = queries.thread(conversation).first_cursor
    agent.get(f"/c/{conversation.pk}/?part=body&since={since}", HTTP_HX_REQUEST="true")
    assert ReadMark.objects.get(user=world.agent, conversation=conversation).read_to == fresh.created_at
    agent.get(f"/c/{conversation.pk}/?part=body&since={since}&seen=1", HTTP_HX_REQUEST="true")
    assert ReadMark.objects.get(user=world.agent, conversation=conversation).read_to == later.created_at
    # the mark never moves back, and another account's conversation is refused
    assert not mark_read(world.agent, conversation, up_to=fresh.created_at)
    assert ReadMark.objects.get(user=world.agent, conversation=conversation).read_to == later.created_at
    evil = world.inbound("Evil", channel=world.other_email)
    with pytest.raises(Http404):
        mark_read(world.agent, evil, up_to=timezone.now())
