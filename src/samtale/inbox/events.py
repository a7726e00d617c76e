"""Event types of the inbox. Browsers refetch the fragments an event names."""

from __future__ import annotations

from samtale.core.events import Event, account_group, inbox_group, user_group
from samtale.inbox.models import Conversation, Notification

CONVERSATION_CHANGED = "conversation.changed"
NOTIFICATION_CREATED = "notification.created"
INBOX_CHANGED = "inbox.changed"


def conversation_changed(conversation: Conversation, change: str, *, message_id: int | None = None) -> Event:
    data = {"inbox_id": conversation.inbox_id, "conversation_id": conversation.pk, "change": change}
    if message_id is not None:  # a new message: which one (a client may fetch just it)
        data["message_id"] = message_id
    return Event(type=CONVERSATION_CHANGED, groups=(inbox_group(conversation.inbox_id),), data=data)


def conversations_changed(inbox_id: int, conversation_ids: list[int], change: str) -> Event:
    return Event(
        type=CONVERSATION_CHANGED,
        groups=(inbox_group(inbox_id),),
        data={"inbox_id": inbox_id, "conversation_ids": conversation_ids, "change": change},
    )


def notification_created(notification: Notification) -> Event:
    return Event(
        type=NOTIFICATION_CREATED,
        groups=(user_group(notification.user_id),),
        data={
            "notification_id": notification.pk,
            "kind": notification.kind,
            "conversation_id": notification.conversation_id,
        },
    )


def inbox_changed(account_id: int, inbox_id: int) -> Event:
    return Event(type=INBOX_CHANGED, groups=(account_group(account_id),), data={"inbox_id": inbox_id})
