"""Helpers shared by the inbox's actions."""

from __future__ import annotations

import logging

from samtale.accounts.models import User
from samtale.core import batching
from samtale.core.clock import now
from samtale.core.events import publish_on_commit
from samtale.crm.models import Contact
from samtale.inbox import events
from samtale.inbox.models import (
    Comment,
    Conversation,
    Notification,
)

log = logging.getLogger(__name__)


def _require_inbox_access(user: User, conversation: Conversation) -> None:
    from samtale.inbox.access import access_conversation

    access_conversation(user, conversation.pk)


def _contact_text(contact: Contact | None) -> str:
    if contact is None:
        return ""
    return " ".join([contact.name, contact.email, contact.phone])


def _notify(
    user: User, kind: str, conversation: Conversation, *, actor: User | None, comment: Comment | None = None
) -> Notification:
    notification = Notification(
        account=conversation.account,
        user=user,
        kind=kind,
        actor=actor,
        conversation=conversation,
        comment=comment,
        created_at=now(),
    )
    scope = batching.current()
    if scope is None:
        notification.save()
        publish_on_commit(events.notification_created(notification))
        return notification
    # in a batch: one INSERT for all, each published once it has its id
    scope.add("notifications", notification, _write_notifications)
    return notification


def _write_notifications(pending: list[Notification]) -> None:
    Notification.objects.bulk_create(pending)
    for notification in pending:
        publish_on_commit(events.notification_created(notification))
