"""Signing in and finding the signed-in user on each request."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from samtale.accounts.models import User


class MemberBackend(ModelBackend):
    """Django's model backend, but the user of a request comes with their membership and account
    in the same query: every screen and API call asks for them (`access.membership_of`)."""

    def get_user(self, user_id: Any) -> User | None:
        user = User.objects.select_related("membership__account").filter(pk=user_id).first()
        if user is None or not self.user_can_authenticate(user):
            return None
        return user
