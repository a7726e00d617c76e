"""One message from anyone must never stop intake: hostile MIME is bounded, every step of ingest
falls back to an "unreadable message" with its source, and a message that still cannot be stored
is parked (visible to admins, retryable) instead of blocking the ones behind it."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from samtale.channels.email import inbound, ingest, skeleton
from samtale.channels.email import parse as parse_module
from samtale.channels.email.ingest import MAX_ATTEMPTS, process_pending
from samtale.channels.email.models import RawEmail
from samtale.channels.email.parse import parse
from samtale.channels.email.smtpd import Listener
from samtale.inbox.models import Attachment, Conversation, Message
from tests.channels.email.conftest import mail, send
from tests.conftest import World

HEAD = b"From: Mallory <mallory@example.com>\r\nTo: support@acme.test\r\nSubject: %s\r\nMIME-Version: 1.0\r\n"


def nested_multiparts(levels: int) -> bytes:
    """~640 KB at 600 levels: each level a multipart holding the next (RecursionError before)."""
    out = [HEAD % b"deep", b"X-Pad: " + b"p" * 900 + b"\r\n"]
    for i in range(levels):
        out.append(b'Content-Type: multipart/mixed; boundary="level-%d"\r\n\r\n' % i)
        out.append(b"filler " * 120 + b"\r\n--level-%d\r\n" % i)
    out.append(b"Content-Type: text/plain\r\n\r\nthe innermost text\r\n")
    out.extend(b"--level-%d--\r\n" % i for i in reversed(range(levels)))
    return b"".join(out)


def nested_messages(levels: int) -> bytes:
    """message/rfc822 inside message/rfc822, `levels` deep."""
    out = [HEAD % b"forwarded"]
    for _i in range(levels):
        out.append(b"Content-Type: message/rfc822\r\n\r\nFrom: x@example.com\r\nSubject: inner\r\n")
    out.append(b"Content-Type: text/plain\r\n\r\ninnermost\r\n")
    return b"".join(out)


def many_parts(count: int) -> bytes:
    parts = b"".join(b"--wide\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(count))
    return HEAD % b"wide" + b'Content-Type: multipart/mixed; boundary="wide"\r\n\r\n' + parts + b"--wide--\r\n"


def huge_header_block() -> bytes:
    return HEAD % b"headers" + b"X-Junk: " + b"a" * 900 + b"\r\n" + b"X-More: b\r\n" * 40_000 + b"\r\nbody text\r\n"


HOSTILE = {
    "600 nested multiparts": nested_multiparts(600),
    "3000 nested attached messages": nested_messages(3000),
    "20,000 parts": many_parts(20_000),
    "a 500 KB header block": huge_header_block(),
    "unterminated boundaries": HEAD % b"open" + b'Content-Type: multipart/mixed; boundary="a"\r\n\r\n--a\r\n' * 3000,
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_message_becomes_a_conversation_and_the_next_one_still_arrives(
    name: str, world_tx: World, listener: Listener
) -> None:
    assert send(listener, HOSTILE[name]) == {}
    assert send(listener, mail("Right behind it", "A normal customer message.")) == {}
    assert process_pending(10) == 2
    assert RawEmail.objects.filter(state="done").count() == 2
    assert Conversation.objects.filter(subject="Right behind it").exists()
    hostile = Message.objects.exclude(conversation__subject="Right behind it").get()
    assert hostile.conversation.inbox_id == world_tx.support.pk


def test_deep_nesting_is_kept_whole_as_an_attachment_not_parsed_into() -> None:
    parsed = parse(nested_multiparts(600))
    try:
        assert "nested deeper" in parsed.broken
        [kept] = parsed.attachments
        assert kept.filename == "nested-part.eml" and kept.path is not None
        assert b"the innermost text" in kept.path.read_bytes()  # nothing of the message is lost
    finally:
        parsed.discard()


def test_parts_beyond_the_bound_are_kept_as_one_attachment() -> None:
    parsed = parse(many_parts(2_000))
    try:
        # the first text parts are the body, in order (up to its bound); the rest of the parts
        # up to the skeleton's bound are files, then everything after is one file: nothing lost
        shown = parsed.text.split("\n\n")
        assert shown == [f"part {n}" for n in range(len(shown))] and len(shown) == parse_module._MAX_SEGMENTS
        assert len(parsed.attachments) == skeleton.MAX_PARTS - len(shown)
        assert parsed.attachments[0].payload.strip() == f"part {len(shown)}".encode()
        rest = parsed.attachments[-1]
        assert rest.filename == "remaining-parts.eml" and rest.path is not None
        assert b"part 1999" in rest.path.read_bytes()
    finally:
        parsed.discard()


def test_a_failure_anywhere_in_ingest_still_stores_the_message_with_its_source(
    world_tx: World, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = inbound.process

    def threading_fails(raw: RawEmail, parsed: Any, prepared: Any) -> Any:
        if parsed.subject == "Breaks threading":
            raise RuntimeError("database hiccup while threading")
        return real(raw, parsed, prepared)

    monkeypatch.setattr(ingest, "process", threading_fails)
    send(listener, mail("Breaks threading", "secret body"))
    send(listener, mail("Fine", "ok"))
    assert process_pending(10) == 2
    unreadable = Conversation.objects.get(subject="(unreadable message)")
    source = Attachment.objects.get(message__conversation=unreadable)
    assert source.filename == "original.eml" and b"Subject: Breaks threading" in source.file.read()
    raw = RawEmail.objects.get(message__conversation=unreadable)
    assert raw.state == "done" and "database hiccup" in raw.error
    assert Conversation.objects.filter(subject="Fine").exists()


def test_a_message_that_cannot_be_stored_at_all_is_parked_and_an_admin_can_retry_it(
    world_tx: World, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    from samtale.inbox import actions as inbox_actions

    real = inbox_actions.receive_inbound
    broken = {"on": True}

    def refuses_poison(channel: Any, message: Any) -> Any:
        if broken["on"] and ("Poison" in message.subject or message.subject == "(unreadable message)"):
            raise RuntimeError("storage is broken for this one")
        return real(channel, message)

    monkeypatch.setattr(inbox_actions, "receive_inbound", refuses_poison)
    send(listener, mail("Poison", "x"))
    send(listener, mail("Behind the poison", "y"))
    assert process_pending(10) == 2
    poison = RawEmail.objects.get(state="parked")
    assert "storage is broken" in poison.error and poison.parked_at is not None
    assert Conversation.objects.filter(subject="Behind the poison").exists()
    assert process_pending(10) == 0  # parked: out of the queue, never retried on its own

    admin, agent = Client(), Client()
    admin.force_login(world_tx.admin)
    agent.force_login(world_tx.noperm)
    page = admin.get("/settings/mail-intake/")
    assert (
        page.status_code == 200 and "Poison" in page.content.decode() and "storage is broken" in page.content.decode()
    )
    notice = admin.get(f"/inbox/{world_tx.support.pk}/").content.decode().split('id="intake-notice"')[1][:400]
    assert "1 message could not be processed" in notice
    assert agent.post(f"/settings/mail-intake/{poison.pk}/retry/").status_code == 403
    source = admin.get(f"/settings/mail-intake/{poison.pk}/source/")
    assert source.status_code == 200 and b"Subject: Poison" in b"".join(source.streaming_content)

    broken["on"] = False  # the fix is deployed
    assert admin.post(f"/settings/mail-intake/{poison.pk}/retry/").status_code in (200, 204, 302)
    poison.refresh_from_db()
    assert (poison.state, poison.attempts) == ("pending", 0)
    assert process_pending(10) == 1
    assert Conversation.objects.filter(subject="Poison").exists()


def test_another_accounts_parked_message_is_404(world_tx: World, listener: Listener) -> None:
    send(listener, mail("Theirs", "x", to="mail@evil.test"), rcpt="mail@evil.test")
    raw = RawEmail.objects.get()
    RawEmail.objects.filter(pk=raw.pk).update(state="parked")
    admin = Client()
    admin.force_login(world_tx.admin)
    assert admin.get(f"/settings/mail-intake/{raw.pk}/source/").status_code == 404
    assert admin.post(f"/settings/mail-intake/{raw.pk}/retry/").status_code == 404
    assert "Theirs" not in admin.get("/settings/mail-intake/").content.decode()


def test_a_message_that_keeps_killing_its_worker_is_parked_after_its_attempts(
    world_tx: World, listener: Listener
) -> None:
    send(listener, mail("Crashes the parser", "x"))
    send(listener, mail("Next", "y"))
    crashing = RawEmail.objects.order_by("id").first()
    assert crashing is not None
    # Each attempt is counted (committed) before the work starts; a worker that died mid-way left
    # this message pending with its attempts used up.
    RawEmail.objects.filter(pk=crashing.pk).update(attempts=MAX_ATTEMPTS, claimed_by="1:gone:1")
    assert process_pending(10) == 2
    crashing.refresh_from_db()
    assert crashing.state == "parked" and f"{MAX_ATTEMPTS} attempts" in crashing.error
    assert Conversation.objects.filter(subject="Next").exists()


def test_a_claim_of_a_living_worker_is_respected_and_one_of_a_dead_worker_taken_over(
    world_tx: World, listener: Listener
) -> None:
    send(listener, mail("Claimed", "x"))
    raw = RawEmail.objects.get()
    if connection.vendor == "postgresql":
        import psycopg
        from django.conf import settings

        db = settings.DATABASES["default"]
        other = psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"], autocommit=True)  # fmt: skip
        other.execute("SELECT pg_advisory_lock(%s)", [ingest._LOCK_SPACE + raw.pk])
        assert process_pending(10) == 0  # another worker holds it
        other.close()  # that worker's connection is gone (it died): its lock went with it
    else:
        holder = threading.Thread(target=threading.Event().wait, args=(5,), daemon=True)
        holder.start()
        RawEmail.objects.filter(pk=raw.pk).update(claimed_by=f"{ingest._me().rsplit(':', 1)[0]}:{holder.native_id}")
        assert process_pending(10) == 0  # a living thread of this process holds it
        RawEmail.objects.filter(pk=raw.pk).update(claimed_by="999999999:12345:1")  # a process that is gone
    assert process_pending(10) == 1
    assert Conversation.objects.filter(subject="Claimed").exists()


def test_two_workers_at_once_store_every_message_exactly_once(world_tx: World, listener: Listener) -> None:
    for n in range(30):
        send(listener, mail(f"Parallel {n}", f"body {n}"))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while process_pending(5):
                pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert Message.objects.count() == 30
    assert RawEmail.objects.filter(state="done").count() == 30
    assert set(RawEmail.objects.values_list("attempts", flat=True)) == {1}
