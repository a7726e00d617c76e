"""Cached statuses for hot paths (the router, the management page).

A status stays what it is until its `next_change`, so it can be cached until then. Any
change of a user's facts (hours, zone, out of office, manual status) drops their entry on
commit. Misses are computed in bulk from the stored facts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction

from samtale.availability.status import Status, status_at
from samtale.core import hub

KEY = "samtale:status:{}"
ZONE_KEY = "samtale:zone:{}"  # the user's time zone, read on every request (`middleware.zone_of`)
LONGEST = timedelta(hours=6)


def forget(user_id: int) -> None:
    # Now, and again after commit: a reader between the two may have cached the old facts.
    keys = [KEY.format(user_id), ZONE_KEY.format(user_id)]
    cache.delete_many(keys)
    transaction.on_commit(lambda: _forget_everywhere(*keys))


def _forget_everywhere(*keys: str) -> None:
    cache.delete_many(keys)
    hub.forget(*keys)  # the other processes of this server, when they share no cache (no Redis)


def statuses(user_ids: list[int], at: datetime) -> dict[int, Status]:
    """Status of each user at `at` (now-ish): cached while it cannot change."""
    from samtale.availability.queries import facts_for_ids

    found: dict[int, Status] = {}
    cached = cache.get_many([KEY.format(pk) for pk in user_ids])
    for pk in user_ids:
        entry = cached.get(KEY.format(pk))
        if entry is not None:
            status, valid_from, valid_until = entry
            if valid_from <= at < valid_until:
                found[pk] = status
    missing = [pk for pk in user_ids if pk not in found]
    if missing:
        facts = facts_for_ids(missing, at)
        fresh = {}
        for pk in missing:
            status = status_at(facts[pk], at)
            found[pk] = status
            until = min(status.next_change or at + LONGEST, at + LONGEST)
            fresh[KEY.format(pk)] = (status, at, until)
        cache.set_many(fresh, timeout=int(LONGEST.total_seconds()))
    return found
