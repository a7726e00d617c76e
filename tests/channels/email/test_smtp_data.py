"""The listener's DATA handling: read in blocks into a spool, dot-stuffing undone, pipelined
commands kept, large messages streamed to a file, the size limit, LMTP's reply per recipient."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samtale.channels.email import store
from samtale.channels.email.ingest import process_pending
from samtale.channels.email.models import RawEmail
from samtale.channels.email.smtpd import Listener, Spool, read_data
from samtale.inbox.models import Attachment, Message
from tests.channels.email.conftest import mail, send
from tests.conftest import World


def stuff(body: bytes) -> bytes:
    """What a client sends for `body` (CRLF lines): dots doubled at line starts, then the end."""
    lines = body.split(b"\r\n")
    return b"\r\n".join(b"." + line if line.startswith(b".") else line for line in lines) + b".\r\n"


class Conversation:
    """A raw SMTP/LMTP session over a socket, to say exactly what smtplib would not."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buffer = b""
        self.reply()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> bytes:
        """One complete reply (all its continuation lines)."""
        while True:
            while b"\r\n" not in self.buffer:
                chunk = self.sock.recv(65536)
                assert chunk, "connection closed"
                self.buffer += chunk
            lines = self.buffer.split(b"\r\n")
            for n, line in enumerate(lines[:-1]):
                if line[3:4] != b"-":
                    reply = b"\r\n".join(lines[: n + 1])
                    self.buffer = b"\r\n".join(lines[n + 1 :])
                    return reply
            chunk = self.sock.recv(65536)
            assert chunk, "connection closed"
            self.buffer += chunk

    def command(self, line: str) -> bytes:
        self.send(line.encode() + b"\r\n")
        return self.reply()

    def close(self) -> None:
        self.sock.close()


MESSAGE = (
    b"From: kunde@example.com\r\nTo: support@acme.test\r\nSubject: Dots\r\nMessage-ID: <dots@example.com>\r\n\r\n"
    b".starts with a dot\r\n..two dots\r\n.\r\nalone above was a dot\r\nends with a dot.\r\n" + b"y" * 5000 + b"\r\n"
)


def test_dot_stuffing_long_lines_and_pipelined_quit(world_tx: World, listener: Listener) -> None:
    smtp = Conversation(listener.port)
    assert smtp.command("HELO client").startswith(b"250")
    assert smtp.command("MAIL FROM:<kunde@example.com>").startswith(b"250")
    assert smtp.command("RCPT TO:<support@acme.test>").startswith(b"250")
    assert smtp.command("DATA").startswith(b"354")
    smtp.send(stuff(MESSAGE) + b"QUIT\r\n")  # the next command in the same packet as the end
    assert smtp.reply().startswith(b"250")
    assert smtp.reply().startswith(b"221")
    smtp.close()
    raw = RawEmail.objects.get()
    assert raw.read() == MESSAGE and raw.size == len(MESSAGE) and not raw.file
    process_pending()
    text = Message.objects.get().text
    assert ".starts with a dot\n..two dots\n.\nalone above" in text


def test_the_listener_keeps_accepting_after_losing_its_database_connection(
    world_tx: World, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listener's writer keeps one connection; when it breaks (PostgreSQL: the server ends
    it, as on a restart; SQLite: its handle is closed under the writer), the next messages are
    stored over a new one and still acknowledged."""
    assert send(listener, mail("First", Message_ID="<first@example.com>")) == {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert cursor.fetchone()[0] >= 1  # the writer's connection, at least
    else:
        store_batch, broken = store.store_batch, []

        def on_a_closed_handle(batch: list[store.Incoming]) -> list[list[int]]:
            if not broken:  # runs in the writer thread: close its own connection's handle once
                broken.append(True)
                connection.connection.close()
            return store_batch(batch)

        monkeypatch.setattr(store, "store_batch", on_a_closed_handle)
    assert send(listener, mail("Second", Message_ID="<second@example.com>")) == {}
    assert send(listener, mail("Third", Message_ID="<third@example.com>")) == {}
    if connection.vendor != "postgresql":
        assert broken, "the writer's connection was not broken"
    assert RawEmail.objects.count() == 3
    process_pending()
    assert sorted(Message.objects.values_list("external_id", flat=True)) == [
        "first@example.com", "second@example.com", "third@example.com",
    ]  # fmt: skip


def test_a_large_message_is_streamed_to_a_file_and_read_back_whole(world_tx: World, listener: Listener) -> None:
    payload = os.urandom(3 * 1024 * 1024)
    big = mail("Large", body="See attached")
    big.add_attachment(payload, maintype="application", subtype="octet-stream", filename="big.bin")
    data = big.as_bytes()
    assert send(listener, big) == {}
    raw = RawEmail.objects.get()
    assert raw.file and not bytes(raw.data) and raw.size > 4_000_000
    assert Path(raw.file.path).is_file()
    process_pending()
    attachment = Attachment.objects.get(filename="big.bin")
    with attachment.file.open("rb") as handle:
        assert handle.read() == payload
    assert raw.read().replace(b"\r\n", b"\n") == data.replace(b"\r\n", b"\n")
    assert not list(store.spool_directory().glob("*.eml"))  # nothing left behind


def test_552_when_data_exceeds_the_limit_without_a_declared_size(world_tx: World) -> None:
    with override_settings(SAMTALE_MAX_MESSAGE_BYTES=1_500_000):
        server = Listener("127.0.0.1", 0).start()
        try:
            smtp = Conversation(server.port)
            smtp.command("HELO client")  # no EHLO: no SIZE declared, so only DATA can tell
            smtp.command("MAIL FROM:<kunde@example.com>")
            smtp.command("RCPT TO:<support@acme.test>")
            assert smtp.command("DATA").startswith(b"354")
            smtp.send(stuff(b"Subject: too big\r\n\r\n" + (b"z" * 998 + b"\r\n") * 2000))
            assert smtp.reply().startswith(b"552")
            # the session goes on: a message within the limit is accepted on the same connection
            smtp.command("MAIL FROM:<kunde@example.com>")
            smtp.command("RCPT TO:<support@acme.test>")
            smtp.command("DATA")
            smtp.send(stuff(b"Subject: fine\r\n\r\nsmall\r\n"))
            assert smtp.reply().startswith(b"250")
            smtp.close()
        finally:
            server.stop()
    assert RawEmail.objects.count() == 1 and b"Subject: fine" in RawEmail.objects.get().read()
    assert not list(store.spool_directory().glob("*.eml"))


def test_a_connection_lost_during_data_stores_nothing(world_tx: World, listener: Listener) -> None:
    smtp = Conversation(listener.port)
    smtp.command("HELO client")
    smtp.command("MAIL FROM:<kunde@example.com>")
    smtp.command("RCPT TO:<support@acme.test>")
    smtp.command("DATA")
    smtp.send(b"Subject: cut off\r\n\r\n" + b"w" * 2_000_000 + b"\r\n")  # past the memory part: a spool file
    smtp.close()
    for _ in range(100):
        if not list(store.spool_directory().glob("*.eml")):
            break
        time.sleep(0.05)
    assert not list(store.spool_directory().glob("*.eml"))
    assert not RawEmail.objects.exists()


def test_lmtp_answers_once_per_recipient_and_each_account_gets_its_copy(world_tx: World) -> None:
    from tests.e2e.conftest import free_port

    port = free_port()
    server = Listener("127.0.0.1", 0, lmtp_port=port).start()
    try:
        lmtp = Conversation(port)
        assert lmtp.command("LHLO mta").startswith(b"250")
        lmtp.command("MAIL FROM:<kunde@example.com>")
        assert lmtp.command("RCPT TO:<support@acme.test>").startswith(b"250")
        assert lmtp.command("RCPT TO:<mail@evil.test>").startswith(b"250")
        assert lmtp.command("RCPT TO:<nobody@acme.test>").startswith(b"550")
        assert lmtp.command("DATA").startswith(b"354")
        lmtp.send(stuff(b"Subject: two accounts\r\n\r\nhello\r\n"))
        assert lmtp.reply().startswith(b"250") and lmtp.reply().startswith(b"250")
        assert lmtp.command("NOOP").startswith(b"250")  # and nothing else was waiting
        lmtp.close()
    finally:
        server.stop()
    rows = RawEmail.objects.order_by("account_id")
    assert [r.account_id for r in rows] == sorted([world_tx.account.pk, world_tx.other_account.pk])


def feed(chunks: list[bytes], limit: int, size_limit: int | None) -> tuple[bool, bytes, bytes]:
    async def run() -> tuple[bool, bytes, bytes]:
        reader = asyncio.StreamReader(limit=limit)
        for chunk in chunks:
            reader.feed_data(chunk)
        reader.feed_data(b"NEXT\r\n")
        reader.feed_eof()
        spool = Spool(memory=4096)
        fits = await read_data(reader, spool, size_limit)
        content = spool.content()
        body = content if isinstance(content, bytes) else content.read_bytes()
        if isinstance(content, Path):
            content.unlink()
        return fits, body, await reader.read()

    with ThreadPoolExecutor(1) as pool:  # a thread of its own: a browser test may have a loop running here
        return pool.submit(asyncio.run, run()).result()


lines = st.lists(
    st.one_of(st.sampled_from([b"", b".", b"..", b". ", b".x", b"x.", b"\r", b"a\rb", b"a\nb"]),
              st.binary(max_size=300).map(lambda b: b.replace(b"\r\n", b"")).filter(lambda b: not b.endswith(b"\r"))),
    max_size=40,
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=lines, cuts=st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=8),
       limit=st.sampled_from([5, 16, 100, 4096]))  # fmt: skip
def test_read_data_gives_back_exactly_what_was_sent_however_it_arrives(
    lines: list[bytes], cuts: list[int], limit: int
) -> None:
    body = b"".join(line + b"\r\n" for line in lines)
    wire = stuff(body)
    chunks, at, n = [], 0, 0
    while at < len(wire):
        size = cuts[n % len(cuts)]
        chunks.append(wire[at : at + size])
        at, n = at + size, n + 1
    fits, got, rest = feed(chunks, limit, None)
    assert fits and got == body and rest == b"NEXT\r\n"
    if body:
        fits, got, rest = feed(chunks, limit, len(body) - 1)
        assert not fits and rest == b"NEXT\r\n"


def test_read_data_spools_to_a_file_past_the_memory_size() -> None:
    body = b"".join(b"line %d\r\n" % n for n in range(5000))
    fits, got, _rest = feed([stuff(body)], 1024, None)
    assert fits and got == body


@pytest.mark.parametrize("message", [b"", b"x\r\n"])
def test_read_data_tiny_messages(message: bytes) -> None:
    assert feed([stuff(message)], 1024, None) == (True, message, b"NEXT\r\n")
