"""REST API: The signed-in user's notifications."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from samtale.api import schemas as s
from samtale.api.common import _user
from samtale.inbox import actions, queries

router = Router()


@router.get("/notifications", response=list[s.NotificationOut], tags=["notifications"])
def list_notifications(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {"id": n.pk, "kind": n.kind, "actor_id": n.actor_id, "conversation_id": n.conversation_id,
         "comment_id": n.comment_id, "created_at": n.created_at, "read": n.read_at is not None}
        for n in queries.notifications(_user(request), limit=100)
    ]  # fmt: skip


@router.post("/notifications/read", response=s.BulkOut, tags=["notifications"])
def read_notifications(request: HttpRequest) -> dict[str, int]:
    user = _user(request)
    return {"updated": actions.mark_notifications_read(user, acting_user=user)}
