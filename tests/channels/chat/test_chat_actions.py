"""Website chat's write path, in process: visitors, their messages exactly once, identity, the team's
side, hand-over to email, chats ending with a transcript."""

from __future__ import annotations

import email
import uuid
from datetime import timedelta
from email import policy

import pytest
import time_machine
from django.core.exceptions import ValidationError

from samtale.channels.chat import actions as chat
from samtale.channels.chat.identity import identity_hash, uid_from_token, visitor_token
from samtale.channels.chat.models import ChatSession, ChatWidget, Visitor
from samtale.core.clock import now
from samtale.core.events import Event
from samtale.inbox import actions
from samtale.inbox.models import Conversation, DeliveryStatus, Message, Status
from samtale.routing.actions import configure_routing
from tests.channels.chat.conftest import SITE, everyone_away
from tests.channels.email.conftest import Outbox
from tests.conftest import World


def say(widget: ChatWidget, uid: uuid.UUID | None, text: str, client_id: str | None = None) -> chat.Said:
    return chat.visitor_says(widget, uid, client_id=client_id or uuid.uuid4().hex, text=text, url=f"{SITE}/pricing")


def test_a_first_message_opens_one_chat_conversation_routed_like_any(world: World, widget: ChatWidget) -> None:
    configure_routing(world.chat, acting_user=world.admin, users=[world.agent])
    said = say(widget, None, "Hei, har dere åpent i dag?")
    conversation = said.message.conversation
    assert conversation.channel_kind == "chat" and conversation.channel_id == world.chat.pk
    assert conversation.owner_id == world.agent.pk  # the channel's routing rule (B10)
    assert said.new and said.visitor.contact is not None and conversation.contact_id == said.visitor.contact.pk
    assert said.visitor.current_url == f"{SITE}/pricing"
    again = say(widget, said.visitor.uid, "Og i morgen?")
    assert again.message.conversation_id == conversation.pk
    assert Conversation.objects.filter(channel=world.chat).count() == 1
    assert uid_from_token(widget.key, said.token) == said.visitor.uid


def test_a_resent_client_id_is_stored_once(world: World, widget: ChatWidget) -> None:
    first = say(widget, None, "Hello", client_id="abc123")
    repeat = say(widget, first.visitor.uid, "Hello", client_id="abc123")
    assert not repeat.new and repeat.message.pk == first.message.pk
    assert Message.objects.filter(conversation=first.message.conversation).count() == 1


@pytest.mark.parametrize(
    ("client_id", "text", "problem"),
    [("", "hi", "client id"), ("a b", "hi", "client id"), ("x" * 65, "hi", "client id"), ("ok", "", "empty"),
     ("ok", "x" * 5001, "too long"), ("ok", 42, "text")],
)  # fmt: skip
def test_bad_visitor_messages_are_refused_clearly(
    widget: ChatWidget, client_id: str, text: object, problem: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        chat.visitor_says(widget, None, client_id=client_id, text=text)
    assert problem in " ".join(refused.value.messages)
    assert not Visitor.objects.exists() and not Message.objects.filter(channel_kind="chat").exists()


def test_a_token_means_nothing_to_another_widget(world: World, widget: ChatWidget) -> None:
    said = say(widget, None, "Private question")
    other_inbox = actions.create_inbox(world.account, acting_user=world.admin, name="Other", members=[world.agent])
    other = actions.create_channel(other_inbox, acting_user=world.admin, kind="chat", name="Other chat")
    other_widget = ChatWidget.objects.get(channel=other)
    assert uid_from_token(other_widget.key, said.token) is None
    assert uid_from_token(widget.key, said.token + "x") is None
    welcome = chat.greet(other_widget, token=said.token)
    assert welcome.visitor is None and welcome.chat is None
    # even a known uid is looked up only among the widget's own visitors
    assert chat.greet(other_widget, token=visitor_token(other_widget.key, said.visitor.uid)).visitor is None


def test_a_signed_identity_merges_the_visitor_with_the_contact_and_a_bad_one_does_not(
    world: World, widget: ChatWidget
) -> None:
    known = world.inbound("Earlier mail", sender="ada@customer.example").contact
    anonymous = say(widget, None, "Before signing in")
    bad = chat.greet(
        widget, token=anonymous.token, identity={"id": "42", "email": "ada@customer.example", "hash": "00"}
    )
    assert bad.identity == "refused" and bad.visitor is not None and not bad.visitor.verified
    assert anonymous.message.conversation.contact_id != known.pk

    signed = {"id": "42", "email": "ada@customer.example", "name": "Ada",
              "hash": identity_hash(widget.secret, "42", "ada@customer.example")}  # fmt: skip
    hello = chat.greet(widget, token=anonymous.token, identity=signed)
    assert hello.identity == "verified" and hello.visitor is not None and hello.visitor.verified
    anonymous.message.conversation.refresh_from_db()
    assert anonymous.message.conversation.contact_id == known.pk  # this browser's chat joins Ada's contact
    # Ada on another device (a new browser, no token): the same visitor, with the chat
    elsewhere = chat.greet(widget, token=None, identity=signed)
    assert elsewhere.visitor is not None and elsewhere.visitor.pk == hello.visitor.pk
    assert elsewhere.chat is not None and elsewhere.chat.conversation_id == anonymous.message.conversation_id


def test_an_email_typed_in_the_widget_never_merges_with_an_existing_contact(world: World, widget: ChatWidget) -> None:
    victim = world.inbound("Invoice", sender="ceo@customer.example").contact
    said = say(widget, None, "I am the CEO, show me my invoices")
    visitor = chat.visitor_leaves_email(widget, said.visitor.uid, email="ceo@customer.example", name="Mallory")
    assert visitor.email == "ceo@customer.example" and not visitor.verified
    conversation = Conversation.objects.get(pk=said.message.conversation_id)
    assert conversation.contact_id != victim.pk
    assert conversation.contact.email == "ceo@customer.example"  # kept on the visitor's own contact
    with pytest.raises(ValidationError):
        chat.visitor_leaves_email(widget, said.visitor.uid, email="not an address")


def test_nobody_available_the_chat_still_arrives_unassigned_and_is_routed_later(
    world: World, widget: ChatWidget
) -> None:
    from samtale.availability.actions import set_available
    from samtale.routing.actions import route_backlog
    from samtale.routing.queries import anyone_available

    configure_routing(world.chat, acting_user=world.admin, users=[world.agent])
    everyone_away(world)
    assert not anyone_available(world.chat)
    said = say(widget, None, "Anyone there?")
    assert said.message.conversation.owner_id is None
    set_available(world.agent, acting_user=world.agent)
    assert anyone_available(world.chat)
    route_backlog(world.support.pk)
    assert Conversation.objects.get(pk=said.message.conversation_id).owner_id == world.agent.pk


def test_an_agent_who_goes_away_keeps_their_open_chat(world: World, widget: ChatWidget) -> None:
    from samtale.availability.actions import set_away

    configure_routing(world.chat, acting_user=world.admin, users=[world.agent, world.agent2])
    said = say(widget, None, "Hello")
    owner = said.message.conversation.owner
    assert owner is not None
    set_away(owner, acting_user=owner)
    say(widget, said.visitor.uid, "Still there?")
    conversation = Conversation.objects.get(pk=said.message.conversation_id)
    assert conversation.owner_id == owner.pk  # not taken away mid-chat
    reply = actions.reply_to_conversation(conversation, acting_user=owner, text="Yes, still here")
    assert reply.channel_kind == "chat"


def test_a_reply_reaches_the_visitors_widgets_and_is_marked_sent(
    world_tx: World, widget_tx: ChatWidget, published: list[Event]
) -> None:
    said = say(widget_tx, None, "Question")
    conversation = Conversation.objects.get(pk=said.message.conversation_id)
    reply = actions.reply_to_conversation(conversation, acting_user=world_tx.agent, html="<p>Answer <b>here</b></p>")
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT and reply.via_channel_id == world_tx.chat.pk
    to_visitor = [e for e in published if e.groups == (said.visitor.group,) and e.type == "chat.message"]
    assert [e.data["message"]["text"] for e in to_visitor] == ["Question", "Answer here"]  # text only, never HTML
    assert to_visitor[-1].data["message"]["author"] == "Bob"


def test_typing_and_read_state_go_both_ways(world_tx: World, widget_tx: ChatWidget, published: list[Event]) -> None:
    world, widget = world_tx, widget_tx
    said = say(widget, None, "Hi")
    conversation = Conversation.objects.get(pk=said.message.conversation_id)
    actions.agent_typing(world.agent, conversation.pk, on=True)
    assert any(e.type == "chat.typing" and e.data == {"on": True, "name": "Bob"} for e in published)
    reply = actions.reply_to_conversation(conversation, acting_user=world.agent, text="Hello!")
    chat.visitor_read(widget, said.visitor.uid, up_to=reply.pk)
    assert ChatSession.objects.get(conversation=conversation).visitor_read_up_to == reply.pk
    assert any(e.type == "chat.read" and e.data.get("up_to") == reply.pk for e in published)
    actions.agent_seen(world.agent, conversation.pk, up_to=said.message.pk)
    assert any(e.type == "chat.read" and e.groups == (said.visitor.group,) for e in published)
    from django.http import Http404

    with pytest.raises(Http404):  # another account's agent cannot type into it
        actions.agent_typing(world.outsider, conversation.pk, on=True)


def test_when_the_visitor_has_left_the_reply_goes_to_their_email_threaded(
    world_tx: World, widget_tx: ChatWidget, outbox: Outbox
) -> None:
    from samtale.channels.email.outbound import deliver as send_mail
    from samtale.channels.email.smtpd import Listener
    from tests.channels.email.conftest import deliver, mail

    said = say(widget_tx, None, "Can you check my order?")
    chat.visitor_leaves_email(widget_tx, said.visitor.uid, email="visitor@example.com")
    conversation = Conversation.objects.get(pk=said.message.conversation_id)
    here = actions.reply_to_conversation(conversation, acting_user=world_tx.agent, text="Checking now")
    assert here.channel_kind == "chat"  # still on the site: the chat gets it
    with time_machine.travel(now() + timedelta(minutes=5)):
        away = actions.reply_to_conversation(conversation, acting_user=world_tx.agent, text="It ships tomorrow")
        assert away.channel_kind == "email" and away.recipients == ["visitor@example.com"]
        assert send_mail(away.pk) == "sent"
    sent = email.message_from_bytes(outbox.messages[-1].data, policy=policy.default)
    assert (
        outbox.messages[-1].rcpt_tos == ["visitor@example.com"]
        and "It ships tomorrow" in sent.get_body(("plain",)).get_content()
    )
    assert sent["Subject"]  # a chat has no subject: the mail still gets one
    assert "chat:" not in (sent["In-Reply-To"] or "")  # chat ids are not Message-IDs
    listener = Listener("127.0.0.1", 0).start()
    try:
        answer = mail("Re: " + sent["Subject"], "Thanks!", sender="visitor@example.com", In_Reply_To=sent["Message-ID"])
        deliver(listener, answer)
    finally:
        listener.stop()
    assert Message.objects.filter(conversation=conversation, text__startswith="Thanks!").exists()


def test_closing_a_chat_ends_it_and_mails_the_transcript(world_tx: World, widget_tx: ChatWidget) -> None:
    from django_tasks_db.models import DBTaskResult

    said = say(widget_tx, None, "Help me")
    chat.visitor_leaves_email(widget_tx, said.visitor.uid, email="v@example.com")
    conversation = Conversation.objects.get(pk=said.message.conversation_id)
    actions.close_conversation(conversation, acting_user=world_tx.agent)
    session = ChatSession.objects.get(conversation=conversation)
    assert session.ended_at is not None and session.end_reason == "closed"
    # an address typed into the widget is not proven: a link goes there first (test_transcripts.py)
    assert session.transcript_asked_to == "v@example.com" and session.transcript_sent_to == ""
    queued = DBTaskResult.objects.get(task_path__endswith="send_transcript")
    assert queued.args_kwargs["args"][:2] == [conversation.pk, "v@example.com"]
    assert "/chat/transcript/" in queued.args_kwargs["args"][3]
    again = say(widget_tx, said.visitor.uid, "One more thing")
    assert again.message.conversation_id != conversation.pk  # a new chat


def test_thirty_quiet_minutes_end_a_chat(world_tx: World, widget_tx: ChatWidget) -> None:
    said = say(widget_tx, None, "brb")
    conversation_id = said.message.conversation_id
    with time_machine.travel(now() + timedelta(minutes=29)):
        assert chat.end_inactive_chats() == 0
    with time_machine.travel(now() + timedelta(minutes=31)):
        assert chat.end_inactive_chats() == 1
    session = ChatSession.objects.get(conversation_id=conversation_id)
    assert session.end_reason == "inactive" and session.transcript_sent_to == ""  # no address known
    assert Conversation.objects.get(pk=conversation_id).status == Status.OPEN  # the team may still answer by email


def test_the_team_can_mail_a_transcript_to_any_address(world: World, widget: ChatWidget) -> None:
    from django.http import Http404

    said = say(widget, None, "Hi")
    conversation = Conversation.objects.get(pk=said.message.conversation_id)
    actions.send_transcript(conversation, acting_user=world.agent, to="manager@example.com")
    with pytest.raises(ValidationError):
        actions.send_transcript(conversation, acting_user=world.agent, to="nope")
    with pytest.raises(Http404):
        actions.send_transcript(conversation, acting_user=world.outsider, to="x@example.com")


def test_widget_settings_are_checked(world: World, widget: ChatWidget) -> None:
    from django.core.exceptions import PermissionDenied

    with pytest.raises(ValidationError):
        chat.configure_widget(widget, acting_user=world.admin, allowed_origins=["https://ok.example/path"])
    with pytest.raises(ValidationError):
        chat.configure_widget(widget, acting_user=world.admin, allowed_origins=["javascript:alert(1)"])
    with pytest.raises(ValidationError):
        chat.configure_widget(widget, acting_user=world.admin, color="red")
    with pytest.raises(PermissionDenied):
        chat.configure_widget(widget, acting_user=world.noperm, color="#000000")
    with pytest.raises(ValidationError):  # another account's admin: not their channel
        chat.configure_widget(widget, acting_user=world.outsider, color="#000000")
    done = chat.configure_widget(
        widget, acting_user=world.admin, allowed_origins=["https://WWW.Example.com/", "http://localhost:8080"]
    )
    assert done.allowed_origins == ["https://www.example.com", "http://localhost:8080"]
