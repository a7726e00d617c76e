"""Acting on several conversations at once (C10) and purging Trash."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction

from samtale.accounts.models import User
from samtale.core.audit import audit
from samtale.core.clock import now
from samtale.core.events import publish_on_commit
from samtale.inbox import events
from samtale.inbox.actions.conversations import _bot_still_talking
from samtale.inbox.actions.privacy import delete_for_good
from samtale.inbox.counters import counted
from samtale.inbox.hooks import conversation_closed, conversations_reopened
from samtale.inbox.models import (
    Conversation,
    Inbox,
    Status,
)

log = logging.getLogger(__name__)


def _bulk(inbox: Inbox, acting_user: User, ids: Iterable[int]) -> list[Conversation]:
    from samtale.inbox.access import access_inbox

    access_inbox(acting_user, inbox.pk)
    wanted = {int(i) for i in ids}
    found = list(Conversation.objects.filter(inbox=inbox, pk__in=wanted))
    if len(found) != len(wanted):
        from django.http import Http404

        raise Http404("No such conversation")
    return found


def bulk_close(inbox: Inbox, *, acting_user: User, ids: Iterable[int]) -> list[int]:
    """Close the open ones (a bot still talking keeps its chat); returns the ids that closed."""
    return _set_status(inbox, acting_user, ids, Status.CLOSED, now(), "conversation.bulk_closed")


def bulk_reopen(inbox: Inbox, *, acting_user: User, ids: Iterable[int]) -> list[int]:
    """Open the closed ones again, owners kept (the undo of a bulk close); returns the ids reopened."""
    return _set_status(inbox, acting_user, ids, Status.OPEN, None, "conversation.bulk_reopened")


def _set_status(
    inbox: Inbox, acting_user: User, ids: Iterable[int], status: str, closed_at: datetime | None, verb: str
) -> list[int]:
    """Closed (`closed_at`) or open again (None): only those not so already; returns the ids changed."""
    conversations = _bulk(inbox, acting_user, ids)
    with transaction.atomic(), counted(conversations) as rows:
        changing = [c for c in rows if c.status != status]
        if status == Status.CLOSED:
            changing = [c for c in changing if not _bot_still_talking(c)]
        for c in changing:
            c.status, c.closed_at = status, closed_at
        pks = [c.pk for c in changing]
        Conversation.objects.filter(pk__in=pks).update(status=status, closed_at=closed_at)
        audit(inbox.account, acting_user, verb, inbox, ids=pks)
        publish_on_commit(events.conversations_changed(inbox.pk, pks, "status"))
        if status == Status.OPEN and changing:
            conversations_reopened(changing, acting_user)
        if status == Status.CLOSED:  # as closing one: a chat ends, a survey is scheduled
            for c in changing:
                conversation_closed(c)
    return pks


def bulk_trash(inbox: Inbox, *, acting_user: User, ids: Iterable[int]) -> list[int]:
    return _set_trashed(inbox, acting_user, ids, now(), "conversation.bulk_trashed")


def bulk_restore(inbox: Inbox, *, acting_user: User, ids: Iterable[int]) -> list[int]:
    """Out of Trash, back where they were."""
    return _set_trashed(inbox, acting_user, ids, None, "conversation.bulk_restored")


def _set_trashed(inbox: Inbox, acting_user: User, ids: Iterable[int], at: datetime | None, verb: str) -> list[int]:
    """Into Trash (`at`) or out of it (None): only those not there already; returns the ids moved."""
    conversations = _bulk(inbox, acting_user, ids)
    with transaction.atomic(), counted(conversations) as rows:
        moving = [c for c in rows if (c.trashed_at is None) != (at is None)]
        for c in moving:
            c.trashed_at = at
        pks = [c.pk for c in moving]
        Conversation.objects.filter(pk__in=pks).update(trashed_at=at)
        audit(inbox.account, acting_user, verb, inbox, ids=pks)
        publish_on_commit(events.conversations_changed(inbox.pk, pks, "trash"))
    return pks


def bulk_delete_forever(inbox: Inbox, *, acting_user: User, ids: Iterable[int]) -> int:
    """Gone from the inbox and from the contact record; only what is in Trash (the rest is left)."""
    conversations = _bulk(inbox, acting_user, ids)
    with transaction.atomic():
        doomed = [c for c in Conversation.objects.select_for_update().filter(pk__in=[c.pk for c in conversations]) if c.trashed_at is not None]  # fmt: skip
        pks = [c.pk for c in doomed]
        audit(inbox.account, acting_user, "conversation.bulk_deleted", inbox, ids=pks)
        delete_for_good(doomed, acting_user)
    return len(pks)


def purge_trash(*, older_than: timedelta) -> int:
    """Delete forever what has sat in Trash too long (run by the worker)."""
    cutoff = now() - older_than
    total = 0
    for inbox_id in Conversation.objects.filter(trashed_at__lt=cutoff).values_list("inbox_id", flat=True).distinct():
        with transaction.atomic():
            doomed = list(Conversation.objects.filter(inbox_id=inbox_id, trashed_at__lt=cutoff)[:5000])
            total += delete_for_good(doomed, None)
    return total
