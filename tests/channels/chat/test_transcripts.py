"""A visitor's "Email me this chat" must not make the company a mail relay: a chat goes by itself
only to an address the visitor has proven; any other gets a link first, with nothing the visitor
wrote in it, and a chat can only ever be mailed to one such address; limits per client address and
per installation. Mail goes through a real local SMTP server."""

from __future__ import annotations

import email
import re
import uuid
from email import policy
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django_tasks_db.models import DBTaskResult

from samtale.channels.chat import actions as chat
from samtale.channels.chat.identity import identity_hash
from samtale.channels.chat.models import ChatSession, ChatWidget, Visitor
from samtale.channels.email.tasks import send_transcript
from samtale.channels.email.transcript import send
from samtale.inbox.models import Conversation
from tests.channels.chat.conftest import SITE
from tests.channels.email.conftest import Outbox
from tests.conftest import World

SPAM = "Cheap watches at http://evil.example/buy — reply with your bank details"


def say(widget: ChatWidget, uid: uuid.UUID | None, text: str) -> chat.Said:
    return chat.visitor_says(widget, uid, client_id=uuid.uuid4().hex, text=text, url=f"{SITE}/")


def run_mail_tasks() -> list[str]:
    """What the worker would do with the queued transcript mails (each once)."""
    done = []
    for task in DBTaskResult.objects.filter(task_path=send_transcript.module_path, status="READY").order_by(
        "enqueued_at"
    ):
        done.append(send(*task.args_kwargs["args"]))
        DBTaskResult.objects.filter(pk=task.pk).update(status="SUCCEEDED")
    return done


def parsed(outbox: Outbox, n: int = -1) -> email.message.EmailMessage:
    return email.message_from_bytes(outbox.messages[n].data, policy=policy.default)  # type: ignore[return-value]


def test_an_unproven_address_gets_a_link_first_and_the_chat_only_from_it(
    world_tx: World, widget_tx: ChatWidget, outbox: Outbox
) -> None:
    said = say(widget_tx, None, SPAM)
    uid = said.visitor.uid
    assert chat.visitor_wants_transcript(widget_tx, uid, email="Victim@Example.com", client="198.51.100.7") == "confirm"
    assert run_mail_tasks() == ["confirmation sent"]
    mail = parsed(outbox)
    assert outbox.messages[-1].rcpt_tos == ["victim@example.com"]
    body = mail.get_body(("plain",)).get_content()
    assert "evil.example" not in body and "Cheap watches" not in body  # nothing the visitor wrote
    assert mail.get_body(("html",)) is None or "evil.example" not in mail.get_body(("html",)).get_content()
    assert "support@acme.test" in mail["From"] and world_tx.support.name in mail["Subject"]
    link = re.search(r"https?://\S+/chat/transcript/\S+/", body).group(0)  # type: ignore[union-attr]
    path = link.split("://", 1)[1].split("/", 1)[1]

    page = Client().get("/" + path)  # a link checker's GET sends nothing
    assert (
        page.status_code == 200 and "victim@example.com" in page.content.decode() and "<form" in page.content.decode()
    )
    assert run_mail_tasks() == [] and len(outbox.messages) == 1
    done = Client().post("/" + path)
    assert done.status_code == 200 and 'id="transcript-sent"' in done.content.decode()
    assert run_mail_tasks() == ["sent"]
    assert outbox.messages[-1].rcpt_tos == ["victim@example.com"]
    assert "Cheap watches" in parsed(outbox).get_body(("plain",)).get_content()  # the owner of the address asked
    visitor = Visitor.objects.get(uid=uid)
    assert visitor.proven_email == "victim@example.com"
    assert ChatSession.objects.get(visitor=visitor).transcript_sent_to == "victim@example.com"
    # proven now: the next request goes straight there
    assert chat.visitor_wants_transcript(widget_tx, uid, email="victim@example.com", client="198.51.100.7") == "sent"
    assert run_mail_tasks() == ["sent"]


def test_a_chat_can_only_ever_be_mailed_to_the_first_unproven_address(
    world: World, widget: ChatWidget, django_capture_on_commit_callbacks: Any
) -> None:
    said = say(widget, None, SPAM)
    uid = said.visitor.uid
    with django_capture_on_commit_callbacks(execute=True):
        assert chat.visitor_wants_transcript(widget, uid, email="first@example.com") == "confirm"
    for other in ("second@example.com", "third@example.org"):
        with pytest.raises(ValidationError, match="only be emailed to the address you gave first"):
            chat.visitor_wants_transcript(widget, uid, email=other)
    with django_capture_on_commit_callbacks(execute=True):
        assert chat.visitor_wants_transcript(widget, uid, email="first@example.com") == "confirm"  # (the same, again)
    queued = [t.args_kwargs["args"][1] for t in DBTaskResult.objects.filter(task_path=send_transcript.module_path)]
    assert queued == ["first@example.com", "first@example.com"]


def test_links_that_were_tampered_with_expired_or_replaced_open_nothing(
    world: World, widget: ChatWidget, django_capture_on_commit_callbacks: Any
) -> None:
    import time_machine
    from django.utils import timezone

    said = say(widget, None, "hi")
    with django_capture_on_commit_callbacks(execute=True):
        chat.visitor_wants_transcript(widget, said.visitor.uid, email="me@example.com")
    link = DBTaskResult.objects.get(task_path=send_transcript.module_path).args_kwargs["args"][3]
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    assert Client().get(path).status_code == 200
    assert Client().get(path.replace("/chat/transcript/", "/chat/transcript/x")).status_code == 404
    assert Client().get("/chat/transcript/" + "a" * 600 + "/").status_code == 404
    with time_machine.travel(timezone.now() + timezone.timedelta(days=8)):
        assert Client().post(path).status_code == 404
    ChatSession.objects.filter(visitor=said.visitor).update(transcript_asked_to="other@example.com")
    assert Client().post(path).status_code == 404
    assert not Visitor.objects.filter(proven_email="me@example.com").exists()


def test_a_signed_identitys_email_is_proven_already(world: World, widget: ChatWidget) -> None:
    identity = {
        "id": "7",
        "email": "ada@customer.example",
        "hash": identity_hash(widget.secret, "7", "ada@customer.example"),
    }
    hello = chat.greet(widget, token=None, identity=identity)
    assert hello.visitor is not None
    said = say(widget, hello.visitor.uid, "Where is my order?")
    assert chat.visitor_wants_transcript(widget, said.visitor.uid, email="ada@customer.example") == "sent"
    assert chat.visitor_wants_transcript(widget, said.visitor.uid, email="someone@else.example") == "confirm"


def test_a_signed_in_visitors_typed_address_is_not_proven(world: World, widget: ChatWidget) -> None:
    """The site vouches for who the visitor is, not for what they type into the widget later."""
    for identity in (
        {"id": "8", "hash": identity_hash(widget.secret, "8", "")},  # the site signs only an id
        {"id": "9", "email": "bo@customer.example", "hash": identity_hash(widget.secret, "9", "bo@customer.example")},
    ):
        hello = chat.greet(widget, token=None, identity=identity)
        assert hello.visitor is not None and hello.visitor.verified
        said = say(widget, hello.visitor.uid, "Hei")
        chat.visitor_leaves_email(widget, said.visitor.uid, email="victim@corp.example")
        assert chat.visitor_wants_transcript(widget, said.visitor.uid, email="victim@corp.example") == "confirm"
    assert chat.visitor_wants_transcript(widget, said.visitor.uid, email="bo@customer.example") == "sent"


def test_requests_are_limited_per_client_address_and_per_installation(
    world: World, widget: ChatWidget, django_capture_on_commit_callbacks: Any
) -> None:
    def ask(n: int, client: str) -> str:
        said = say(widget, None, SPAM)  # a new visitor each time (a new socket, no token)
        try:
            return chat.visitor_wants_transcript(
                widget, said.visitor.uid, email=f"target{n}@example.com", client=client
            )
        except ValidationError as error:
            assert error.code == "rate_limited" and "Too many chats were emailed" in error.messages[0]
            return "refused"

    import time_machine
    from django.utils import timezone

    middle_of_an_hour = timezone.now().replace(minute=30)  # (the windows are per clock hour)
    with (
        override_settings(SAMTALE_CHAT_TRANSCRIPT_IP_RATE="5/h", SAMTALE_CHAT_TRANSCRIPT_RATE="8/h"),
        django_capture_on_commit_callbacks(execute=True),
        time_machine.travel(middle_of_an_hour, tick=False),
    ):
        one_address = [ask(n, "203.0.113.9") for n in range(12)]
        assert one_address == ["confirm"] * 5 + ["refused"] * 7
        many_addresses = [ask(100 + n, f"203.0.113.{20 + n}") for n in range(5)]
        assert many_addresses == ["confirm"] * 3 + ["refused"] * 2  # the installation's 8 in an hour
    assert DBTaskResult.objects.filter(task_path=send_transcript.module_path).count() == 8


def test_a_chat_ending_with_a_typed_address_sends_the_link_not_the_chat(
    world_tx: World, widget_tx: ChatWidget, outbox: Outbox
) -> None:
    from samtale.inbox import actions

    said = say(widget_tx, None, SPAM)
    chat.visitor_leaves_email(widget_tx, said.visitor.uid, email="typed@example.com")
    conversation = Conversation.objects.get(pk=said.message.conversation_id)
    actions.close_conversation(conversation, acting_user=world_tx.agent)
    session = ChatSession.objects.get(conversation=conversation)
    assert session.transcript_asked_to == "typed@example.com" and session.transcript_sent_to == ""
    assert run_mail_tasks() == ["confirmation sent"]
    assert "Cheap watches" not in parsed(outbox).get_body(("plain",)).get_content()
