"""Channels are plugins: the inbox sends through the adapter of a channel's kind. A reply that no
channel can deliver is refused with a clear message, never stored "queued" forever; "Send as"
offers only what can deliver."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from samtale.inbox import actions
from samtale.inbox.models import Message
from samtale.inbox.queries import reply_kinds
from tests.conftest import World


def test_a_reply_no_channel_can_deliver_is_refused_not_queued(world: World, client_for: Any) -> None:
    messenger = actions.create_channel(
        world.support, acting_user=world.admin, kind="messenger", name="FB", address="page-1", history=True
    )  # (a row of a kind whose package is not installed: nothing can deliver on it)
    conversation = world.inbound("Hi from Messenger", sender="", channel=messenger)
    with pytest.raises(ValidationError, match="cannot be sent on this channel yet"):
        actions.reply_to_conversation(conversation, acting_user=world.agent, text="Hello")
    r = client_for(world.agent).post(f"/c/{conversation.pk}/reply/", {"text": "Hello", "channel_kind": "messenger"})
    assert r.status_code == 400 and "cannot be sent" in r.content.decode()
    api = Client(headers={"Authorization": f"Bearer {world.token(world.agent)}"})
    r = api.post(f"/api/v1/conversations/{conversation.pk}/reply", {"text": "Hello"}, content_type="application/json")
    assert r.status_code == 400
    assert not Message.objects.filter(direction="out").exists()
    page = client_for(world.agent).get(f"/inbox/{world.support.pk}/v/all_open/c/{conversation.pk}/").content.decode()
    assert 'id="cannot-reply"' in page and 'id="reply-channel"' not in page


def test_a_chat_conversation_can_be_answered_by_email_from_the_inboxs_email_channel(world: World) -> None:
    from samtale.crm.actions import create_contact

    # as the chat channel stores it: the visitor's own contact, with the email they left
    visitor = create_contact(world.account, acting_user=None, name="Visitor", email="visitor@example.com")
    chat = world.inbound("Chat", text="hei", sender="", channel=world.chat, contact=visitor)
    assert reply_kinds(chat) == ["email"]  # chat itself cannot deliver yet; the visitor's email can
    reply = actions.reply_to_conversation(chat, acting_user=world.agent, text="Svar på e-post", channel_kind="email")
    assert (reply.channel_kind, reply.sender_address, reply.delivery_status) == ("email", "support@acme.test", "queued")
    assert reply.recipients == ["visitor@example.com"] and reply.external_id.endswith("@acme.test")


def test_an_unconfirmed_address_sends_nothing(world: World) -> None:
    sales = actions.create_inbox(world.account, acting_user=world.admin, name="Sales", members=[world.agent])
    actions.create_channel(sales, acting_user=world.admin, kind="email", name="x", address="billing@victim.example")
    with pytest.raises(ValidationError, match="not confirmed"):
        actions.compose_conversation(
            sales.channels.get(), acting_user=world.agent, to="a@example.com", subject="Hi", text="x"
        )
