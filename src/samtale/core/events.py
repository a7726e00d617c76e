"""Real-time events: published by actions after commit, relayed to browsers by consumers.

An event names its recipients as channel-layer groups (an inbox, a user, an account);
the browser receives the event and refetches the fragments it names.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)

# Tests subscribe here to see what an action published.
_listeners: list[Any] = []


def inbox_group(inbox_id: int) -> str:
    return f"inbox.{inbox_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def account_group(account_id: int) -> str:
    return f"account.{account_id}"


@dataclass(frozen=True)
class Event:
    type: str
    groups: tuple[str, ...]
    data: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        return {"event": self.type, **self.data}


def _send(event: Event) -> None:
    for listener in list(_listeners):
        listener(event)
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "samtale.event", "payload": event.payload()}
    for group in event.groups:
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:  # a broken channel layer must never undo a committed write
            log.exception("could not publish %s to %s", event.type, group)


def publish_on_commit(event: Event) -> None:
    transaction.on_commit(lambda: _send(event), robust=True)


def event_as_dict(event: Event) -> dict[str, Any]:
    return asdict(event)


ACCESS_CHANGED = "access.changed"  # the user's groups must be recomputed (or the socket closed)
SESSION_CHANGED = "session.changed"  # the user's password changed: sockets close, stale sessions stay out


def access_changed(user_id: int) -> Event:
    return Event(type=ACCESS_CHANGED, groups=(user_group(user_id),), data={"user_id": user_id})


def session_changed(user_id: int) -> Event:
    return Event(type=SESSION_CHANGED, groups=(user_group(user_id),), data={"user_id": user_id})
