"""Classification (role addresses, auto-replies, bounces, blocked senders) and sending through a
real local SMTP server, with retries and the server's reply kept."""

from __future__ import annotations

import email
from email import policy

from samtale.channels.email.addresses import bounce_address
from samtale.channels.email.outbound import deliver
from samtale.channels.email.smtpd import Listener
from samtale.channels.email.tasks import deliver_email
from samtale.inbox import actions
from samtale.inbox.models import Conversation, Message
from samtale.routing.actions import configure_routing
from tests.channels.email.conftest import Outbox, mail
from tests.channels.email.conftest import deliver as receive
from tests.conftest import World


def test_role_addresses_go_to_spam_and_blocked_senders_to_filtered(world_tx: World, listener: Listener) -> None:
    receive(
        listener,
        mail("Newsletter", "buy", sender="News <noreply@shop.example>", List_Unsubscribe="<https://shop.example/u>"),
        sender="noreply@shop.example",
    )
    assert Conversation.objects.get(subject="Newsletter").spam_at is not None
    # a customer writing from a shop's info@ is a customer (a role address alone is not bulk mail)
    receive(listener, mail("Order 4411", "where is it?", sender="Butikk <info@butikk.example>"))
    assert Conversation.objects.get(subject="Order 4411").spam_at is None
    receive(listener, mail("Campaign", "sale", sender="Butikk <info@butikk.example>", Precedence="bulk"))
    assert Conversation.objects.get(subject="Campaign").spam_at is not None
    receive(listener, mail("Hi", "first", sender="Troll <troll@x.example>"))
    first = Conversation.objects.get(subject="Hi")
    actions.block_sender(first, acting_user=world_tx.admin)
    receive(listener, mail("Another", "again", sender="Troll <troll@x.example>"))
    assert Conversation.objects.get(subject="Another").filtered_at is not None  # all their future mail
    actions.unblock_sender(Conversation.objects.get(subject="Another"), acting_user=world_tx.admin)
    receive(listener, mail("Third", "after unblock", sender="Troll <troll@x.example>"))
    assert Conversation.objects.get(subject="Third").filtered_at is None


def test_auto_replies_are_marked_and_never_route_or_reopen(world_tx: World, listener: Listener) -> None:
    configure_routing(world_tx.email, acting_user=world_tx.admin, users=[world_tx.agent])
    receive(listener, mail("Out of office", "I am away", Auto_Submitted="auto-replied"))
    message = Message.objects.get()
    assert message.auto_reply and message.conversation.owner is None  # not routed
    conversation = actions.compose_conversation(
        world_tx.email, acting_user=world_tx.agent, to="kunde@example.com", subject="Offer", text="Hello"
    )
    ours = conversation.messages.get()
    receive(listener, mail("Auto: Offer", "away", X_Autoreply="yes", In_Reply_To=f"<{ours.external_id}>"))
    conversation.refresh_from_db()
    assert conversation.messages.count() == 2 and conversation.awaiting_first_reply  # still in Sent


def _bounce_for(message_id: str, recipient: str) -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        "To: support@acme.test\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce1@mx.example.com>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B1"\r\n\r\n'
        "--B1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown\r\n"
        "--B1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: support@acme.test\r\nTo: {recipient}\r\nMessage-ID: <{message_id}>\r\nSubject: Offer\r\n"
        "--B1--\r\n"
    ).encode()


def test_a_bounce_marks_the_outbound_message_failed_with_the_reason(world_tx: World, listener: Listener) -> None:
    conversation = actions.compose_conversation(
        world_tx.email, acting_user=world_tx.agent, to="gone@example.com", subject="Offer", text="Hello"
    )
    ours = conversation.messages.get()
    return_path = bounce_address(world_tx.email, ours.pk)
    receive(listener, _bounce_for(ours.external_id, "gone@example.com"), sender="", rcpt=return_path)
    ours.refresh_from_db()
    assert ours.delivery_status == "failed"
    assert "5.1.1" in ours.delivery_error and "User unknown" in ours.delivery_error
    assert Conversation.objects.count() == 1  # the bounce does not open a conversation


def test_a_forged_bounce_marks_nothing_and_arrives_as_mail(world_tx: World, listener: Listener) -> None:
    """Anyone can write a report naming our Message-ID; only one from the null sender to the
    message's own return path (whose token only the receiving server saw) is believed."""
    conversation = actions.compose_conversation(
        world_tx.email, acting_user=world_tx.agent, to="kunde@example.com", subject="Offer", text="Hello"
    )
    ours = conversation.messages.get()
    forged = _bounce_for(ours.external_id, "kunde@example.com")
    guessed = bounce_address(world_tx.email, ours.pk).replace("-", "-0", 1)
    receive(listener, forged, sender="")  # to the inbox's plain address
    receive(listener, forged.replace(b"bounce1@", b"bounce2@"), sender="mallory@example.com",
            rcpt=bounce_address(world_tx.email, ours.pk))  # not from the null sender  # fmt: skip
    receive(listener, forged.replace(b"bounce1@", b"bounce3@"), sender="", rcpt=guessed)  # a guessed token
    ours.refresh_from_db()
    assert ours.delivery_status == "queued" and ours.delivery_error == ""
    assert Conversation.objects.count() == 2  # the forged reports are ordinary messages to read


def test_outbound_mail_carries_its_return_path(world_tx: World, outbox: Outbox) -> None:
    conversation = world_tx.inbound("Hi")
    reply = actions.reply_to_conversation(conversation, acting_user=world_tx.agent, text="Hello")
    assert deliver(reply.pk) == "sent"
    sent = outbox.messages[-1]
    assert sent.mail_from == bounce_address(world_tx.email, reply.pk)
    assert "support@acme.test" in email.message_from_bytes(sent.data, policy=policy.default)["From"]


def test_reply_is_sent_with_threading_headers(world_tx: World, listener: Listener, outbox: Outbox) -> None:
    receive(listener, mail("Lamp", "It flickers", Message_ID="<lamp1@example.com>", References="<older@example.com>"))
    conversation = Conversation.objects.get()
    reply = actions.reply_to_conversation(conversation, acting_user=world_tx.agent, text="Try a new bulb.")
    assert reply.delivery_status == "queued"
    assert deliver(reply.pk) == "sent"
    reply.refresh_from_db()
    assert reply.delivery_status == "sent"
    sent = outbox.messages[-1]
    assert sent.rcpt_tos == ["kunde@example.com"]
    parsed = email.message_from_bytes(sent.data, policy=policy.default)
    assert parsed["Message-ID"] == f"<{reply.external_id}>"
    assert parsed["In-Reply-To"] == "<lamp1@example.com>"
    assert parsed["References"] == "<older@example.com> <lamp1@example.com>"
    assert parsed["Subject"] == "Re: Lamp"
    assert parsed["Reply-To"].startswith(f"support+c{conversation.pk}-")
    assert "support@acme.test" in parsed["From"] and "Bob Agent" in parsed["From"]
    assert "Try a new bulb." in parsed.get_body(("plain",)).get_content()
    # the customer answers the reply: it threads by our Message-ID
    receive(
        listener, mail("Re: Lamp", "Works!", Message_ID="<lamp2@example.com>", In_Reply_To=f"<{reply.external_id}>")
    )
    assert conversation.messages.count() == 3


def test_a_refused_recipient_fails_with_the_servers_reply(world_tx: World, outbox: Outbox) -> None:
    outbox.refuse["kunde@example.com"] = "550 5.7.1 Mailbox disabled for this recipient"
    conversation = world_tx.inbound("Hi")
    reply = actions.reply_to_conversation(conversation, acting_user=world_tx.agent, text="Hello")
    assert deliver(reply.pk) == "failed"
    reply.refresh_from_db()
    assert reply.delivery_status == "failed" and "550 5.7.1 Mailbox disabled" in reply.delivery_error


def test_a_temporary_failure_is_retried_until_it_is_sent(world_tx: World, outbox: Outbox) -> None:
    from django_tasks_db.models import DBTaskResult

    outbox.refuse["kunde@example.com"] = "451 4.7.1 Greylisted, try again"
    conversation = world_tx.inbound("Hi")
    reply = actions.reply_to_conversation(conversation, acting_user=world_tx.agent, text="Hello")
    assert deliver(reply.pk) == "queued"
    reply.refresh_from_db()
    assert reply.delivery_status == "queued" and "451 4.7.1 Greylisted" in reply.delivery_error
    retry = DBTaskResult.objects.filter(task_path=deliver_email.module_path, args_kwargs__args=[reply.pk]).order_by("-enqueued_at").first()  # fmt: skip
    assert retry is not None and retry.run_after is not None  # re-enqueued with a delay
    del outbox.refuse["kunde@example.com"]
    assert deliver(reply.pk) == "sent"
    reply.refresh_from_db()
    assert (reply.delivery_status, reply.delivery_attempts, reply.delivery_error) == ("sent", 2, "")


def test_gives_up_after_the_last_retry(world_tx: World, outbox: Outbox) -> None:
    outbox.refuse["kunde@example.com"] = "451 4.3.0 Try later"
    conversation = world_tx.inbound("Hi")
    reply = actions.reply_to_conversation(conversation, acting_user=world_tx.agent, text="Hello")
    results = [deliver(reply.pk) for _ in range(3)]  # SAMTALE_EMAIL_RETRY_SECONDS has two delays in tests
    assert results == ["queued", "queued", "failed"]
    reply.refresh_from_db()
    assert reply.delivery_status == "failed" and "451 4.3.0 Try later" in reply.delivery_error


def test_a_server_that_is_down_is_retried(world_tx: World, outbox: Outbox) -> None:
    from django.test import override_settings

    from tests.e2e.conftest import free_port

    conversation = world_tx.inbound("Hi")
    reply = actions.reply_to_conversation(conversation, acting_user=world_tx.agent, text="Hello")
    with override_settings(EMAIL_PORT=free_port()):  # nothing listens there
        assert deliver(reply.pk) == "queued"
    reply.refresh_from_db()
    assert "Connection" in reply.delivery_error or "refused" in reply.delivery_error.lower()
    assert deliver(reply.pk) == "sent"


def test_a_subject_with_a_line_break_is_refused_at_compose(world_tx: World) -> None:
    from django.test import Client

    token = world_tx.token(world_tx.agent)
    r = Client().post(
        f"/api/v1/inboxes/{world_tx.support.pk}/conversations",
        {
            "channel_id": world_tx.email.pk,
            "to": "kunde@example.com",
            "subject": "Hi\r\nBcc: all@evil.test",
            "text": "x",
        },
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 400 and "line breaks" in r.json()["detail"]
    assert not Conversation.objects.exists()


def test_a_message_that_cannot_be_built_fails_at_once_instead_of_retrying(world_tx: World, outbox: Outbox) -> None:
    conversation = world_tx.inbound("Hi")
    Conversation.objects.filter(pk=conversation.pk).update(
        subject="Hi\r\nBcc: all@evil.test"
    )  # stored before the check
    reply = actions.reply_to_conversation(
        Conversation.objects.get(pk=conversation.pk), acting_user=world_tx.agent, text="x"
    )
    assert deliver(reply.pk) == "failed"
    reply.refresh_from_db()
    assert "could not be built" in reply.delivery_error and reply.delivery_attempts == 1
    assert not outbox.messages
