from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from samtale.accounts.models import ApiToken, User
from samtale.core import ratelimit
from samtale.core.clock import now


class TokenAuth(HttpBearer):
    """`Authorization: Bearer smt_…`; the token acts as its user, within the user's account."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        if not token.startswith("smt_"):
            return None
        try:
            api_token = ApiToken.objects.select_related("user").get(token_hash=ApiToken.hash(token))
        except ApiToken.DoesNotExist:
            return None
        user = api_token.user
        membership = user.membership_or_none
        if not user.is_active or membership is None or not membership.is_usable:
            return None
        if api_token.last_used_at is None or (now() - api_token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now())
        request.user = user
        return user

    def __call__(self, request: HttpRequest) -> Any:
        ip = request.META.get("REMOTE_ADDR", "")
        if not ratelimit.hit(f"api:{ip}", "6000/m"):
            return None
        return super().__call__(request)
