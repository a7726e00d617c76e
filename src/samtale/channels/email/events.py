"""Event types of the email channel."""

from __future__ import annotations

from samtale.core.events import Event, account_group

INTAKE_CHANGED = "mail.intake_changed"


def intake_changed(account_id: int) -> Event:
    """Parked messages of the account changed: admins' notices and the intake page refresh."""
    return Event(type=INTAKE_CHANGED, groups=(account_group(account_id),), data={"account_id": account_id})
