from __future__ import annotations

from samtale.accounts.models import User
from samtale.core.events import Event, account_group

AVAILABILITY_CHANGED = "availability.changed"


def availability_changed(user: User, *, admin_set_away: bool = False) -> Event:
    from samtale.availability.roster import forget

    forget(user.pk)  # every change of a user's facts passes here
    return Event(
        type=AVAILABILITY_CHANGED,
        groups=(account_group(user.membership.account_id),),
        data={"user_id": user.pk, "admin_set_away": admin_set_away},
    )


FILTERS_CHANGED = "availability.filters_changed"


def filters_changed(account_id: int) -> Event:
    return Event(type=FILTERS_CHANGED, groups=(account_group(account_id),), data={})
