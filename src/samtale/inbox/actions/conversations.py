"""A conversation's owner, status and folders: assign, hand over from a bot, close, reopen, Trash, Spam, block."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from samtale.accounts.models import User
from samtale.core.audit import audit
from samtale.core.clock import now
from samtale.core.events import publish_on_commit
from samtale.crm.actions import add_timeline_entry, move_timeline_subject
from samtale.crm.models import Contact
from samtale.inbox import assignment, events
from samtale.inbox.actions._common import _notify, _require_inbox_access
from samtale.inbox.actions.receiving import _reroute, _sender_key
from samtale.inbox.counters import counted
from samtale.inbox.hooks import conversation_closed, conversations_reopened, sender_blocked
from samtale.inbox.models import (
    BlockedSender,
    Conversation,
    Direction,
    Message,
    NotificationKind,
    Status,
)
from samtale.inbox.queries import inbox_members

log = logging.getLogger(__name__)


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
        conversation_closed(conversation)
    return conversation


def on_conversation_closed(hook: Any) -> None:
    """A channel package's step when one of its conversations is closed (inside the closing
    transaction), e.g. a chat ends and its transcript is mailed to the visitor (C15)."""
    conversation_closed.register(hook)


def close_unattended_bot_conversation(conversation: Conversation) -> bool:
    """The bot's conversation the visitor left 30 minutes ago closes itself (C9)."""
    if conversation.status == Status.CLOSED or not conversation.bot or conversation.owner_id is not None:
        return False
    if _bot_still_talking(conversation):
        return False
    with transaction.atomic(), counted([conversation]):
        conversation.status = Status.CLOSED
        conversation.closed_at = now()
        conversation.save(update_fields=["status", "closed_at"])
        audit(conversation.account, None, "conversation.closed", conversation, by="bot inactivity")
        publish_on_commit(events.conversation_changed(conversation, "status"))
        conversation_closed(conversation)
    return True


def reopen_conversation(conversation: Conversation, *, acting_user: User, reroute: bool = True) -> Conversation:
    """Open again; `reroute=False` (the undo of a close) keeps the owner even if they are away."""
    _require_inbox_access(acting_user, conversation)
    if conversation.status == Status.OPEN:
        return conversation
    with transaction.atomic(), counted([conversation]):
        conversation.status = Status.OPEN
        conversation.closed_at = None
        conversation.save(update_fields=["status", "closed_at"])
        audit(conversation.account, acting_user, "conversation.reopened", conversation)
        publish_on_commit(events.conversation_changed(conversation, "status"))
        conversations_reopened([conversation], acting_user)
        if reroute and conversation.trashed_at is None and not conversation.spam_at and not conversation.filtered_at:
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
    from samtale.inbox.actions.privacy import delete_for_good

    with transaction.atomic():
        audit(conversation.account, acting_user, "conversation.deleted", conversation, subject=conversation.subject)
        delete_for_good([conversation], acting_user)


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
        sender_blocked(conversation, acting_user)
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


def change_contact(
    conversation: Conversation, *, contact: Contact | None, acting_user: User | None = None
) -> Conversation:
    """The conversation is with another contact (a chat visitor the site has now identified, a
    teammate associating the right person), or with none (the X). Its line on the timeline moves
    with it."""
    if acting_user is not None:
        _require_inbox_access(acting_user, conversation)
    if contact is not None and contact.account_id != conversation.account_id:
        raise ValidationError(_("That contact is not in this account."))
    if contact is not None and contact.merged_into_id is not None:
        raise ValidationError(_("That contact was merged into another one."))
    if conversation.contact_id == (contact.pk if contact is not None else None):
        return conversation
    with transaction.atomic():
        previous = conversation.contact_id
        conversation.contact = contact
        conversation.save(update_fields=["contact"])
        moved = move_timeline_subject("conversation", conversation.pk, contact)
        if contact is not None and not moved and conversation.spam_at is None and conversation.filtered_at is None:
            add_timeline_entry(
                contact, kind="conversation.started", at=conversation.created_at, subject_type="conversation",
                subject_id=conversation.pk, title=conversation.subject,
                data={"channel_kind": conversation.channel_kind, "inbox_id": conversation.inbox_id,
                      "outbound": conversation.awaiting_first_reply},
            )  # fmt: skip
        audit(conversation.account, acting_user, "conversation.contact_changed", conversation,
              contact_id=contact.pk if contact is not None else None, previous_contact_id=previous)  # fmt: skip
        publish_on_commit(events.conversation_changed(conversation, "contact"))
    return conversation


def move_conversations_to_contact(keep: Contact, merged: Contact, acting_user: User | None) -> int:
    """Two contacts were merged (crm.merge_contacts, inside its transaction): the merged one's
    conversations are the kept one's. The lists showing them redraw."""
    moved = list(Conversation.objects.filter(contact=merged).values_list("pk", "inbox_id"))
    Conversation.objects.filter(contact=merged).update(contact=keep)
    by_inbox: dict[int, list[int]] = {}
    for pk, inbox_id in moved:
        by_inbox.setdefault(inbox_id, []).append(pk)
    for inbox_id, ids in by_inbox.items():
        publish_on_commit(events.conversations_changed(inbox_id, ids, "contact"))
    return len(moved)
