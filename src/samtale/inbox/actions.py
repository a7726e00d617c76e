"""The one write path of the inbox: permission, write, audit, event on commit."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from html import escape
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from samtale.accounts.access import membership_of, require_permission
from samtale.accounts.models import Account, User
from samtale.core.audit import audit
from samtale.core.bounds import check_header_text
from samtale.core.clock import now
from samtale.core.events import access_changed, publish_on_commit
from samtale.core.html import sanitize, text_to_html, to_text
from samtale.crm.actions import get_or_create_contact_by_email
from samtale.crm.models import Contact
from samtale.inbox import adapters, assignment, events, search
from samtale.inbox.adapters import ChannelAdapter
from samtale.inbox.counters import counted
from samtale.inbox.models import (
    BlockedSender,
    Channel,
    ChannelKind,
    Comment,
    Conversation,
    CustomView,
    DeliveryStatus,
    Direction,
    Inbox,
    Message,
    Notification,
    NotificationKind,
    Status,
)
from samtale.inbox.queries import Filters, inbox_members

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- inboxes and channels


def create_inbox(account: Account, *, acting_user: User | None, name: str, members: Iterable[User] = ()) -> Inbox:
    if acting_user is not None:
        require_permission(acting_user, "inbox_settings")
    name = name.strip()
    if not name:
        raise ValidationError(_("An inbox needs a name."))
    with transaction.atomic():
        inbox = Inbox.objects.create(account=account, name=name)
        inbox.members.set([m for m in members if _same_account(m, account)])
        audit(account, acting_user, "inbox.created", inbox, name=name)
        publish_on_commit(events.inbox_changed(account.pk, inbox.pk))
    return inbox


def rename_inbox(inbox: Inbox, *, acting_user: User, name: str) -> Inbox:
    require_permission(acting_user, "inbox_settings")
    if not name.strip():
        raise ValidationError(_("An inbox needs a name."))
    with transaction.atomic():
        inbox.name = name.strip()
        inbox.save(update_fields=["name"])
        audit(inbox.account, acting_user, "inbox.renamed", inbox, name=inbox.name)
        publish_on_commit(events.inbox_changed(inbox.account_id, inbox.pk))
    return inbox


def _same_account(user: User, account: Account) -> bool:
    membership = user.membership_or_none
    return membership is not None and membership.account_id == account.pk


def add_inbox_member(inbox: Inbox, *, acting_user: User | None, user: User) -> None:
    if acting_user is not None:
        require_permission(acting_user, "inbox_settings")
    if not _same_account(user, inbox.account):
        raise PermissionDenied("That user is not in this account.")
    with transaction.atomic():
        inbox.members.add(user)
        audit(inbox.account, acting_user, "inbox.member_added", inbox, user_id=user.pk)
        publish_on_commit(events.inbox_changed(inbox.account_id, inbox.pk))
        publish_on_commit(access_changed(user.pk))


def remove_inbox_member(inbox: Inbox, *, acting_user: User, user: User) -> None:
    require_permission(acting_user, "inbox_settings")
    with transaction.atomic():
        inbox.members.remove(user)
        audit(inbox.account, acting_user, "inbox.member_removed", inbox, user_id=user.pk)
        publish_on_commit(events.inbox_changed(inbox.account_id, inbox.pk))
        publish_on_commit(access_changed(user.pk))


def create_channel(
    inbox: Inbox,
    *,
    acting_user: User | None,
    kind: str,
    name: str,
    address: str = "",
    config: dict[str, Any] | None = None,
) -> Channel:
    if acting_user is not None:
        require_permission(acting_user, "inbox_settings")
    if kind not in ChannelKind.values:
        raise ValidationError(_("Unknown channel kind."))
    address = address.strip().lower() if kind == ChannelKind.EMAIL else address.strip()
    if kind == ChannelKind.EMAIL:
        from django.core.validators import validate_email

        validate_email(address)
    # Only this account's own channels are looked at: whether another account uses the address
    # is nobody's business here (an email address is verified before it receives anything).
    if address and Channel.objects.filter(account=inbox.account, kind=kind, address=address).exists():
        raise ValidationError(_("That address is already connected to one of your inboxes."))
    with transaction.atomic():
        channel = Channel.objects.create(
            account=inbox.account,
            inbox=inbox,
            kind=kind,
            name=name.strip() or address or kind,
            address=address,
            config=config or {},
            verified_at=None if kind == ChannelKind.EMAIL else now(),
        )
        audit(inbox.account, acting_user, "channel.created", channel, kind=kind, address=address)
        publish_on_commit(events.inbox_changed(inbox.account_id, inbox.pk))
        for hook in _channel_created_hooks:
            hook(channel)
    return channel


_channel_created_hooks: list[Any] = []


def on_channel_created(hook: Any) -> None:
    """A channel package's step for its new channels (inside the creating transaction), e.g. the
    email package mails the address its confirmation. The inbox core names no channel."""
    if hook not in _channel_created_hooks:
        _channel_created_hooks.append(hook)


def mark_channel_broken(channel: Channel, *, reason: str) -> None:
    """The channel failed permanently (credentials refused, a token revoked…): shown in settings and
    on the inbox, and replies through it are refused with the reason, until it works again."""
    reason = reason.strip()[:1000]
    with transaction.atomic():
        channel.broken_reason = reason
        if not Channel.objects.filter(pk=channel.pk).exclude(broken_reason=reason).update(broken_reason=reason):
            return  # already so: one audit row per change, not per failed attempt
        audit(channel.account, None, "channel.broken", channel, reason=reason)
        publish_on_commit(events.inbox_changed(channel.account_id, channel.inbox_id))


def mark_channel_working(channel: Channel, *, acting_user: User | None = None) -> None:
    """It works again (a delivery or a fetch succeeded, or its settings were changed)."""
    with transaction.atomic():
        channel.broken_reason = ""
        if not Channel.objects.filter(pk=channel.pk).exclude(broken_reason="").update(broken_reason=""):
            return
        audit(channel.account, acting_user, "channel.working", channel)
        publish_on_commit(events.inbox_changed(channel.account_id, channel.inbox_id))


def delete_channel(channel: Channel, *, acting_user: User) -> None:
    require_permission(acting_user, "inbox_settings")
    if channel.conversations.exists():
        raise ValidationError(_("This channel has conversations and cannot be removed."))
    with transaction.atomic():
        audit(channel.account, acting_user, "channel.deleted", channel, kind=channel.kind, address=channel.address)
        inbox_id = channel.inbox_id
        channel.delete()
        publish_on_commit(events.inbox_changed(channel.account_id, inbox_id))


# ---------------------------------------------------------------- arriving and sending


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
    sender_not_verified: bool = False  # claims a teammate's address without proof (mail.trust)


def prepare_inbound(inbound: InboundMessage) -> InboundMessage:
    """Sanitize the HTML and derive the plain text: CPU work on untrusted input, done before the
    write transaction of `receive_inbound` (an adapter may call it earlier still, outside its own)."""
    if inbound.prepared:
        return inbound
    html = sanitize(inbound.html) if inbound.html else text_to_html(inbound.text)
    return replace(
        inbound,
        html=html,
        text=inbound.text or to_text(html),
        quoted_html=sanitize(inbound.quoted_html) if inbound.quoted_html else "",
        prepared=True,
    )


def _role_address(address: str) -> bool:
    from django.conf import settings

    local = address.partition("@")[0].lower()
    return local in settings.SAMTALE_ROLE_ADDRESSES


def _is_blocked(account_id: int, kind: str, value: str) -> bool:
    return bool(value) and BlockedSender.objects.filter(account_id=account_id, kind=kind, value=value.lower()).exists()


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
    with transaction.atomic():
        if inbound.external_id:
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
        if contact is None and contact_address and "@" in contact_address:
            name = "" if outbound else inbound.sender_name
            contact = get_or_create_contact_by_email(account, contact_address, name)
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
            )
            if not outbound and _is_blocked(account.pk, channel.kind, inbound.sender_address):
                conversation.filtered_at = at
            elif not outbound and channel.kind == ChannelKind.EMAIL and _role_address(inbound.sender_address):
                conversation.spam_at = at
            conversation.save()
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
                delivery_status=DeliveryStatus.SENT if outbound else DeliveryStatus.NONE,
                external_id=inbound.external_id[:998],
                created_at=at,
            )
            _store_attachments(message, inbound.attachments)
            answered = not outbound and not inbound.auto_reply
            if answered:
                conversation.awaiting_first_reply = False
            if answered and not created and conversation.status == Status.CLOSED and conversation.trashed_at is None:
                conversation.status = Status.OPEN
                conversation.closed_at = None
            _touch(conversation, message)
            conversation.save()
        # an agent's own copy or an auto-reply: nobody needs to be assigned for it
        if answered and created:
            _route_new(conversation)
        elif answered and inbound.extra.get("route", True):
            _reroute(conversation)  # acts only when unassigned, or when the owner is away
        if created:
            search.set_document(conversation, [conversation.subject, _contact_text(contact), text])
        else:
            search.append_to_document(conversation, text)
        audit(account, None, "message.received", message, conversation_id=conversation.pk)
        publish_on_commit(events.conversation_changed(conversation, "message"))
    return message


def _store_attachments(message: Message, parts: Iterable[Any]) -> None:
    """Parts carry their bytes (`payload`), or, when large, the `path` of a file holding them,
    which is copied into storage in chunks."""
    from django.core.files import File
    from django.core.files.base import ContentFile

    from samtale.inbox.models import Attachment

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


def _route_new(conversation: Conversation) -> None:
    _route_safely(assignment.router.route, conversation)


def _reroute(conversation: Conversation) -> None:
    _route_safely(assignment.router.reroute_if_owner_away, conversation)


def _route_safely(decide: Any, conversation: Conversation) -> None:
    """Routing is a decision about a stored message, never a condition for storing it: if it
    fails (a broken rule, a user's data it cannot read), the conversation stays unassigned, is
    offered again by the backlog job, and the message is kept."""
    try:
        with transaction.atomic():
            decide(conversation)
    except Exception:
        log.exception("routing conversation %s failed; it stays unassigned", conversation.pk)
        conversation.refresh_from_db()


def _contact_text(contact: Contact | None) -> str:
    if contact is None:
        return ""
    return " ".join([contact.name, contact.email, contact.phone])


def _touch(conversation: Conversation, message: Message) -> None:
    conversation.last_activity_at = max(conversation.last_activity_at, message.created_at)
    conversation.preview = (message.text or "").replace("\n", " ")[:200]
    conversation.message_count = (conversation.message_count or 0) + 1


def _editor_body(text: str, html: str) -> tuple[str, str]:
    if html.strip():
        clean = sanitize(html)
        plain = to_text(clean)
    else:
        plain = text.strip()
        clean = text_to_html(plain)
    if not plain:
        raise ValidationError(_("The message is empty."))
    return plain, clean


def _require_inbox_access(user: User, conversation: Conversation) -> None:
    from samtale.inbox.access import access_conversation

    access_conversation(user, conversation.pk)


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
    conversation: Conversation, *, acting_user: User, text: str = "", html: str = "", channel_kind: str = ""
) -> Message:
    """Store an outbound reply, queued for delivery by the channel (the email issue sends it)."""
    _require_inbox_access(acting_user, conversation)
    if conversation.trashed_at is not None:
        raise ValidationError(_("Restore the conversation from Trash before replying."))
    plain, clean = _editor_body(text, html)
    kind = channel_kind or conversation.channel_kind
    if kind not in ChannelKind.values:
        raise ValidationError(_("Unknown channel."))
    channel, adapter = _sender(conversation.inbox, kind, conversation.channel)
    recipients = adapter.recipients(conversation)
    if not recipients:
        raise ValidationError(_("The contact has no address to send this to."))
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
        adapter.queue(message)
        _touch(conversation, message)
        conversation.save(update_fields=["last_activity_at", "preview", "message_count"])
        search.append_to_document(conversation, plain)
        audit(conversation.account, acting_user, "message.replied", message, conversation_id=conversation.pk)
        publish_on_commit(events.conversation_changed(conversation, "message"))
    return message


def compose_conversation(
    channel: Channel, *, acting_user: User, to: str, subject: str, text: str = "", html: str = ""
) -> Conversation:
    """A new outbound email: it sits in Sent until the contact answers (C1)."""
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
        contact = get_or_create_contact_by_email(channel.account, to, acting_user=acting_user)
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
            recipients=[contact.email],
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
        publish_on_commit(events.conversation_changed(conversation, "message"))
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


# ---------------------------------------------------------------- comments and mentions


def find_mentions(text: str, candidates: Iterable[User]) -> list[User]:
    """`@Full Name` (or `@email`) of a candidate, longest names first so prefixes don't steal."""
    lowered = text.lower()
    found: list[User] = []
    for user in sorted(candidates, key=lambda u: -len(u.name)):
        for handle in {user.name.lower(), user.email.lower()}:
            if not handle:
                continue
            pattern = r"(?<![\w@])@" + re.escape(handle) + r"(?![\w])"
            if re.search(pattern, lowered):
                found.append(user)
                lowered = re.sub(pattern, " ", lowered)
                break
    return found


def add_comment(conversation: Conversation, *, acting_user: User, text: str) -> Comment:
    _require_inbox_access(acting_user, conversation)
    text = text.strip()
    if not text:
        raise ValidationError(_("The comment is empty."))
    at = now()
    with transaction.atomic():
        comment = Comment.objects.create(
            account=conversation.account, conversation=conversation, author=acting_user, text=text, created_at=at
        )
        mentioned = [u for u in find_mentions(text, inbox_members(conversation.inbox)) if u.pk != acting_user.pk]
        comment.mentions.set(mentioned)
        for user in mentioned:
            _notify(user, NotificationKind.MENTION, conversation, actor=acting_user, comment=comment)
        with counted([conversation]):
            conversation.last_activity_at = max(conversation.last_activity_at, at)
            conversation.save(update_fields=["last_activity_at"])
        audit(conversation.account, acting_user, "comment.added", comment, mentions=[u.pk for u in mentioned])
        publish_on_commit(events.conversation_changed(conversation, "comment"))
    return comment


def _notify(
    user: User, kind: str, conversation: Conversation, *, actor: User | None, comment: Comment | None = None
) -> Notification:
    notification = Notification.objects.create(
        account=conversation.account,
        user=user,
        kind=kind,
        actor=actor,
        conversation=conversation,
        comment=comment,
        created_at=now(),
    )
    publish_on_commit(events.notification_created(notification))
    return notification


def mark_notifications_read(user: User, *, acting_user: User, ids: Iterable[int] | None = None) -> int:
    if acting_user.pk != user.pk:
        raise PermissionDenied("You can only read your own notifications.")
    qs = Notification.objects.filter(user=user, read_at=None)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    with transaction.atomic():
        count = qs.update(read_at=now())
    return count


# ---------------------------------------------------------------- owner, status, folders


def assign_conversation(conversation: Conversation, *, acting_user: User | None, owner: User | None) -> Conversation:
    """Give the conversation to a teammate with access to the inbox, or to nobody."""
    if acting_user is not None:
        _require_inbox_access(acting_user, conversation)
    if owner is not None:
        if owner.pk not in {u.pk for u in inbox_members(conversation.inbox)}:
            raise ValidationError(_("That person has no access to this inbox."))
        membership = owner.membership_or_none
        if membership is None or not membership.is_usable:
            raise ValidationError(_("That person is deactivated."))
    previous = conversation.owner_id
    if previous == (owner.pk if owner else None):
        return conversation
    with transaction.atomic(), counted([conversation]):
        conversation.owner = owner
        conversation.removed_owner = None
        conversation.save(update_fields=["owner", "removed_owner"])
        if owner is not None and (acting_user is None or owner.pk != acting_user.pk):
            _notify(owner, NotificationKind.ASSIGNMENT, conversation, actor=acting_user)
        audit(
            conversation.account,
            acting_user,
            "conversation.assigned",
            conversation,
            owner_id=owner.pk if owner else None,
            previous_owner_id=previous,
        )
        publish_on_commit(events.conversation_changed(conversation, "assignment"))
    return conversation


def hand_over_from_bot(conversation: Conversation, *, acting_user: User | None = None) -> User | None:
    """The bot hands the conversation to people (C9, B10): it leaves the Bots view and goes
    through routing now; with nobody available it waits unassigned and is offered again when
    someone is back. Returns the new owner, if any. `acting_user` None: the bot itself."""
    if acting_user is not None:
        _require_inbox_access(acting_user, conversation)
    if not conversation.bot:
        raise ValidationError(_("This conversation is not held by a bot."))
    with transaction.atomic():
        with counted([conversation]):
            bot = conversation.bot
            conversation.bot = ""
            conversation.save(update_fields=["bot"])
            audit(conversation.account, acting_user, "conversation.handed_over", conversation, bot=bot)
            publish_on_commit(events.conversation_changed(conversation, "assignment"))
        return assignment.router.route(conversation)


BOT_CLOSE_AFTER = timedelta(minutes=30)


def _bot_still_talking(conversation: Conversation) -> bool:
    """A bot conversation never handed to a person stays open until the visitor has been
    quiet for 30 minutes (C9)."""
    if not conversation.bot or conversation.owner_id is not None:
        return False
    last = (
        Message.objects.filter(conversation=conversation, direction=Direction.INBOUND)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return last is not None and now() - last < BOT_CLOSE_AFTER


def close_conversation(conversation: Conversation, *, acting_user: User) -> Conversation:
    _require_inbox_access(acting_user, conversation)
    if conversation.status == Status.CLOSED:
        return conversation
    if _bot_still_talking(conversation):
        raise ValidationError(_("A bot conversation can be closed after 30 minutes without visitor activity."))
    with transaction.atomic(), counted([conversation]):
        conversation.status = Status.CLOSED
        conversation.closed_at = now()
        conversation.save(update_fields=["status", "closed_at"])
        audit(conversation.account, acting_user, "conversation.closed", conversation)
        publish_on_commit(events.conversation_changed(conversation, "status"))
    return conversation


def reopen_conversation(conversation: Conversation, *, acting_user: User) -> Conversation:
    _require_inbox_access(acting_user, conversation)
    if conversation.status == Status.OPEN:
        return conversation
    with transaction.atomic(), counted([conversation]):
        conversation.status = Status.OPEN
        conversation.closed_at = None
        conversation.save(update_fields=["status", "closed_at"])
        audit(conversation.account, acting_user, "conversation.reopened", conversation)
        publish_on_commit(events.conversation_changed(conversation, "status"))
        if conversation.trashed_at is None and not conversation.spam_at and not conversation.filtered_at:
            _reroute(conversation)  # an owner who is away now does not keep it (B10, configurable)
    return conversation


def trash_conversation(conversation: Conversation, *, acting_user: User) -> Conversation:
    _require_inbox_access(acting_user, conversation)
    if conversation.trashed_at is not None:
        return conversation
    with transaction.atomic(), counted([conversation]):
        conversation.trashed_at = now()
        conversation.save(update_fields=["trashed_at"])
        audit(conversation.account, acting_user, "conversation.trashed", conversation)
        publish_on_commit(events.conversation_changed(conversation, "trash"))
    return conversation


def restore_conversation(conversation: Conversation, *, acting_user: User) -> Conversation:
    _require_inbox_access(acting_user, conversation)
    if conversation.trashed_at is None:
        return conversation
    with transaction.atomic(), counted([conversation]):
        conversation.trashed_at = None
        conversation.save(update_fields=["trashed_at"])
        audit(conversation.account, acting_user, "conversation.restored", conversation)
        publish_on_commit(events.conversation_changed(conversation, "trash"))
    return conversation


def delete_conversation_forever(conversation: Conversation, *, acting_user: User | None) -> None:
    """Gone from the inbox and from the contact record (only from Trash)."""
    if acting_user is not None:
        _require_inbox_access(acting_user, conversation)
    if conversation.trashed_at is None:
        raise ValidationError(_("Only conversations in Trash can be deleted forever."))
    with transaction.atomic(), counted([conversation], deleted=True):
        inbox_id, pk = conversation.inbox_id, conversation.pk
        audit(conversation.account, acting_user, "conversation.deleted", conversation, subject=conversation.subject)
        conversation.delete()
        publish_on_commit(events.conversations_changed(inbox_id, [pk], "deleted"))


def mark_spam(conversation: Conversation, *, acting_user: User) -> Conversation:
    """This thread only: future mail from the sender is not affected (that is block_sender)."""
    _require_inbox_access(acting_user, conversation)
    with transaction.atomic(), counted([conversation]):
        conversation.spam_at = now()
        conversation.save(update_fields=["spam_at"])
        audit(conversation.account, acting_user, "conversation.spam", conversation)
        publish_on_commit(events.conversation_changed(conversation, "folder"))
    return conversation


def unmark_spam(conversation: Conversation, *, acting_user: User) -> Conversation:
    _require_inbox_access(acting_user, conversation)
    with transaction.atomic(), counted([conversation]):
        conversation.spam_at = None
        conversation.save(update_fields=["spam_at"])
        audit(conversation.account, acting_user, "conversation.not_spam", conversation)
        publish_on_commit(events.conversation_changed(conversation, "folder"))
    return conversation


def block_sender(conversation: Conversation, *, acting_user: User) -> BlockedSender:
    """The thread goes to Filtered, and so does everything that sender sends from now on."""
    _require_inbox_access(acting_user, conversation)
    value = _sender_key(conversation)
    if not value:
        raise ValidationError(_("This conversation has no sender to block."))
    with transaction.atomic():
        blocked, _created = BlockedSender.objects.get_or_create(
            account=conversation.account,
            kind=conversation.channel_kind,
            value=value,
            defaults={"created_by": acting_user},
        )
        with counted([conversation]):
            conversation.filtered_at = now()
            conversation.save(update_fields=["filtered_at"])
        audit(conversation.account, acting_user, "sender.blocked", conversation, value=value)
        publish_on_commit(events.conversation_changed(conversation, "folder"))
    return blocked


def unblock_sender(conversation: Conversation, *, acting_user: User) -> int:
    """Lift the block and bring that sender's filtered conversations back; returns how many."""
    _require_inbox_access(acting_user, conversation)
    value = _sender_key(conversation)
    with transaction.atomic():
        BlockedSender.objects.filter(account=conversation.account, kind=conversation.channel_kind, value=value).delete()
        affected = list(
            Conversation.objects.filter(
                account=conversation.account, channel_kind=conversation.channel_kind, contact=conversation.contact
            ).exclude(filtered_at=None)
        )
        if conversation.spam_at is not None and conversation.pk not in {c.pk for c in affected}:
            affected.append(conversation)
        with counted(affected) as rows:
            for c in rows:
                c.filtered_at = None
                if c.pk == conversation.pk:
                    c.spam_at = None
                c.save(update_fields=["filtered_at", "spam_at"])
        ids = [c.pk for c in affected]
        audit(conversation.account, acting_user, "sender.unblocked", conversation, value=value, count=len(ids))
        for inbox_id in {c.inbox_id for c in affected}:
            changed = [c.pk for c in affected if c.inbox_id == inbox_id]
            publish_on_commit(events.conversations_changed(inbox_id, changed, "folder"))
    return len(ids)


# ---------------------------------------------------------------- hiding messages


def hide_message(message: Message, *, acting_user: User) -> Message:
    require_permission(acting_user, "hide_messages")
    _require_inbox_access(acting_user, message.conversation)
    if message.hidden_at is not None:
        return message
    with transaction.atomic():
        message.hidden_by = acting_user
        message.hidden_at = now()
        message.save(update_fields=["hidden_by", "hidden_at"])
        _refresh_shown_text(message.conversation)
        audit(message.account, acting_user, "message.hidden", message)
        publish_on_commit(events.conversation_changed(message.conversation, "hidden"))
    return message


def show_message(message: Message, *, acting_user: User) -> Message:
    """Only a super admin or the person who hid it may show it again (C12)."""
    membership = membership_of(acting_user)
    _require_inbox_access(acting_user, message.conversation)
    if message.hidden_at is None:
        return message
    if not membership.is_super_admin and message.hidden_by_id != acting_user.pk:
        raise PermissionDenied("Only super admins or the person who hid this message can show it.")
    with transaction.atomic():
        message.hidden_by = None
        message.hidden_at = None
        message.save(update_fields=["hidden_by", "hidden_at"])
        _refresh_shown_text(message.conversation)
        audit(message.account, acting_user, "message.shown", message)
        publish_on_commit(events.conversation_changed(message.conversation, "hidden"))
    return message


def _refresh_shown_text(conversation: Conversation) -> None:
    """The list preview and the search document hold message text: rebuild both from the messages
    that are not hidden, so a hidden message is found nowhere (C12) and comes back when shown."""
    visible = conversation.messages.filter(hidden_at=None)
    latest = visible.order_by("-created_at", "-id").values_list("text", flat=True).first()
    conversation.preview = (latest or "").replace("\n", " ")[:200]
    conversation.save(update_fields=["preview"])
    texts, size = [], 0
    for text in visible.order_by("id").values_list("text", flat=True).iterator(chunk_size=200):
        texts.append(text)
        size += len(text)
        if size >= search.MAX_DOCUMENT:
            break
    search.set_document(conversation, [conversation.subject, _contact_text(conversation.contact), *texts])


# ---------------------------------------------------------------- bulk


def _bulk(inbox: Inbox, acting_user: User, ids: Iterable[int]) -> list[Conversation]:
    from samtale.inbox.access import access_inbox

    access_inbox(acting_user, inbox.pk)
    wanted = {int(i) for i in ids}
    found = list(Conversation.objects.filter(inbox=inbox, pk__in=wanted))
    if len(found) != len(wanted):
        from django.http import Http404

        raise Http404("No such conversation")
    return found


def bulk_close(inbox: Inbox, *, acting_user: User, ids: Iterable[int]) -> int:
    conversations = _bulk(inbox, acting_user, ids)
    at = now()
    with transaction.atomic(), counted(conversations) as rows:
        closing = [c for c in rows if c.status == Status.OPEN and not _bot_still_talking(c)]
        for c in closing:
            c.status, c.closed_at = Status.CLOSED, at
        pks = [c.pk for c in closing]
        Conversation.objects.filter(pk__in=pks).update(status=Status.CLOSED, closed_at=at)
        audit(inbox.account, acting_user, "conversation.bulk_closed", inbox, ids=pks)
        publish_on_commit(events.conversations_changed(inbox.pk, pks, "status"))
    return len(pks)


def bulk_trash(inbox: Inbox, *, acting_user: User, ids: Iterable[int]) -> int:
    conversations = _bulk(inbox, acting_user, ids)
    at = now()
    with transaction.atomic(), counted(conversations) as rows:
        trashing = [c for c in rows if c.trashed_at is None]
        for c in trashing:
            c.trashed_at = at
        pks = [c.pk for c in trashing]
        Conversation.objects.filter(pk__in=pks).update(trashed_at=at)
        audit(inbox.account, acting_user, "conversation.bulk_trashed", inbox, ids=pks)
        publish_on_commit(events.conversations_changed(inbox.pk, pks, "trash"))
    return len(pks)


def purge_trash(*, older_than: timedelta) -> int:
    """Delete forever what has sat in Trash too long (run by the worker)."""
    cutoff = now() - older_than
    total = 0
    for inbox_id in Conversation.objects.filter(trashed_at__lt=cutoff).values_list("inbox_id", flat=True).distinct():
        with transaction.atomic():
            doomed = list(Conversation.objects.filter(inbox_id=inbox_id, trashed_at__lt=cutoff)[:5000])
            pks = [c.pk for c in doomed]
            with counted(doomed, deleted=True):
                Conversation.objects.filter(pk__in=pks).delete()
            total += len(pks)
            publish_on_commit(events.conversations_changed(inbox_id, pks, "deleted"))
    return total


# ---------------------------------------------------------------- custom views


def create_custom_view(inbox: Inbox, *, acting_user: User, name: str, filters: Filters, shared: bool) -> CustomView:
    from samtale.inbox.access import access_inbox

    access_inbox(acting_user, inbox.pk)
    if not name.strip():
        raise ValidationError(_("A view needs a name."))
    if not filters.active:
        raise ValidationError(_("Set at least one filter or a search before saving a view."))
    with transaction.atomic():
        view = CustomView.objects.create(
            account=inbox.account,
            inbox=inbox,
            owner=acting_user,
            name=name.strip()[:100],
            shared=shared,
            filters=filters.as_dict(),
        )
        audit(inbox.account, acting_user, "view.created", view, shared=shared)
        publish_on_commit(events.inbox_changed(inbox.account_id, inbox.pk))
    return view


def delete_custom_view(view: CustomView, *, acting_user: User) -> None:
    if view.owner_id != acting_user.pk and not membership_of(acting_user).is_super_admin:
        raise PermissionDenied("Only the owner can delete this view.")
    with transaction.atomic():
        audit(view.account, acting_user, "view.deleted", view)
        view.delete()
        publish_on_commit(events.inbox_changed(view.account_id, view.inbox_id))


# ---------------------------------------------------------------- people leaving


def release_conversations_of(user: User, *, acting_user: User | None) -> int:
    """A removed user's conversations become unassigned (C1), remembering who had them."""
    owned = list(Conversation.objects.filter(owner=user))
    with counted(owned) as rows:
        for c in rows:
            c.owner_id, c.removed_owner_id = None, user.pk
        count = Conversation.objects.filter(pk__in=[c.pk for c in rows]).update(owner=None, removed_owner=user)
    for inbox_id in {c.inbox_id for c in owned}:
        changed = [c.pk for c in owned if c.inbox_id == inbox_id]
        publish_on_commit(events.conversations_changed(inbox_id, changed, "assignment"))
    return count
