"""Arriving messages: the one receive action every channel hands its `InboundMessage` to."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from samtale.accounts.models import User
from samtale.core import batching
from samtale.core.audit import audit
from samtale.core.clock import now
from samtale.core.events import publish_on_commit
from samtale.core.html import sanitize, text_to_html, to_text
from samtale.crm.actions import add_timeline_entry, contact_for_identity, note_contacted
from samtale.crm.models import Contact
from samtale.inbox import adapters, assignment, counters, events, search
from samtale.inbox.actions._common import _contact_text
from samtale.inbox.counters import counted
from samtale.inbox.hooks import conversations_reopened
from samtale.inbox.models import (
    Attachment,
    BlockedSender,
    Channel,
    Conversation,
    DeliveryStatus,
    Direction,
    Message,
    NotificationKind,
    Status,
)

log = logging.getLogger(__name__)


@dataclass
class InboundMessage:
    """What every channel adapter normalizes an arriving message into."""

    sender_address: str = ""
    sender_name: str = ""
    text: str = ""
    html: str = ""
    subject: str = ""
    external_id: str = ""
    received_at: datetime | None = None
    conversation: Conversation | None = None  # set when the adapter already threaded it
    bot: str = ""
    contact: Contact | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    quoted_html: str = ""  # trimmed history/signature, shown on demand
    auto_reply: bool = False  # never routes, never reopens, is not the contact's answer
    attachments: list[Any] = field(
        default_factory=list
    )  # objects with filename, content_type, payload, content_id, inline
    recipients: list[str] = field(default_factory=list)
    author: User | None = None  # set: a teammate's own copy of mail they sent (stored as outbound, sent)
    prepared: bool = False  # html sanitized and text derived (`prepare_inbound`)
    search_text: str = ""  # the text's words as the search index keeps them (`prepare_inbound`)
    spam: bool = False  # the channel classified it as spam (a new conversation lands in Spam)
    sender_not_verified: bool = False  # claims a teammate's address without proof (mail.trust)
    reply_to: str = ""  # where the sender asked replies to go, when that is not sender_address
    known_new: bool = False  # the adapter already found no message with this external id (in this transaction)


def prepare_inbound(inbound: InboundMessage) -> InboundMessage:
    """Sanitize the HTML and derive the plain text: CPU work on untrusted input, done before the
    write transaction of `receive_inbound` (an adapter may call it earlier still, outside its own)."""
    if inbound.prepared:
        return inbound
    html = sanitize(inbound.html) if inbound.html else text_to_html(inbound.text)
    text = inbound.text or to_text(html)
    return replace(
        inbound,
        html=html,
        text=text,
        quoted_html=sanitize(inbound.quoted_html) if inbound.quoted_html else "",
        search_text=search.normalize(text),
        prepared=True,
    )


def _is_blocked(account_id: int, kind: str, value: str) -> bool:
    if not value:
        return False
    scope = batching.current()
    if scope is None:
        return BlockedSender.objects.filter(account_id=account_id, kind=kind, value=value.lower()).exists()
    # a batch reads the account's blocked senders of the kind once
    blocked: set[str] = scope.remember(
        ("blocked", account_id, kind),
        lambda: set(BlockedSender.objects.filter(account_id=account_id, kind=kind).values_list("value", flat=True)),
    )
    return value.lower() in blocked


def _sender_key(conversation: Conversation) -> str:
    contact = conversation.contact
    if contact is None:
        return ""
    return (contact.email or contact.phone or str(contact.pk)).lower()


def receive_inbound(channel: Channel, inbound: InboundMessage) -> Message:
    """Store an arriving message: find or open its conversation, classify it, publish."""
    inbound = prepare_inbound(inbound)
    account = channel.account
    at = inbound.received_at or now()
    outbound = inbound.author is not None
    # no savepoint of its own: a failure fails the caller's transaction (callers that go on after
    # a failed message take a savepoint around it themselves, as the mail ingest does)
    with transaction.atomic(savepoint=False), counters.deferred():
        if inbound.external_id and not inbound.known_new:
            from samtale.inbox.queries import messages_with_external_id

            # The same id from someone else, or with another body, is another message (broken
            # mailers reuse ids): only a true repeat is dropped.
            # Compared here, not joined in SQL: with the inbox in the query SQLite's planner walks
            # the inbox's conversations instead of the Message-ID index.
            text = inbound.text or to_text(inbound.html)
            for found in (
                messages_with_external_id(account.pk, inbound.external_id)
                .filter(sender_address=inbound.sender_address[:254])
                .select_related("conversation")[:20]
            ):
                if found.conversation.inbox_id == channel.inbox_id and found.text == inbound.text:
                    return found
        contact = inbound.contact
        contact_address = (inbound.recipients[:1] or [""])[0] if outbound else inbound.sender_address
        adapter = adapters.adapter_for(channel.kind)
        kind = adapter.identity_kind if adapter is not None else ""
        if contact is None and contact_address and kind:  # the channel says what its addresses are
            name = "" if outbound else inbound.sender_name
            try:
                contact = contact_for_identity(account, kind, contact_address, name=name)
            except ValidationError:  # not an address of its kind (a broken From): no contact
                contact = None
        conversation = inbound.conversation
        created = conversation is None
        if conversation is None:
            conversation = Conversation(
                account=account,
                inbox=channel.inbox,
                channel=channel,
                channel_kind=channel.kind,
                contact=contact,
                subject=inbound.subject[:500],
                bot=inbound.bot,
                owner=inbound.author,
                awaiting_first_reply=outbound,
                created_at=at,
                last_activity_at=at,
                # what the message will set, set before the INSERT (no UPDATE after it)
                preview=_preview(inbound.text),
                message_count=1,
            )
            if not outbound and _is_blocked(account.pk, channel.kind, inbound.sender_address):
                conversation.filtered_at = at
            elif not outbound and inbound.spam:
                conversation.spam_at = at
            elif not outbound and not inbound.auto_reply:
                # routed before the INSERT: the row is written once, with its owner
                conversation.owner = _decide_safely(conversation)
            conversation.save()
            if contact is not None and conversation.spam_at is None and conversation.filtered_at is None:
                add_timeline_entry(
                    contact, kind="conversation.started", at=at, subject_type="conversation",
                    subject_id=conversation.pk, title=conversation.subject,
                    data={"channel_kind": channel.kind, "inbox_id": channel.inbox_id, "outbound": outbound},
                )  # fmt: skip
        with counted([conversation], created=created):
            text = inbound.text
            message = Message.objects.create(
                account=account,
                conversation=conversation,
                direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
                channel_kind=channel.kind,
                author=inbound.author,
                sender_name=inbound.sender_name[:200],
                sender_address=inbound.sender_address[:254],
                recipients=inbound.recipients,
                text=text,
                html=inbound.html,
                quoted_html=inbound.quoted_html,
                auto_reply=inbound.auto_reply,
                sender_not_verified=inbound.sender_not_verified,
                reply_to=inbound.reply_to[:254] if not outbound else "",
                delivery_status=DeliveryStatus.SENT if outbound else DeliveryStatus.NONE,
                external_id=inbound.external_id[:998],
                created_at=at,
            )
            stored = _store_attachments(message, inbound.attachments)
            if conversation.contact_id is not None and conversation.spam_at is None and not inbound.auto_reply:
                note_contacted(conversation.contact_id, at)
            # what the caller shows of the new message needs no query for its files
            message._prefetched_objects_cache = {"attachments": _known(Attachment, stored)}  # type: ignore[attr-defined]
            answered = not outbound and not inbound.auto_reply
            if not created:
                if answered:
                    conversation.awaiting_first_reply = False
                reopened = answered and conversation.status == Status.CLOSED and conversation.trashed_at is None
                if reopened:
                    conversation.status = Status.OPEN
                    conversation.closed_at = None
                _touch(conversation, message)
                conversation.save(update_fields=MESSAGE_FIELDS)
                if reopened:
                    conversations_reopened([conversation], None)
        # an agent's own copy or an auto-reply: nobody needs to be assigned for it
        if created and conversation.owner is not None and not outbound:
            _assigned_on_arrival(conversation)
        elif answered and not created and inbound.extra.get("route", True):
            _reroute(conversation)  # acts only when unassigned, or when the owner is away
        if created:
            document = [search.normalize(f"{conversation.subject} {_contact_text(contact)}"), inbound.search_text]
            search.set_document(conversation, document, new=True, normalized=True)
        else:
            search.append_to_document(conversation, inbound.search_text, normalized=True)
        audit(account, None, "message.received", message, conversation_id=conversation.pk)
        publish_on_commit(events.conversation_changed(conversation, "message", message_id=message.pk))
    return message


def _known(model: Any, rows: list[Any]) -> Any:
    """A queryset already holding `rows` (as a prefetch leaves one)."""
    queryset = model.objects.none()
    queryset._result_cache = rows
    queryset._prefetch_done = True
    return queryset


def _store_attachments(message: Message, parts: Iterable[Any]) -> list[Any]:
    """Parts carry their bytes (`payload`), or, when large, the `path` of a file holding them,
    which is copied into storage in chunks."""
    from django.core.files import File
    from django.core.files.base import ContentFile

    stored = []
    for part in parts:
        path = getattr(part, "path", None)
        attachment = Attachment(
            account_id=message.account_id,
            message=message,
            filename=part.filename[:255],
            content_type=part.content_type[:255],
            size=os.path.getsize(path) if path else len(part.payload),
            content_id=part.content_id[:255],
            inline=part.inline,
        )
        if path:
            with open(path, "rb") as handle:
                attachment.file.save(part.filename[:100] or "attachment", File(handle), save=False)
        else:
            attachment.file.save(part.filename[:100] or "attachment", ContentFile(part.payload), save=False)
        attachment.save()
        stored.append(attachment)
    return stored


def _decide_safely(conversation: Conversation) -> User | None:
    """The owner routing gives a new conversation, before it is stored. A routing failure never
    stops a message being stored: the conversation stays unassigned (the backlog job offers it
    again). In a batch the failure fails the batch, whose messages are then stored one by one."""
    if batching.current() is not None:
        return assignment.router.decide(conversation)
    try:
        with transaction.atomic():
            return assignment.router.decide(conversation)
    except Exception:
        log.exception("routing a new conversation of channel %s failed; it stays unassigned", conversation.channel_id)
        return None


def _assigned_on_arrival(conversation: Conversation) -> None:
    """What assigning does besides setting the owner (stored with the conversation)."""
    from samtale.inbox.actions._common import _notify

    owner = conversation.owner
    assert owner is not None
    _notify(owner, NotificationKind.ASSIGNMENT, conversation, actor=None)
    audit(conversation.account, None, "conversation.assigned", conversation, owner_id=owner.pk, previous_owner_id=None)


def _reroute(conversation: Conversation) -> None:
    _route_safely(assignment.router.reroute_if_owner_away, conversation)


def _route_safely(decide: Any, conversation: Conversation) -> None:
    """Routing is a decision about a stored message, never a condition for storing it: if it
    fails (a broken rule, a user's data it cannot read), the conversation stays unassigned, is
    offered again by the backlog job, and the message is kept."""
    saved = counters.mark()
    try:
        with transaction.atomic():
            decide(conversation)
    except Exception:
        counters.restore(saved)  # what the rolled-back decision counted is undone with it
        log.exception("routing conversation %s failed; it stays unassigned", conversation.pk)
        conversation.refresh_from_db()


# what a new message changes on its conversation (the state fields were re-read under lock by `counted`)
MESSAGE_FIELDS = ["awaiting_first_reply", "status", "closed_at", "last_activity_at", "preview", "message_count"]


def _preview(text: str) -> str:
    return (text or "").replace("\n", " ")[:200]


def _touch(conversation: Conversation, message: Message) -> None:
    conversation.last_activity_at = max(conversation.last_activity_at, message.created_at)
    conversation.preview = _preview(message.text)
    conversation.message_count = (conversation.message_count or 0) + 1
