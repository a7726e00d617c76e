"""The chat transcript by email, received by a real local SMTP server."""

from __future__ import annotations

import email
from email import policy

import pytest
from django.core.exceptions import ValidationError

from samtale.channels.email.tasks import send_transcript
from samtale.channels.email.transcript import request_transcript, send
from samtale.inbox import actions
from tests.channels.email.conftest import Outbox
from tests.conftest import World


def test_a_chat_transcript_is_mailed_from_the_inboxs_email_channel(world_tx: World, outbox: Outbox) -> None:
    chat = world_tx.inbound("Chat", text="Hei, jeg trenger hjelp", sender="", channel=world_tx.chat, name="Besøkende")
    actions.receive_inbound(  # the agent's chat answer (chat delivery is the chat channel's own)
        world_tx.chat,
        actions.InboundMessage(
            text="Hva gjelder det?", conversation=chat, author=world_tx.agent, sender_name="Bob Agent"
        ),
    )
    actions.add_comment(chat, acting_user=world_tx.agent, text="internal note, never mailed")
    assert send(chat.pk, "visitor@example.com", "nb") == "sent"
    sent = email.message_from_bytes(outbox.messages[-1].data, policy=policy.default)
    assert outbox.messages[-1].rcpt_tos == ["visitor@example.com"]
    assert sent["Subject"] == f"Din samtale med {world_tx.support.name}"
    assert "support@acme.test" in sent["From"] and sent["Auto-Submitted"] == "auto-generated"
    text = sent.get_body(("plain",)).get_content()
    assert text.index("Hei, jeg trenger hjelp") < text.index("Hva gjelder det?")
    assert "Bob Agent" in text and "internal note" not in text
    assert "Hva gjelder det?" in sent.get_body(("html",)).get_content()


def test_requesting_a_transcript_checks_access_and_address(world_tx: World) -> None:
    from django.http import Http404
    from django_tasks_db.models import DBTaskResult

    chat = world_tx.inbound("Chat", text="hi", sender="", channel=world_tx.chat)
    with pytest.raises(ValidationError):
        request_transcript(chat, to="not-an-address", acting_user=world_tx.agent)
    with pytest.raises(Http404):
        request_transcript(chat, to="v@example.com", acting_user=world_tx.outsider)
    request_transcript(chat, to="v@example.com", acting_user=world_tx.agent, language="en")
    queued = DBTaskResult.objects.get(task_path=send_transcript.module_path)
    assert queued.args_kwargs["args"] == [chat.pk, "v@example.com", "en", ""]


def test_no_transcript_is_ever_built_from_an_address_the_account_has_not_proven(
    world_tx: World, outbox: Outbox
) -> None:
    """Held, correctly, for mail in; and never a sender: not for the visitor's transcript, not for
    the team's "Send chat transcript", not for a transcript queued before the proof was lost."""
    from samtale.inbox.models import Channel

    foreign = actions.create_inbox(
        world_tx.account, acting_user=world_tx.admin, name="Other company's", members=[world_tx.agent]
    )
    actions.create_channel(foreign, acting_user=world_tx.admin, kind="email", name="theirs", address="ceo@bank.example")
    chat_channel = actions.create_channel(foreign, acting_user=world_tx.admin, kind="chat", name="chat")
    chat = world_tx.inbound("Chat", text="hi", sender="", channel=chat_channel)
    with pytest.raises(ValidationError, match="no confirmed email address"):
        request_transcript(chat, to="v@example.com", acting_user=world_tx.agent)
    with pytest.raises(ValidationError, match="no confirmed email address"):
        request_transcript(chat, to="v@example.com", acting_user=None, confirm_link="http://x/")
    # queued while proven, then the proof is lost (another account proved the address)
    ours = world_tx.inbound("Chat", text="hi", sender="", channel=world_tx.chat)
    request_transcript(ours, to="v@example.com", acting_user=world_tx.agent)
    Channel.objects.filter(pk=world_tx.email.pk).update(verified_at=None)
    assert send(ours.pk, "v@example.com") == "not sent"
    assert outbox.messages == []


def test_a_queued_reply_is_not_sent_from_an_address_that_lost_its_proof(world_tx: World, outbox: Outbox) -> None:
    from samtale.channels.email.outbound import deliver
    from samtale.inbox.models import Channel, Message

    conversation = world_tx.inbound("Question", sender="kunde@example.com")
    reply = actions.reply_to_conversation(conversation, acting_user=world_tx.agent, text="Answer")
    Channel.objects.filter(pk=world_tx.email.pk).update(verified_at=None)
    assert deliver(reply.pk) == "failed"
    reply = Message.objects.get(pk=reply.pk)
    assert "not confirmed" in reply.delivery_error and outbox.messages == []
