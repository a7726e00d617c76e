from __future__ import annotations

from samtale.core.events import Event, account_group

MEMBERS_CHANGED = "account.members_changed"


def members_changed(account_id: int, user_id: int) -> Event:
    return Event(type=MEMBERS_CHANGED, groups=(account_group(account_id),), data={"user_id": user_id})
