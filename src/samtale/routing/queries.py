"""Reads of routing: who could take a channel's conversations, and whether any of them is here."""

from __future__ import annotations

from django.core.cache import cache

from samtale.availability.roster import statuses
from samtale.core.clock import now
from samtale.inbox.models import Channel
from samtale.inbox.queries import inbox_members
from samtale.routing.models import RoutingRule

TAKERS_CACHE_SECONDS = 10


def takers(channel: Channel) -> list[int]:
    """Ids of the teammates a new conversation of the channel could go to: its routing rule's
    targets when it has one, else everyone usable with access to the inbox."""
    from samtale.routing.actions import candidates

    rule = RoutingRule.objects.filter(channel=channel, enabled=True).select_related("channel__inbox").first()
    if rule is not None:
        return candidates(rule)
    return [
        u.pk
        for u in inbox_members(channel.inbox)
        if u.is_active and u.membership.deactivated_at is None and u.membership.removed_at is None
    ]


def anyone_available(channel: Channel) -> bool:
    """Is someone who could take a new conversation of the channel Available now (B9)? Asked for
    every chat visitor who arrives: who could take it is kept a few seconds per channel; their
    statuses come from the roster's cache, which a status change clears at once."""
    key = f"routing:takers:{channel.pk}"
    people = cache.get(key)
    if people is None:
        people = takers(channel)
        cache.set(key, people, TAKERS_CACHE_SECONDS)
    return bool(people) and any(s.available for s in statuses(people, now()).values())
