"""Threading (C3): replies join their conversation, strangers never do."""

from __future__ import annotations

from samtale.channels.email.addresses import reply_address
from samtale.channels.email.smtpd import Listener
from samtale.inbox import actions
from samtale.inbox.models import Conversation, Message
from tests.channels.email.conftest import deliver, mail
from tests.conftest import World


def _conversation_of(message_id: str) -> Conversation:
    return Message.objects.get(external_id=message_id).conversation


def test_in_reply_to_and_references_join_the_thread(world_tx: World, listener: Listener) -> None:
    deliver(listener, mail("Broken lamp", "It flickers", Message_ID="<a1@kunde.example>"))
    deliver(
        listener, mail("Re: Broken lamp", "Still", Message_ID="<a2@kunde.example>", In_Reply_To="<a1@kunde.example>")
    )
    # only References, and a broken entry in it
    deliver(listener, mail("Lamp again", "3", Message_ID="<a3@kunde.example>",
                           References="<a1@kunde.example> <garbage <a2@kunde.example>"))  # fmt: skip
    first = _conversation_of("a1@kunde.example")
    assert _conversation_of("a2@kunde.example") == first and _conversation_of("a3@kunde.example") == first
    assert Conversation.objects.count() == 1 and first.messages.count() == 3


def test_the_same_message_id_is_stored_once(world_tx: World, listener: Listener) -> None:
    m = mail("Dup", "once", Message_ID="<dup@kunde.example>")
    deliver(listener, m)
    deliver(listener, m)  # a retried delivery
    assert Message.objects.filter(external_id="dup@kunde.example").count() == 1
    # the same id from a different sender is a different message (a broken mailer), not dropped
    deliver(listener, mail("Dup", "other", sender="annen@example.org", Message_ID="<dup@kunde.example>"))
    assert Message.objects.filter(external_id="dup@kunde.example").count() == 2


def test_no_message_id_is_still_stored_once_when_delivered_twice(world_tx: World, listener: Listener) -> None:
    m = mail("No id", "body", Date="Sat, 21 Nov 2026 10:00:00 +0100")
    del m["Message-ID"]
    deliver(listener, m)
    deliver(listener, m)
    assert Message.objects.filter(text__contains="body").count() == 1


def test_reply_before_parent(world_tx: World, listener: Listener) -> None:
    deliver(listener, mail("Re: Parent", "the reply", Message_ID="<child@x.example>", In_Reply_To="<parent@x.example>"))
    deliver(listener, mail("Parent", "the parent", Message_ID="<parent@x.example>"))
    assert _conversation_of("parent@x.example") == _conversation_of("child@x.example")


def test_self_reference_does_not_break(world_tx: World, listener: Listener) -> None:
    deliver(listener, mail("Self", "me", Message_ID="<self@x.example>", In_Reply_To="<self@x.example>",
                           References="<self@x.example>"))  # fmt: skip
    assert Conversation.objects.count() == 1 and Message.objects.count() == 1


def test_subject_fallback_only_for_the_same_contact(world_tx: World, listener: Listener) -> None:
    deliver(listener, mail("Faktura 991", "first", Message_ID="<s1@x.example>"))
    deliver(listener, mail("SV: Faktura 991", "reply without headers", Message_ID="<s2@x.example>"))
    assert _conversation_of("s2@x.example") == _conversation_of("s1@x.example")
    # another customer quoting the same subject gets their own conversation
    deliver(listener, mail("Re: Faktura 991", "me too", sender="Ola <ola@other.example>", Message_ID="<s3@x.example>"))
    assert _conversation_of("s3@x.example") != _conversation_of("s1@x.example")
    assert _conversation_of("s3@x.example").contact.email == "ola@other.example"


def test_reply_to_an_agent_started_email_and_from_a_cc(world_tx: World, listener: Listener, outbox) -> None:  # type: ignore[no-untyped-def]
    conversation = actions.compose_conversation(
        world_tx.email, acting_user=world_tx.agent, to="kunde@example.com", subject="Your case", text="Hi!"
    )
    ours = conversation.messages.get()
    assert ours.external_id.endswith("@acme.test")
    # the customer's reply only references our Message-ID
    deliver(
        listener, mail("Re: Your case", "Thanks", Message_ID="<r1@example.com>", In_Reply_To=f"<{ours.external_id}>")
    )
    # someone CC'd answers, with a different subject
    deliver(listener, mail("Re: Your case (fwd)", "I am the colleague", sender="Per <per@example.com>",
                           Message_ID="<r2@example.com>", References=f"<{ours.external_id}> <r1@example.com>"))  # fmt: skip
    conversation.refresh_from_db()
    assert conversation.messages.count() == 3
    assert not conversation.awaiting_first_reply  # answered: out of Sent, into All open


def test_the_reply_token_threads_without_headers(world_tx: World, listener: Listener) -> None:
    deliver(listener, mail("Question", "q", Message_ID="<t1@x.example>"))
    conversation = _conversation_of("t1@x.example")
    token_address = reply_address(world_tx.email, conversation.pk)
    assert token_address.startswith("support+c")
    deliver(listener, mail("Something else entirely", "answer", sender="Ny <ny@x.example>", to=token_address),
            rcpt=token_address)  # fmt: skip
    assert conversation.messages.count() == 2
    forged = token_address.replace(token_address.split("-")[-1].split("@")[0], "0000000000")
    deliver(listener, mail("Forged", "x", sender="Ny <ny@x.example>", to=forged), rcpt=forged)
    assert conversation.messages.count() == 2  # a wrong token is ignored: a new conversation


def test_an_agents_own_mail_client_copy_is_outbound(world_tx: World, listener: Listener) -> None:
    from samtale.channels.email.trust import secret_address

    deliver(listener, mail("Order", "where is it", Message_ID="<o1@example.com>"))
    conversation = _conversation_of("o1@example.com")
    bcc = secret_address(world_tx.email.address, world_tx.agent)  # the agent's Bcc: proves it is theirs
    deliver(listener, mail("Re: Order", "On its way", sender=f"Bob <{world_tx.agent.email}>", to="kunde@example.com",
                           Message_ID="<o2@acme.test>", In_Reply_To="<o1@example.com>"), rcpt=bcc)  # fmt: skip
    copy = Message.objects.get(external_id="o2@acme.test")
    assert copy.conversation == conversation
    assert (copy.direction, copy.author_id, copy.delivery_status) == ("out", world_tx.agent.pk, "sent")
    assert Conversation.objects.count() == 1


def test_never_across_accounts(world_tx: World, listener: Listener) -> None:
    deliver(listener, mail("Secret", "acme", Message_ID="<acme1@x.example>"))
    deliver(listener, mail("Re: Secret", "evil", to="mail@evil.test", Message_ID="<evil1@x.example>",
                           In_Reply_To="<acme1@x.example>"), rcpt="mail@evil.test")  # fmt: skip
    evil = _conversation_of("evil1@x.example")
    assert evil.account_id == world_tx.other_account.pk and evil != _conversation_of("acme1@x.example")
