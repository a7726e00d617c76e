"""What happens to a person's conversations when they leave."""

from __future__ import annotations

import logging

from samtale.accounts.models import User
from samtale.core.events import publish_on_commit
from samtale.inbox import events
from samtale.inbox.counters import counted
from samtale.inbox.models import (
    Conversation,
)

log = logging.getLogger(__name__)


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
