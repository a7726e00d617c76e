"""Template context shared by every screen."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from samtale.accounts.access import membership_of


def permissions(request: HttpRequest) -> dict[str, Any]:
    """`perms_inbox_settings`: may the signed-in user manage inboxes (read only when a template asks)."""

    def check() -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        try:
            return membership_of(user).has_permission("inbox_settings")
        except Exception:
            return False

    return {"perms_inbox_settings": SimpleLazyObject(check)}
