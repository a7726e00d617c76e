"""Event types of the CRM. A contact is the account's: its changes go to the account's group,
carrying ids only (a browser refetches what it shows)."""

from __future__ import annotations

from samtale.core.events import Event, account_group

CONTACT_CHANGED = "contact.changed"


def contact_changed(account_id: int, contact_ids: list[int], change: str) -> Event:
    return Event(
        type=CONTACT_CHANGED,
        groups=(account_group(account_id),),
        data={"contact_ids": contact_ids[:500], "change": change},
    )
