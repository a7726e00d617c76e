"""Event types of tickets: a ticket is the account's, its changes go to the account's group with
ids only (a browser refetches what it shows)."""

from __future__ import annotations

from samtale.core.events import Event, account_group

TICKET_CHANGED = "ticket.changed"


def ticket_changed(account_id: int, ticket_ids: list[int], conversation_ids: list[int], change: str) -> Event:
    return Event(
        type=TICKET_CHANGED,
        groups=(account_group(account_id),),
        data={"ticket_ids": ticket_ids[:500], "conversation_ids": conversation_ids[:500], "change": change},
    )
