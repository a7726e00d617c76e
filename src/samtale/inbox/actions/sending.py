"""Replies, new conversations and forwards, sent through the channel's adapter; delivery status."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from samtale.accounts.models import User
from samtale.core.audit import audit
from samtale.core.bounds import check_header_text
from samtale.core.clock import now
from samtale.core.events import publish_on_commit
from samtale.core.html import sanitize, text_to_html, to_text
from samtale.crm.actions import add_timeline_entry, get_or_create_contact_by_email, note_contacted
from samtale.crm.models import Contact
from samtale.inbox import adapters, events, search
from samtale.inbox.actions._common import _contact_text, _require_inbox_access
from samtale.inbox.actions.receiving import _touch
from samtale.inbox.adapters import ChannelAdapter
from samtale.inbox.counters import counted
from samtale.inbox.models import (
    Channel,
    ChannelKind,
    Conversation,
    DeliveryStatus,
    Direction,
    Inbox,
    Message,
)

log = logging.getLogger(__name__)


def _editor_body(text: str, html: str, *, files: bool = False) -> tuple[str, str]:
    if html.strip():
        clean = sanitize(html)
        plain = to_text(clean)
    else:
        plain = text.strip()
        clean = text_to_html(plain)
    if not plain and not files:
        raise ValidationError(_("The message is empty."))
    return plain, clean if plain else ""


MAX_REPLY_FILES = 10


def _sender(inbox: Inbox, kind: str, preferred: Channel | None = None) -> tuple[Channel, ChannelAdapter]:
    """The channel (and its adapter) a message of `kind` is sent through: the conversation's own
    channel when it is of that kind, else the inbox's first channel of it that can send. Refused
    with the reason when none can: a message is never stored "queued" if nothing will send it."""
    adapter = adapters.adapter_for(kind)
    if adapter is None:
        raise ValidationError(_("Messages cannot be sent on this channel yet."))
    # read afresh: whether a channel can send (confirmed, broken) changes behind any object in hand
    candidates = sorted(
        inbox.channels.filter(kind=kind), key=lambda c: (preferred is None or c.pk != preferred.pk, c.pk)
    )
    reasons = []
    for channel in candidates:
        reason = adapter.cannot_send(channel)
        if not reason:
            return channel, adapter
        reasons.append(reason)
    raise ValidationError(reasons[0] if reasons else _("This inbox has no channel to send that with."))


def reply_to_conversation(
    conversation: Conversation, *, acting_user: User, text: str = "", html: str = "", channel_kind: str = "",
    attachments: Sequence[Any] = (),
) -> Message:  # fmt: skip
    """Store an outbound reply, queued for delivery by the channel. `attachments`: parts with
    filename, content_type and payload (files the agent attached)."""
    _require_inbox_access(acting_user, conversation)
    if conversation.trashed_at is not None:
        raise ValidationError(_("Restore the conversation from Trash before replying."))
    if len(attachments) > MAX_REPLY_FILES:
        raise ValidationError(_("At most %(n)s files in one reply.") % {"n": MAX_REPLY_FILES})
    plain, clean = _editor_body(text, html, files=bool(attachments))
    kind = channel_kind or conversation.channel_kind
    if kind not in ChannelKind.values:
        raise ValidationError(_("Unknown channel."))
    own = adapters.adapter_for(kind)
    if own is not None and (instead := own.hand_over(conversation)):
        kind = instead  # e.g. the chat's visitor has left: the reply goes to their email
    channel, adapter = _sender(conversation.inbox, kind, conversation.channel)
    recipients = adapter.recipients(conversation)
    if not recipients:
        raise ValidationError(_("The contact has no address to send this to."))
    if attachments and not adapter.capabilities.attachments:
        raise ValidationError(_("Files cannot be sent on this channel."))
    at = now()
    with transaction.atomic(), counted([conversation]):
        message = Message.objects.create(
            account=conversation.account,
            conversation=conversation,
            direction=Direction.OUTBOUND,
            channel_kind=kind,
            author=acting_user,
            sender_name=acting_user.name,
            sender_address=channel.address,
            via_channel=channel,
            recipients=recipients,
            text=plain,
            html=clean,
            delivery_status=DeliveryStatus.QUEUED,
            external_id=adapter.outbound_id(channel),
            created_at=at,
        )
        if attachments:
            from samtale.inbox.actions.receiving import _store_attachments

            _store_attachments(message, attachments)
        adapter.queue(message)
        _touch(conversation, message)
        conversation.save(update_fields=["last_activity_at", "preview", "message_count"])
        search.append_to_document(conversation, plain)
        if conversation.contact_id is not None:
            note_contacted(conversation.contact_id, at)
        audit(conversation.account, acting_user, "message.replied", message, conversation_id=conversation.pk)
        publish_on_commit(events.conversation_changed(conversation, "message", message_id=message.pk))
    return message


def compose_conversation(
    channel: Channel,
    *,
    acting_user: User,
    to: str,
    subject: str,
    text: str = "",
    html: str = "",
    contact: Contact | None = None,
) -> Conversation:
    """A new outbound email: it sits in Sent until the contact answers (C1). `contact`: whom it is
    to, when the sender knows (written from their record); else the contact of the address."""  # fmt: skip
    from samtale.inbox.access import access_inbox

    access_inbox(acting_user, channel.inbox_id)
    adapter = adapters.adapter_for(channel.kind)
    if adapter is None or not adapter.capabilities.compose:
        raise ValidationError(_("New conversations can only be started by email."))
    if reason := adapter.cannot_send(channel):
        raise ValidationError(reason)
    from django.core.validators import validate_email

    validate_email(to)
    check_header_text(subject, _("The subject"))
    plain, clean = _editor_body(text, html)
    at = now()
    with transaction.atomic():
        if contact is None:
            contact = get_or_create_contact_by_email(channel.account, to, acting_user=acting_user)
        elif contact.account_id != channel.account_id:
            raise ValidationError(_("That contact is not in this account."))
        conversation = Conversation.objects.create(
            account=channel.account,
            inbox=channel.inbox,
            channel=channel,
            channel_kind=channel.kind,
            contact=contact,
            subject=subject.strip()[:500],
            owner=acting_user,
            awaiting_first_reply=True,
            created_at=at,
            last_activity_at=at,
        )
        message = Message.objects.create(
            account=channel.account,
            conversation=conversation,
            direction=Direction.OUTBOUND,
            channel_kind=channel.kind,
            author=acting_user,
            sender_name=acting_user.name,
            sender_address=channel.address,
            recipients=[to.strip().lower()],  # (the address written: the contact may have several)
            via_channel=channel,
            text=plain,
            html=clean,
            delivery_status=DeliveryStatus.QUEUED,
            external_id=adapter.outbound_id(channel),
            created_at=at,
        )
        adapter.queue(message)
        with counted([conversation], created=True):
            _touch(conversation, message)
            conversation.save()
        search.set_document(conversation, [conversation.subject, _contact_text(contact), plain])
        note_contacted(contact.pk, at)
        add_timeline_entry(
            contact, kind="conversation.started", at=at, actor=acting_user, subject_type="conversation",
            subject_id=conversation.pk, title=conversation.subject,
            data={"channel_kind": channel.kind, "inbox_id": channel.inbox_id, "outbound": True},
        )  # fmt: skip
        audit(channel.account, acting_user, "conversation.composed", conversation)
        publish_on_commit(events.conversation_changed(conversation, "created"))
    return conversation


def forward_message(message: Message, *, acting_user: User, to: str, note: str = "") -> Message:
    """Forward an email (with its attachments) to an outside address; it is kept in the thread
    as an outbound message with its own delivery status."""
    from django.core.files.base import ContentFile
    from django.core.validators import validate_email

    from samtale.inbox.models import Attachment

    conversation = message.conversation
    _require_inbox_access(acting_user, conversation)
    validate_email(to)
    if message.hidden_at is not None:
        raise ValidationError(_("A hidden message cannot be forwarded."))
    channel = conversation.channel
    adapter = adapters.adapter_for(channel.kind)
    if adapter is None or not adapter.capabilities.forward:
        raise ValidationError(_("Only email messages can be forwarded."))
    if reason := adapter.cannot_send(channel):
        raise ValidationError(reason)
    header = _("---------- Forwarded message ----------")
    sender = f"{message.sender_name} <{message.sender_address}>".strip()
    plain = f"{note.strip()}\n\n{header}\n{sender}\n{message.created_at:%Y-%m-%d %H:%M}\n\n{message.text}".strip()
    html = (
        text_to_html(note.strip())
        + f"<p>{header}<br>{escape(sender)}<br>{message.created_at:%Y-%m-%d %H:%M}</p><blockquote>{message.html}</blockquote>"
    )
    html = sanitize(html)  # before the transaction: CPU work on stored mail
    at = now()
    with transaction.atomic(), counted([conversation]):
        forward = Message.objects.create(
            account=conversation.account, conversation=conversation, direction=Direction.OUTBOUND,
            channel_kind=channel.kind, author=acting_user, sender_name=acting_user.name,
            sender_address=channel.address, via_channel=channel, recipients=[to.strip().lower()], text=plain, html=html,
            delivery_status=DeliveryStatus.QUEUED, external_id=adapter.outbound_id(channel),
            forwarded=True, created_at=at,
        )  # fmt: skip
        for attachment in message.attachments.all():
            with attachment.file.open("rb") as handle:
                copy = Attachment(
                    account_id=forward.account_id, message=forward, filename=attachment.filename,
                    content_type=attachment.content_type, size=attachment.size, content_id=attachment.content_id,
                    inline=attachment.inline,
                )  # fmt: skip
                copy.file.save(attachment.filename[:100], ContentFile(handle.read()), save=False)
                copy.save()
        adapter.queue(forward)
        _touch(conversation, forward)
        conversation.save(update_fields=["last_activity_at", "preview", "message_count"])
        audit(conversation.account, acting_user, "message.forwarded", forward, of=message.pk, to=to)
        publish_on_commit(events.conversation_changed(conversation, "message", message_id=forward.pk))
    return forward


def record_delivery(message: Message, *, status: str, detail: str = "") -> None:
    """What the channel answered about an outbound message: sent; failed, with the reason; or still
    queued, with why the last attempt did not go through. Audited, one event, one place."""
    if status not in DeliveryStatus.values:
        raise ValueError(f"unknown delivery status {status!r}")
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(delivery_status=status, delivery_error=detail[:4000])
        message.delivery_status, message.delivery_error = status, detail[:4000]
        audit(message.account, None, f"message.delivery_{status}", message, detail=detail[:500])
        publish_on_commit(events.conversation_changed(message.conversation, "delivery"))


def send_automated(conversation: Conversation, *, text: str, sender_name: str, at: datetime | None = None) -> Message:
    """A message the system sends on the team's behalf in a conversation (a chatflow's step):
    outbound, no author, delivered by the channel like a reply."""
    adapter = adapters.adapter_for(conversation.channel_kind)
    if adapter is None:
        raise ValidationError(_("Messages cannot be sent on this channel yet."))
    plain = text.strip()
    if not plain:
        raise ValidationError(_("The message is empty."))
    channel = conversation.channel
    with transaction.atomic(), counted([conversation]):
        message = Message.objects.create(
            account=conversation.account, conversation=conversation, direction=Direction.OUTBOUND,
            channel_kind=conversation.channel_kind, author=None, sender_name=sender_name[:200],
            sender_address=channel.address, via_channel=channel, recipients=adapter.recipients(conversation),
            text=plain, html=text_to_html(plain), delivery_status=DeliveryStatus.QUEUED,
            external_id=adapter.outbound_id(channel), created_at=at or now(),
        )  # fmt: skip
        adapter.queue(message)
        _touch(conversation, message)
        conversation.save(update_fields=["last_activity_at", "preview", "message_count"])
        search.append_to_document(conversation, plain)
        audit(conversation.account, None, "message.automated", message, conversation_id=conversation.pk)
        publish_on_commit(events.conversation_changed(conversation, "message", message_id=message.pk))
    return message
