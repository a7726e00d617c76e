"""A corpus of real-world-shaped messages over real SMTP: every one stored exactly once, none lost."""

from __future__ import annotations

from samtale.channels.email.ingest import process_pending
from samtale.channels.email.models import RawEmail
from samtale.channels.email.smtpd import Listener
from samtale.inbox.models import Attachment, Message
from tests.channels.email import corpus
from tests.channels.email.conftest import send
from tests.conftest import World


def test_every_message_of_the_corpus_is_stored_exactly_once(world_tx: World, listener: Listener) -> None:
    messages = corpus.corpus()
    for _name, raw in messages:
        assert send(listener, raw) == {}
    assert process_pending(1000) == len(messages)
    assert RawEmail.objects.filter(state="done").count() == len(messages)
    assert Message.objects.count() == len(messages)  # the two different messages sharing an id included
    for _name, raw in messages:  # the same mail delivered again (a retry, or IMAP after SMTP)
        send(listener, raw)
    process_pending(1000)
    assert Message.objects.count() == len(messages)

    by_subject = {m.conversation.subject: m for m in Message.objects.select_related("conversation")}
    outlook = by_subject["Spørsmål om faktura"]
    assert outlook.sender_name == "Bjørn Ås" and "spørsmål om fakturaen" in outlook.text
    assert "Fra:" not in outlook.html and "Fra:" in outlook.quoted_html  # Outlook's quoted part trimmed
    assert "unvollständig" in by_subject["Grüße aus Köln"].text
    cp = by_subject["Price – €100"]
    assert "€100" in cp.text and "“quoted”" in cp.text
    assert Attachment.objects.get(message=cp).file.read().decode("koi8-r") == "Привет"
    assert "Café" in by_subject["Unknown charset"].text or "Caf" in by_subject["Unknown charset"].text
    assert Attachment.objects.get(message=by_subject["Contract (rich text)"]).filename == "winmail.dat"
    inline = Attachment.objects.get(message=by_subject["Screenshot of the error"])
    assert inline.inline and inline.content_id == "img1@icloud.example" and inline.content_type == "image/png"
    assert 'data-src="cid:img1@icloud.example"' in by_subject["Screenshot of the error"].html
    assert "device that sets no Message-ID" in by_subject["No id here"].text
    broken = Message.objects.get(text__contains="Headers are broken but the body is fine.")
    assert broken.external_id == "headers-broken@example.com" and broken.conversation.subject  # a subject shown
    assert (
        Message.objects.filter(text__contains="binary without encoding").exists()
        or Attachment.objects.filter(message__conversation__subject="Broken MIME").exists()
    )  # malformed MIME: the parts that could be read are kept
    hostile = by_subject["Hostile HTML"].html
    for bad in ("<script", "onerror", "javascript:", "<iframe", "<svg", "<form", "<object", "<meta", "style="):
        assert bad not in hostile, bad
    assert 'data-src="https://tracker.evil.example/pixel.gif?u=1"' in hostile and ' src="' not in hostile


def test_a_20_mb_attachment(world_tx: World, listener: Listener) -> None:
    raw = corpus.big_attachment()
    assert len(raw) > 27_000_000  # base64 of 20 MB
    assert send(listener, raw) == {}
    process_pending(10)
    attachment = Attachment.objects.get(filename="drawing.dwg")
    assert attachment.size == 20 * 1024 * 1024
    assert attachment.file.size == 20 * 1024 * 1024  # stored whole (peak memory: bench/email_ingest.py)
