"""Receiving over real SMTP: who may be written to, the size limit, storage before 250, parsing."""

from __future__ import annotations

import smtplib

import pytest
from django.test import override_settings

from samtale.channels.email.ingest import process_pending
from samtale.channels.email.models import RawEmail
from samtale.channels.email.smtpd import Listener
from samtale.inbox.models import Attachment, Conversation, Message
from tests.channels.email.conftest import deliver, mail, send
from tests.conftest import World


def test_mail_for_a_connected_address_becomes_a_conversation(world_tx: World, listener: Listener) -> None:
    refused = send(listener, mail("Where is my order?", "Order 1234 has not arrived."))
    assert refused == {}
    raw = RawEmail.objects.get()
    assert raw.state == "pending" and raw.channel_id == world_tx.email.pk  # stored before the 250
    assert process_pending() == 1
    conversation = Conversation.objects.get(subject="Where is my order?")
    message = conversation.messages.get()
    assert (message.sender_address, message.sender_name, message.direction) == ("kunde@example.com", "Kari Kunde", "in")
    assert "Order 1234" in message.text and conversation.contact.email == "kunde@example.com"
    raw.refresh_from_db()
    assert raw.state == "done" and raw.message_id == message.pk


def test_unknown_recipients_get_550_and_a_tag_reaches_the_channel(world_tx: World, listener: Listener) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(listener, mail(to="nobody@acme.test"), rcpt="nobody@acme.test")
    assert refused.value.recipients["nobody@acme.test"][0] == 550
    # one good and one bad recipient: accepted for the good one only
    refusals = send(listener, mail(), rcpt=["nobody@acme.test", "Support+anything@acme.test"])
    assert refusals["nobody@acme.test"][0] == 550
    assert RawEmail.objects.count() == 1


def test_too_large_is_552_and_nothing_is_stored(world_tx: World) -> None:
    with override_settings(SAMTALE_MAX_MESSAGE_BYTES=200_000):
        server = Listener("127.0.0.1", 0).start()
        try:
            big = mail(body="x" * 300_000)
            with pytest.raises((smtplib.SMTPDataError, smtplib.SMTPSenderRefused)) as error:
                send(server, big)
            assert error.value.smtp_code == 552
        finally:
            server.stop()
    assert not RawEmail.objects.exists()


def test_html_is_sanitized_and_attachments_and_quotes_are_kept(world_tx: World, listener: Listener) -> None:
    m = mail("Invoice", "See attached.\n\nOn Mon, 2 Nov 2026 Kari wrote:\n> old text\n> more")
    m.add_alternative(
        '<p>See <b>attached</b>.<img src="https://tracker.example/p.gif" onerror="alert(1)"></p>'
        '<script>alert(2)</script><a href="javascript:alert(3)">x</a>'
        '<div class="gmail_quote">On Mon Kari wrote:<blockquote>old text</blockquote></div>',
        subtype="html",
    )
    m.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="faktura 12.pdf")
    deliver(listener, m)
    message = Message.objects.get()
    assert "<script" not in message.html and "onerror" not in message.html and "javascript:" not in message.html
    assert "attached" in message.html and "old text" not in message.html
    assert "old text" in message.quoted_html
    assert ' src="https://tracker' not in message.html and 'data-src="https://tracker.example/p.gif"' in message.html
    attachment = Attachment.objects.get(message=message)
    assert (attachment.filename, attachment.content_type, attachment.size) == ("faktura 12.pdf", "application/pdf", 13)
    assert attachment.file.read() == b"%PDF-1.4 fake"


def test_a_message_that_cannot_be_parsed_still_arrives_with_its_source(world_tx: World, listener: Listener) -> None:
    raw = b"\x00\xff\xfe garbage without headers \x80\x81\r\n\r\n\xff body"
    deliver(listener, raw)
    message = Message.objects.get()
    assert message.conversation.inbox_id == world_tx.support.pk
    stored = RawEmail.objects.get()
    assert stored.state == "done" and bytes(stored.data) == raw + b"\r\n"  # the original, as sent, is kept


def test_lmtp_delivery_from_a_local_mta(world_tx: World) -> None:
    from tests.e2e.conftest import free_port

    port = free_port()
    server = Listener("127.0.0.1", 0, lmtp_port=port).start()
    try:
        with smtplib.LMTP("127.0.0.1", port, timeout=30) as client:
            refused = client.sendmail("kunde@example.com", ["support@acme.test"], mail("Via LMTP").as_bytes())
        assert refused == {}
        with smtplib.LMTP("127.0.0.1", port, timeout=30) as client, pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail("kunde@example.com", ["nobody@acme.test"], mail("No").as_bytes())
    finally:
        server.stop()
    assert RawEmail.objects.get().source == "lmtp"
    process_pending()
    assert Conversation.objects.get().subject == "Via LMTP"


def test_view_original_and_attachment_downloads(world_tx: World, listener: Listener) -> None:
    from django.test import Client

    m = mail("Files", "see files", Message_ID="<files@example.com>")
    m.add_attachment(b"<script>alert(1)</script>", maintype="text", subtype="html", filename="page.html")
    deliver(listener, m)
    message = Message.objects.get()
    agent, outsider = Client(), Client()
    agent.force_login(world_tx.agent)
    outsider.force_login(world_tx.outsider)
    source = agent.get(f"/m/{message.pk}/source/")
    assert source.status_code == 200 and source["Content-Type"].startswith("text/plain")
    assert b"Message-ID: <files@example.com>" in b"".join(source.streaming_content)
    assert outsider.get(f"/m/{message.pk}/source/").status_code == 404
    attachment = Attachment.objects.get(message=message)
    download = agent.get(f"/attachments/{attachment.pk}/?inline=1")  # HTML is never shown inline
    assert download.status_code == 200 and download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"].startswith("attachment") and "page.html" in download["Content-Disposition"]
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content) == b"<script>alert(1)</script>"
    assert outsider.get(f"/attachments/{attachment.pk}/").status_code == 404
