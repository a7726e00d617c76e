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
    assert queued.args_kwargs["args"] == [chat.pk, "v@example.com", "en"]
