"""Chatflows (E3, C9): a bot greets, asks, branches, saves answers and hands over; a bot's conversation
stays in Bots until then and closes itself after 30 quiet minutes."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError

from samtale.channels.chat import actions as chat
from samtale.channels.chat import flows
from samtale.channels.chat.models import Chatflow, ChatSession, ChatWidget
from samtale.core.clock import now
from samtale.inbox import actions
from samtale.inbox.models import Conversation, Direction, Status
from samtale.inbox.queries import Filters, conversation_queryset
from samtale.routing.actions import configure_routing
from tests.channels.chat.conftest import SITE
from tests.conftest import World

STEPS: list[dict[str, Any]] = [
    {"id": "hello", "type": "message", "text": "Hi, I am the Acme bot."},
    {"id": "topic", "type": "question", "text": "What is it about?", "buttons": ["Sales", "Support"]},
    {"id": "route", "type": "branch", "on": "topic", "cases": [{"equals": "sales", "next": "bye"}], "else": "email"},
    {"id": "email", "type": "question", "text": "Your email, please?", "save_to": "email"},
    {"id": "team", "type": "handover", "text": "Connecting you with the team…"},
    {"id": "bye", "type": "end", "text": "Our sales page has it all. Goodbye!"},
]


def make_flow(world: World, widget: ChatWidget, **kw: Any) -> Chatflow:
    return chat.save_chatflow(widget, None, acting_user=world.admin, name="Acme bot", steps=STEPS, **kw)


def say(widget: ChatWidget, uid: uuid.UUID | None, text: str, flow: int | None = None) -> chat.Said:
    return chat.visitor_says(widget, uid, client_id=uuid.uuid4().hex, text=text, url=f"{SITE}/help", flow=flow)


def texts(conversation_id: int) -> list[tuple[str, str]]:
    return [
        (m.direction, m.text)
        for m in Conversation.objects.get(pk=conversation_id).messages.order_by("created_at", "id")
    ]


def test_a_chatflow_asks_branches_saves_the_email_and_hands_over(world: World, widget: ChatWidget) -> None:
    configure_routing(world.chat, acting_user=world.admin, users=[world.agent])
    flow = make_flow(world, widget)
    picked = flows.pick(widget, f"{SITE}/help", available=True)
    assert picked == flow
    said, waiting, stop = flows.opening(flow)
    assert [s["text"] for s in said] == ["Hi, I am the Acme bot.", "What is it about?"] and waiting == "topic"
    assert said[-1]["buttons"] == ["Sales", "Support"] and stop == ""

    first = say(widget, None, "Support", flow=flow.pk)
    conversation = Conversation.objects.get(pk=first.message.conversation_id)
    assert conversation.bot == "Acme bot" and conversation.owner_id is None
    assert texts(conversation.pk) == [
        ("out", "Hi, I am the Acme bot."), ("out", "What is it about?"), ("in", "Support"), ("out", "Your email, please?"),
    ]  # fmt: skip
    bots = conversation_queryset(world.support, world.agent, "bots", Filters())
    assert list(bots.values_list("pk", flat=True)) == [conversation.pk]
    assert (
        conversation_queryset(world.support, world.agent, "all_open", Filters(assignee="bot"))
        .filter(pk=conversation.pk)
        .exists()
    )
    with pytest.raises(ValidationError):  # C9: not closed while the bot is still talking
        actions.close_conversation(conversation, acting_user=world.agent)

    say(widget, first.visitor.uid, "not an address")
    assert texts(conversation.pk)[-2:] == [
        ("out", "That does not look like an email address."),
        ("out", "Your email, please?"),
    ]
    say(widget, first.visitor.uid, "Kari@Example.com")
    conversation.refresh_from_db()
    assert conversation.bot == "" and conversation.owner_id == world.agent.pk  # handed over, routed (B10)
    assert texts(conversation.pk)[-1] == ("out", "Connecting you with the team…")
    assert conversation.contact is not None and conversation.contact.email == "kari@example.com"
    session = ChatSession.objects.get(conversation=conversation)
    assert session.handed_over_at is not None and session.flow_answers == {
        "topic": "Support",
        "email": "Kari@Example.com",
    }
    assert session.visitor.email == "kari@example.com"


def test_a_chatflow_that_ends_keeps_the_conversation_with_the_bot_until_it_closes_itself(
    world_tx: World, widget_tx: ChatWidget
) -> None:
    flow = make_flow(world_tx, widget_tx)
    first = say(widget_tx, None, "sales", flow=flow.pk)
    conversation = Conversation.objects.get(pk=first.message.conversation_id)
    assert texts(conversation.pk)[-1] == ("out", "Our sales page has it all. Goodbye!")
    assert conversation.bot == "Acme bot"
    with time_machine.travel(now() + timedelta(minutes=31)):
        assert chat.end_inactive_chats() == 1
    conversation.refresh_from_db()
    assert conversation.status == Status.CLOSED  # C9: closed itself
    assert ChatSession.objects.get(conversation=conversation).ended_at is not None


def test_which_chatflow_greets_depends_on_the_page_and_availability(world: World, widget: ChatWidget) -> None:
    pricing = chat.save_chatflow(widget, None, acting_user=world.admin, name="Pricing", url_contains="/pricing",
                                 steps=[{"type": "message", "text": "Questions about prices?"}])  # fmt: skip
    night = chat.save_chatflow(widget, None, acting_user=world.admin, name="Night", when="away", position=1,
                               steps=[{"type": "message", "text": "We are closed"}])  # fmt: skip
    assert flows.pick(widget, "https://shop.example/pricing?plan=pro", available=True) == pricing
    assert flows.pick(widget, "https://shop.example/contact", available=True) is None
    assert flows.pick(widget, "https://shop.example/contact", available=False) == night
    chat.save_chatflow(widget, pricing, acting_user=world.admin, name="Pricing", enabled=False,
                       steps=pricing.steps)  # fmt: skip
    assert flows.pick(widget, "https://shop.example/pricing", available=True) is None


@pytest.mark.parametrize(
    ("steps", "problem"),
    [([], "at least one"), ([{"type": "nope", "text": "x"}], "unknown type"), ([{"type": "message"}], "needs a text"),
     ([{"id": "a", "type": "message", "text": "x", "next": "zz"}], "not a step"),
     ([{"id": "a", "type": "message", "text": "x"}, {"id": "a", "type": "end"}], "same id"),
     ([{"type": "branch", "on": "q", "cases": []}], "branch on a question"),
     ([{"type": "question", "text": "x", "save_to": "password"}], "saved to"),
     ([{"type": "message", "text": "x" * 1001}], "too long"), ([{"type": "message", "text": "x"}] * 51, "at most"),
     ("not a list", "at least one")],
)  # fmt: skip
def test_bad_chatflows_are_refused_with_the_reason(world: World, widget: ChatWidget, steps: Any, problem: str) -> None:
    with pytest.raises(ValidationError) as refused:
        chat.save_chatflow(widget, None, acting_user=world.admin, name="Bad", steps=steps)
    assert problem in " ".join(refused.value.messages)


def test_a_looping_chatflow_stops_instead_of_spinning(world: World, widget: ChatWidget) -> None:
    loop = chat.save_chatflow(widget, None, acting_user=world.admin, name="Loop", steps=[
        {"id": "a", "type": "message", "text": "again", "next": "b"},
        {"id": "b", "type": "message", "text": "and again", "next": "a"},
    ])  # fmt: skip
    said, waiting, stop = flows.opening(loop)
    assert len(said) == flows.MAX_RUN and waiting == "" and stop == "end"


def test_a_flow_of_another_widget_cannot_be_started(world: World, widget: ChatWidget) -> None:
    other_inbox = actions.create_inbox(world.account, acting_user=world.admin, name="Other", members=[world.agent])
    other = ChatWidget.objects.get(
        channel=actions.create_channel(other_inbox, acting_user=world.admin, kind="chat", name="x")
    )
    foreign = make_flow(world, other)
    said = say(widget, None, "hello", flow=foreign.pk)
    conversation = Conversation.objects.get(pk=said.message.conversation_id)
    assert conversation.bot == "" and conversation.messages.filter(direction=Direction.OUTBOUND).count() == 0
