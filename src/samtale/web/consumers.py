"""The agent WebSocket: joins the user's groups and relays events. It decides nothing."""

from __future__ import annotations

import time
from typing import Any, TypeGuard

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import PermissionDenied

from samtale.core.bounds import MAX_ID
from samtale.core.events import ACCESS_CHANGED, SESSION_CHANGED, account_group, inbox_group, user_group
from samtale.core.metrics import WEBSOCKETS
from samtale.core.sockets import DirectDispatch


async def _groups_for(user: Any) -> list[str]:
    groups: list[str] = await database_sync_to_async(_groups_for_now)(user)
    return groups


def _groups_for_now(user: Any) -> list[str]:
    from samtale.accounts.access import membership_of
    from samtale.inbox.access import accessible_inboxes

    try:
        membership = membership_of(user)
    except PermissionDenied:
        return []
    groups = [user_group(user.pk), account_group(membership.account_id)]
    groups += [inbox_group(pk) for pk in accessible_inboxes(user).values_list("pk", flat=True)]
    return groups


def _an_id(value: object) -> TypeGuard[int]:
    """A number the page sends is a database id, or the frame is ignored (10**30 would overflow)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


class AgentConsumer(DirectDispatch, AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    groups_joined: list[str]
    last_typing: dict[int, float]

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.groups_joined = []
        self.last_typing = {}
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.groups_joined = await _groups_for(user)
        if not self.groups_joined:
            await self.close(code=4403)
            return
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        WEBSOCKETS.inc()
        self.counted = True
        await self.send_json({"event": "hello", "groups": len(self.groups_joined)})

    async def disconnect(self, code: int) -> None:
        if getattr(self, "counted", False):
            WEBSOCKETS.dec()
            self.counted = False
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "ping":
            await self.send_json({"event": "pong"})
        elif kind in ("typing", "seen"):
            await self._in_conversation(kind, content)

    async def _in_conversation(self, kind: str, content: dict[str, Any]) -> None:
        """The agent is typing in, or has seen, a conversation: the channel tells the contact."""
        from django.http import Http404

        from samtale.inbox.actions import agent_seen, agent_typing

        conversation_id, user = content.get("conversation"), self.scope.get("user")
        if not _an_id(conversation_id) or user is None:
            return
        moment = time.monotonic()
        on = bool(content.get("on"))
        if kind == "typing" and on and moment - self.last_typing.get(conversation_id, 0.0) < 1.0:
            return  # at most one "typing" a second per conversation
        self.last_typing[conversation_id] = moment if on else 0.0
        try:
            if kind == "typing":
                await database_sync_to_async(agent_typing)(user, conversation_id, on=on)
            elif _an_id(content.get("up_to")):
                await database_sync_to_async(agent_seen)(user, conversation_id, up_to=content["up_to"])
        except (Http404, PermissionDenied):
            await self.send_json({"event": "error", "message": "No such conversation."})

    async def samtale_event(self, message: dict[str, Any]) -> None:
        kind = message["payload"].get("event")
        if kind == SESSION_CHANGED:  # the password changed: this socket's session may be stale
            await self.send_json(message["payload"])
            await self.close(code=4401)
            return
        if kind == ACCESS_CHANGED:  # deactivated, removed, or inboxes changed: follow the user's access now
            await self._resubscribe()
        await self.send_json(message["payload"])

    async def _resubscribe(self) -> None:
        user = self.scope.get("user")
        if user is not None:
            from samtale.accounts.access import forget_membership

            forget_membership(user)  # read it again, not the one read at connect
        wanted = await _groups_for(user) if user is not None else []
        for group in set(self.groups_joined) - set(wanted):
            await self.channel_layer.group_discard(group, self.channel_name)
        for group in set(wanted) - set(self.groups_joined):
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = wanted
        if not wanted:
            await self.close(code=4403)
