"""Reply-To (E1): a sender who asks for replies elsewhere gets them there, and the agent sees where
a reply goes before sending it."""

from __future__ import annotations

import email
from collections.abc import Callable
from email import policy

from django.test import Client

from samtale.accounts.models import User
from samtale.channels.email.outbound import deliver
from samtale.channels.email.smtpd import Listener
from samtale.inbox import actions
from samtale.inbox.models import Conversation, Message
from tests.channels.email.conftest import Outbox, mail
from tests.channels.email.conftest import deliver as receive
from tests.conftest import World


def test_replies_go_to_the_reply_to_address_and_the_agent_sees_it(
    world_tx: World, listener: Listener, outbox: Outbox, client_for: Callable[[User], Client]
) -> None:
    receive(listener, mail("Order 1234", "Please answer my assistant.", Reply_To="Assistant <assist@example.org>"))
    conversation = Conversation.objects.get()
    first = Message.objects.get()
    assert first.sender_address == "kunde@example.com"  # the contact is still who wrote
    assert conversation.contact is not None and conversation.contact.email == "kunde@example.com"
    assert first.reply_to == "assist@example.org"

    page = client_for(world_tx.agent).get(f"/inbox/{world_tx.support.pk}/v/all_open/c/{conversation.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "replies go to assist@example.org" in html
    assert 'id="reply-recipients"' in html and "To: assist@example.org" in html

    reply = actions.reply_to_conversation(conversation, acting_user=world_tx.agent, text="Done.")
    assert reply.recipients == ["assist@example.org"]
    assert deliver(reply.pk) == "sent"
    sent = outbox.messages[-1]
    assert sent.rcpt_tos == ["assist@example.org"]
    assert "assist@example.org" in email.message_from_bytes(sent.data, policy=policy.default)["To"]

    token = world_tx.token(world_tx.agent)
    api = Client().get(f"/api/v1/conversations/{conversation.pk}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.status_code == 200
    assert [m["reply_to"] for m in api.json()["messages"]][:1] == ["assist@example.org"]


def test_the_latest_message_decides_and_a_reply_to_equal_to_from_changes_nothing(
    world_tx: World, listener: Listener
) -> None:
    receive(listener, mail("Lamp", "It flickers", Message_ID="<l1@example.com>", Reply_To="kunde@example.com"))
    conversation = Conversation.objects.get()
    assert Message.objects.get().reply_to == ""
    assert actions.reply_to_conversation(conversation, acting_user=world_tx.agent, text="A").recipients == [
        "kunde@example.com"
    ]
    receive(listener, mail("Re: Lamp", "Write to my work address", In_Reply_To="<l1@example.com>",
                           Reply_To="kunde@work.example"))  # fmt: skip
    assert actions.reply_to_conversation(conversation, acting_user=world_tx.agent, text="B").recipients == [
        "kunde@work.example"
    ]
    # an out-of-office notice's Reply-To does not redirect the conversation
    receive(listener, mail("Auto: Re: Lamp", "I am away", In_Reply_To="<l1@example.com>", Auto_Submitted="auto-replied",
                           Reply_To="secretary@example.com"))  # fmt: skip
    assert actions.reply_to_conversation(conversation, acting_user=world_tx.agent, text="C").recipients == [
        "kunde@work.example"
    ]


def test_with_no_address_in_from_the_reply_to_is_the_contact(world_tx: World, listener: Listener) -> None:
    receive(listener, mail("Form", "Sent from a web form", sender='"Web form" <>', Reply_To="visitor@example.net"))
    conversation = Conversation.objects.get()
    assert conversation.contact is not None and conversation.contact.email == "visitor@example.net"
    assert Message.objects.get().reply_to == ""  # it is the sender: nothing else to show
    reply = actions.reply_to_conversation(conversation, acting_user=world_tx.agent, text="Thanks")
    assert reply.recipients == ["visitor@example.net"]
