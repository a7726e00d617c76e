"""Who decides owners: the inbox assigns, a router decides (the routing app plugs itself in here,
so the inbox core imports no app above it). Without a router, conversations stay unassigned."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from samtale.accounts.models import User
    from samtale.inbox.models import Conversation


class Router(Protocol):
    def decide(self, conversation: Conversation) -> User | None:
        """The owner for a new conversation (possibly not stored yet), its turn counted; the
        inbox assigns it. None: nobody (no rule, nobody available)."""

    def route(self, conversation: Conversation) -> User | None:
        """Choose an owner for a new (or handed-over) conversation and assign it; None: nobody."""

    def reroute_if_owner_away(self, conversation: Conversation) -> User | None:
        """The contact wrote again or an agent reopened it: route again if its owner is away."""


class _Unrouted:
    def decide(self, conversation: Conversation) -> User | None:
        return None

    def route(self, conversation: Conversation) -> User | None:
        return None

    def reroute_if_owner_away(self, conversation: Conversation) -> User | None:
        return None


router: Router = _Unrouted()


def set_router(chosen: Router) -> None:
    global router
    router = chosen
