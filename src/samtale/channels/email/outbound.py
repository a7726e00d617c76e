"""Sending email: build the message with correct threading headers and deliver it through a task,
retried with backoff; every outbound message shows queued, sent or failed (with the server's reply).
"""

from __future__ import annotations

import logging
import smtplib
import socket
from datetime import timedelta
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection
from django.db import transaction

from samtale.channels.email.addresses import bounce_address, reply_address
from samtale.core import egress
from samtale.core.clock import now
from samtale.inbox import actions as inbox_actions
from samtale.inbox.models import Channel, DeliveryStatus, Direction, Message

log = logging.getLogger(__name__)


class CannotSendFrom(Exception):
    """The channel may not send as its address now (not proven, broken, none): nothing is sent."""


def from_header(channel: Channel, display: str) -> str:
    """The From of every mail Samtale sends as a channel (replies, forwards, transcripts, their
    confirmations): only an address the account has proven. The one place this is decided, checked
    again when each mail is built — an address connected without proof (held for mail in) must
    never be written as a sender, and proof can be lost to another account meanwhile."""
    if reason := unproven(channel):
        raise CannotSendFrom(reason)
    return formataddr((display, channel.address))


def unproven(channel: Channel) -> str:
    """Why the channel's address may not be a sender ("" : it may)."""
    from django.utils.translation import gettext as _

    if not channel.address:
        return _("This channel has no address to send from.")
    if channel.verified_at is None:  # nobody sends as an address they have not proven
        return _("%(address)s is not confirmed yet: mail cannot be sent from it.") % {"address": channel.address}
    return ""


def new_message_id(address: str) -> str:
    """A Message-ID in the channel's domain, without angle brackets (as stored in external_id)."""
    domain = address.rpartition("@")[2] or "samtale.invalid"
    return make_msgid(domain=domain).strip("<>")


def queue(message: Message) -> None:
    """Deliver after the transaction that stored the message commits."""
    from samtale.channels.email.tasks import deliver_email

    pk = message.pk
    transaction.on_commit(lambda: deliver_email.enqueue(pk))


def retry_delays() -> list[int]:
    return [int(s) for s in settings.SAMTALE_EMAIL_RETRY_SECONDS.split(",") if s.strip()]


def _subject(message: Message) -> str:
    subject = message.conversation.subject or ""
    if not subject:  # a conversation that began elsewhere (a chat answered by email) has none
        from django.utils.translation import gettext as _

        return _("Your conversation with %(inbox)s") % {"inbox": message.conversation.inbox.name}
    earlier = message.conversation.messages.filter(created_at__lt=message.created_at).exists()
    if message.forwarded:
        return subject if subject.lower().startswith("fwd:") else f"Fwd: {subject}"
    if earlier and subject and not subject.lower().startswith(("re:", "sv:", "aw:")):
        return f"Re: {subject}"
    return subject


def _threading_headers(message: Message) -> dict[str, str]:
    """In-Reply-To: the latest earlier message with an id; References: its references and it."""
    parent = (
        message.conversation.messages.filter(created_at__lte=message.created_at)
        .exclude(pk=message.pk)
        .filter(external_id__contains="@")  # a Message-ID (a chat message's id is not one)
        .order_by("-created_at", "-id")
        .first()
    )
    if parent is None or message.forwarded:
        return {}
    refs = [r.ref for r in parent.email_references.order_by("id")][-10:]
    chain = [*dict.fromkeys([*refs, parent.external_id])]
    return {"In-Reply-To": f"<{parent.external_id}>", "References": " ".join(f"<{r}>" for r in chain)}


def sending_channel(message: Message) -> Channel:
    """The channel a message goes out through (a chat answered by email: the inbox's email channel)."""
    return message.via_channel or message.conversation.channel


def build(message: Message) -> EmailMultiAlternatives:
    conversation = message.conversation
    channel = sending_channel(message)
    display = f"{message.sender_name} ({conversation.inbox.name})" if message.sender_name else conversation.inbox.name
    headers = {
        "Message-ID": f"<{message.external_id}>",
        "Reply-To": reply_address(channel, conversation.pk),
        **_threading_headers(message),
    }
    # The envelope sender is the message's own VERP return path (how a later delivery report is
    # recognised as genuine), unless the channel's own server authenticates the sender: such
    # servers insist on the mailbox's address.
    server = channel.mail_server_or_none
    authenticated = server is not None and bool(server.smtp_host and server.smtp_username)
    headers["From"] = from_header(channel, display)
    mail = EmailMultiAlternatives(
        subject=_subject(message),
        body=message.text,
        from_email=channel.address if authenticated else bounce_address(channel, message.pk),
        to=list(message.recipients),
        headers=headers,
    )
    if message.html:
        mail.attach_alternative(message.html, "text/html")
    for attachment in message.attachments.all():
        with attachment.file.open("rb") as handle:
            mail.attach(attachment.filename, handle.read(), attachment.content_type)
    return mail


def connection_for(channel: Channel) -> object:
    """The channel's own SMTP server, or the installation's."""
    server = getattr(channel, "mail_server", None)
    if server is not None and server.smtp_host:
        return get_connection(
            "samtale.channels.email.connections.VettedSMTPBackend",
            host=server.smtp_host,
            port=server.smtp_port,
            username=server.smtp_username or None,
            password=server.smtp_password or None,
            use_tls=server.smtp_security == "starttls",
            use_ssl=server.smtp_security == "tls",
            timeout=30,
            fail_silently=False,
        )
    # Samtale's own setting, not EMAIL_BACKEND (which test runners replace with an in-memory box)
    return get_connection(settings.SAMTALE_EMAIL_BACKEND, fail_silently=False)


def _reply_of(exc: BaseException) -> tuple[bool, str]:
    """(permanent?, the server's reply) of a sending error."""
    if isinstance(exc, CannotSendFrom):  # (checked again at delivery: proof can be lost meanwhile)
        return True, str(exc)
    if isinstance(exc, egress.EgressError):
        return False, str(exc)
    if isinstance(exc, smtplib.SMTPConnectError):  # its text is whatever answered on that port
        return False, f"The server did not accept the connection ({exc.smtp_code})."
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return True, f"Authentication failed: the server refused the username or password ({exc.smtp_code})."
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = [f"{rcpt}: {code} {msg.decode(errors='replace')}" for rcpt, (code, msg) in exc.recipients.items()]
        codes = [code for code, _m in exc.recipients.values()]
        return all(c >= 500 for c in codes), "; ".join(replies)
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return exc.smtp_code >= 500, f"{exc.smtp_code} {text}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return False, "The server closed the connection."
    if isinstance(exc, (smtplib.SMTPException, OSError, socket.timeout)):
        return False, egress.describe(exc, "the mail server", 0).replace(":0", "")
    if isinstance(exc, (ValueError, TypeError, UnicodeError, BadHeaderError)):
        # the message itself cannot be written (a header with a line break, an address that is
        # not one): sending it again would fail the same way
        return True, f"The message could not be built: {exc}"
    return False, f"{type(exc).__name__}: {exc}"


def deliver(message_id: int) -> str:
    """Send one queued message (the task). Returns the resulting status."""
    from samtale.channels.email.tasks import deliver_email

    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("conversation__channel", "conversation__inbox", "via_channel__mail_server")
            .filter(pk=message_id, direction=Direction.OUTBOUND)
            .first()
        )
        if message is None or message.delivery_status != DeliveryStatus.QUEUED:
            return message.delivery_status if message else "missing"
        message.delivery_attempts += 1
        message.save(update_fields=["delivery_attempts"])
    channel = sending_channel(message)
    try:
        mail = build(message)
        connection = connection_for(channel)
        mail.connection = connection  # type: ignore[assignment]
        mail.send(fail_silently=False)
    except Exception as exc:
        permanent, reply = _reply_of(exc)
        if _channel_at_fault(channel, exc):
            inbox_actions.mark_channel_broken(channel, reason=reply)
        delays = retry_delays()
        if permanent or message.delivery_attempts > len(delays):
            mark_failed(message, reply)
            return DeliveryStatus.FAILED
        delay = delays[message.delivery_attempts - 1]
        _note(message, f"Attempt {message.delivery_attempts} failed, retrying in {delay} s: {reply}")
        deliver_email.using(run_after=now() + timedelta(seconds=delay)).enqueue(message.pk)
        return DeliveryStatus.QUEUED
    mark_sent(message)
    if channel.mail_server_or_none is not None and channel.mail_server_or_none.smtp_host:
        inbox_actions.mark_channel_working(channel)
    return DeliveryStatus.SENT


def _channel_at_fault(channel: Channel, exc: BaseException) -> bool:
    """A failure of the channel itself, not of one message: its own server refused the login, or
    cannot be reached under the egress policy. (The installation's relay is the operator's.)"""
    server = channel.mail_server_or_none
    if server is None or not server.smtp_host:
        return False
    return isinstance(exc, (smtplib.SMTPAuthenticationError, egress.EgressError))


def _note(message: Message, text: str) -> None:
    inbox_actions.record_delivery(message, status=DeliveryStatus.QUEUED, detail=text)


def mark_sent(message: Message) -> None:
    inbox_actions.record_delivery(message, status=DeliveryStatus.SENT)


def mark_failed(message: Message, reason: str) -> None:
    inbox_actions.record_delivery(message, status=DeliveryStatus.FAILED, detail=reason)
