"""View counts kept by the write path, so reading every count is one small query at any size.

`keys_of` says which default views a conversation belongs to; it is the Python twin of
`queries.view_condition` (a test checks them against each other over every state). Actions
wrap their changes in `counted(...)`, which locks the conversations' rows, notes their
views before, and applies the +1/-1 differences after. `recount` rebuilds the counts from
the conversations themselves (run by the worker; it logs any drift it repairs).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import Count, F, Q

from samtale.inbox.models import ChannelKind, Conversation, Inbox, Status, ViewCount

log = logging.getLogger(__name__)

Key = tuple[str, int]  # (view key, user id or 0)
KIND_VIEWS: dict[str, str] = {
    ChannelKind.EMAIL.value: "email",
    ChannelKind.MESSENGER.value: "messenger",
    ChannelKind.FORM.value: "forms",
    ChannelKind.CALL.value: "calls",
}
STATE_FIELDS = (
    "status", "owner_id", "removed_owner_id", "bot", "awaiting_first_reply", "spam_at", "filtered_at",
    "trashed_at", "closed_at", "last_activity_at", "preview", "message_count", "channel_kind", "inbox_id",
)  # fmt: skip


def keys_of(c: Conversation) -> frozenset[Key]:
    live = c.spam_at is None and c.filtered_at is None and c.trashed_at is None
    is_open = c.status == Status.OPEN
    answered = not c.awaiting_first_reply
    keys: set[Key] = set()
    if live and is_open:
        if answered:
            keys.add(("all_open", 0))
            if c.owner_id is None and not c.bot:
                keys.add(("unassigned", 0))
            if c.owner_id is not None:
                keys.add(("mine", c.owner_id))
            if c.channel_kind in KIND_VIEWS:
                keys.add((KIND_VIEWS[c.channel_kind], 0))
        if c.channel_kind == ChannelKind.CHAT:
            keys.add(("chat", 0))
        if c.owner_id is None and c.bot:
            keys.add(("bots", 0))
    if live and c.status == Status.CLOSED:
        keys.add(("all_closed", 0))
    if live and c.awaiting_first_reply:
        keys.add(("sent", 0))
    if c.trashed_at is not None:
        keys.add(("trash", 0))
    elif c.spam_at is not None:
        keys.add(("spam", 0))
    elif c.filtered_at is not None:
        keys.add(("filtered", 0))
    return frozenset(keys)


def _tally(conversations: Iterable[Conversation]) -> Counter[tuple[int, str, int]]:
    out: Counter[tuple[int, str, int]] = Counter()
    for c in conversations:
        for key, user in keys_of(c):
            out[(c.inbox_id, key, user)] += 1
    return out


_pending = threading.local()


@contextmanager
def deferred() -> Iterator[None]:
    """Inside the outermost transaction of a busy write path: the +1/-1s of everything counted in
    it are summed and written last, just before the commit. A counter row is shared by every
    conversation of its view (all new chats of an inbox update the same three rows): its lock is
    then held for the last statements of the transaction, not for all of it, and concurrent
    writers queue on it that much less. Nested scopes join the outermost. Code inside that catches
    an error of a savepoint it rolled back must put the sum back (`mark`/`restore`)."""
    outer = getattr(_pending, "deltas", None)
    if outer is not None:
        yield
        return
    _pending.deltas = Counter()
    try:
        yield
        deltas = _pending.deltas
    finally:
        _pending.deltas = None
    _write(deltas)


def mark() -> Counter[tuple[int, str, int]] | None:
    deltas = getattr(_pending, "deltas", None)
    return Counter(deltas) if deltas is not None else None


def restore(saved: Counter[tuple[int, str, int]] | None) -> None:
    if saved is not None and getattr(_pending, "deltas", None) is not None:
        _pending.deltas = saved


def apply(deltas: Counter[tuple[int, str, int]]) -> None:
    pending = getattr(_pending, "deltas", None)
    if pending is not None:
        pending.update(deltas)
        return
    _write(deltas)


def _write(deltas: Counter[tuple[int, str, int]]) -> None:
    changes = sorted((ident, delta) for ident, delta in deltas.items() if delta)
    if not changes:
        return
    if len(changes) == 1:
        (inbox_id, key, user_id), delta = changes[0]
        row = ViewCount.objects.filter(inbox_id=inbox_id, key=key, user_id=user_id)
        if row.update(count=F("count") + delta):
            return
    # rows that do not exist yet are made (one INSERT that skips existing ones), then each is
    # changed in one statement run for all: sorted, so concurrent transactions take the counter
    # rows' locks in one order
    ViewCount.objects.bulk_create(
        [ViewCount(inbox_id=i, key=k, user_id=u, count=0) for (i, k, u), _d in changes], ignore_conflicts=True
    )
    table = connection.ops.quote_name(ViewCount._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET count = count + %s WHERE inbox_id = %s AND key = %s AND user_id = %s",  # noqa: S608 - the model's table
            [(delta, i, k, u) for (i, k, u), delta in changes],
        )


@contextmanager
def counted(
    conversations: Iterable[Conversation], *, created: bool = False, deleted: bool = False
) -> Iterator[list[Conversation]]:
    """Inside a transaction: lock the rows, refresh their state, yield them; then count the change."""
    items = list(conversations)
    # a conversation its caller read under its row lock in this transaction is fresh already
    stale = [c for c in items if not c.__dict__.pop("_counted_fresh", False)]
    if not created and stale:
        fresh = {c.pk: c for c in Conversation.objects.select_for_update().filter(pk__in=[c.pk for c in stale])}
        for c in items:
            if c.pk in fresh:
                for name in STATE_FIELDS:
                    setattr(c, name, getattr(fresh[c.pk], name))
    before = Counter() if created else _tally(items)
    yield items
    after = Counter() if deleted else _tally(items)
    after.subtract(before)
    apply(after)


def read(inbox: Inbox, user_id: int) -> dict[str, int]:
    from samtale.inbox.queries import VIEW_KEYS

    counts = dict.fromkeys(VIEW_KEYS, 0)
    rows = ViewCount.objects.filter(Q(user_id=0) | Q(key="mine", user_id=user_id), inbox=inbox)
    for key, count in rows.values_list("key", "count"):
        counts[key] = count
    return counts


def exact(inbox: Inbox) -> Counter[tuple[int, str, int]]:
    """The counts computed from the conversations (two aggregate queries)."""
    from samtale.inbox.queries import ANSWERED, LIVE, OPEN, VIEW_KEYS, view_condition

    shared = [k for k in VIEW_KEYS if k != "mine"]
    qs = Conversation.objects.filter(inbox=inbox)
    totals = qs.aggregate(**{k: Count("id", filter=view_condition(k, None)) for k in shared})
    out: Counter[tuple[int, str, int]] = Counter({(inbox.pk, k, 0): n for k, n in totals.items() if n})
    mine = LIVE & OPEN & ANSWERED & ~Q(owner=None)
    for owner_id, n in qs.filter(mine).values("owner_id").annotate(n=Count("id")).values_list("owner_id", "n"):
        out[(inbox.pk, "mine", owner_id)] = n
    return out


def recount(inbox: Inbox, *, report: bool = True) -> int:
    """Rebuild an inbox's counts; returns how many counters were wrong."""
    with transaction.atomic():
        current = {(inbox.pk, r.key, r.user_id): r for r in ViewCount.objects.select_for_update().filter(inbox=inbox)}
        truth = exact(inbox)
        wrong = 0
        for ident in set(current) | set(truth):
            want = truth.get(ident, 0)
            row = current.get(ident)
            if row is None:
                ViewCount.objects.create(inbox_id=ident[0], key=ident[1], user_id=ident[2], count=want)
                wrong += want != 0
            elif row.count != want:
                row.count = want
                row.save(update_fields=["count"])
                wrong += 1
    if wrong and report:
        log.warning("view counts of inbox %s drifted: %d counters repaired", inbox.pk, wrong)
    return wrong
