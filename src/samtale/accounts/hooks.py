"""What other apps do when something happens to a user here, without this app naming them (the
inbox releases a removed user's conversations)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from samtale.accounts.models import User

UserRemoved = Callable[["User", "User | None"], int]
_on_user_removed: list[UserRemoved] = []


def on_user_removed(hook: UserRemoved) -> None:
    """`hook(user, acting_user)`, inside the removing transaction; returns how many things it changed."""
    if hook not in _on_user_removed:
        _on_user_removed.append(hook)


def user_removed(user: User, acting_user: User | None) -> int:
    return sum(hook(user, acting_user) for hook in _on_user_removed)
