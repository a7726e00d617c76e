"""The agent WebSocket: joins the user's groups and relays events. It decides nothing.

Access is followed two ways. Changes made through Samtale's actions reach open sockets at once as
events (removed from an inbox, deactivated, a new password). Changes made around them (an
operator's `samtale changepassword`, a shell, a migration, a session deleted) are caught by a
re-check every SAMTALE_SOCKET_RECHECK_SECONDS: the session still exists and still matches the
password, the user is still an active member, with the same inboxes. What a re-check reads is
cached per user and per session for that long, so thousands of sockets cost a query per user a
minute, not one per socket."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import Any, TypeGuard

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import HASH_SESSION_KEY
from django.core.exceptions import PermissionDenied
from django.utils.crypto import constant_time_compare

from samtale.core.bounds import MAX_ID
from samtale.core.events import ACCESS_CHANGED, SESSION_CHANGED, account_group, inbox_group, user_group
from samtale.core.metrics import WEBSOCKETS
from samtale.core.sockets import DirectDispatch

log = logging.getLogger(__name__)


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


def _session_alive(session_key: str) -> bool:
    """The session is there and not past its expiry date. (Not `store.exists()`: that finds expired
    rows too, which stay until `clearsessions`; and the database's row, not the cache's copy.)"""
    from django.conf import settings
    from django.contrib.sessions.backends.base import SessionBase
    from django.utils.module_loading import import_string

    store_class = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    if hasattr(store_class, "get_model_class"):  # db, cached_db
        from django.utils import timezone

        model = store_class.get_model_class()
        return bool(model.objects.filter(session_key=session_key, expire_date__gt=timezone.now()).exists())
    store: SessionBase = store_class(session_key)
    return bool(store.load()) and store.session_key is not None


MIN_RECHECK_SECONDS = 1  # (0 in the settings would be a loop of queries)


def _access_now(user_id: int, session_key: str, session_hash: str) -> tuple[str, list[str]]:
    """("" or why the socket must close, the groups it should be in), read through the cache."""
    from django.conf import settings
    from django.core.cache import cache

    from samtale.accounts.models import User

    ttl = max(MIN_RECHECK_SECONDS, int(settings.SAMTALE_SOCKET_RECHECK_SECONDS))
    session_alive = cache.get(f"sock:session:{session_key}")
    if session_alive is None:
        session_alive = bool(session_key) and _session_alive(session_key)
        cache.set(f"sock:session:{session_key}", session_alive, ttl)
    if not session_alive:
        return "session", []
    facts = cache.get(f"sock:user:{user_id}")
    if facts is None:
        user = User.objects.filter(pk=user_id, is_active=True).first()
        facts = (
            {"hash": user.get_session_auth_hash(), "groups": _groups_for_now(user)}
            if user
            else {"hash": "", "groups": []}
        )
        cache.set(f"sock:user:{user_id}", facts, ttl)
    if not facts["hash"] or not session_hash or not constant_time_compare(facts["hash"], session_hash):
        return "session", []
    return ("" if facts["groups"] else "access"), list(facts["groups"])


class AgentConsumer(DirectDispatch, AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    groups_joined: list[str]
    last_typing: dict[int, float]
    watching: asyncio.Task[None] | None = None
    access_epoch = 0  # ACCESS_CHANGED events seen

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.resubscribing = asyncio.Lock()

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
        session = self.scope.get("session")
        self.session_key = str(getattr(session, "session_key", "") or "")
        self.session_hash = (
            str(await database_sync_to_async(lambda: session.get(HASH_SESSION_KEY, ""))()) if session else ""
        )
        self.watching = asyncio.create_task(self._watch_access())
        await self.send_json({"event": "hello", "groups": len(self.groups_joined)})

    async def _watch_access(self) -> None:
        """Every SAMTALE_SOCKET_RECHECK_SECONDS (spread a little, so sockets opened together do not
        all ask at once): close when the session or the access is gone, follow changed inboxes."""
        from django.conf import settings
        from django.core.cache import cache

        user = self.scope["user"]
        period = max(float(MIN_RECHECK_SECONDS), float(settings.SAMTALE_SOCKET_RECHECK_SECONDS))
        while True:
            await asyncio.sleep(period * random.uniform(0.8, 1.0))
            try:
                epoch = self.access_epoch
                gone, groups = await database_sync_to_async(_access_now)(user.pk, self.session_key, self.session_hash)
                if epoch != self.access_epoch:
                    # access changed while we read: what we read (and cached) may be from before it
                    cache.delete(f"sock:user:{user.pk}")
                    continue
                if gone == "session":
                    await self.send_json({"event": SESSION_CHANGED})
                    await self.close(code=4401)
                    return
                if gone or set(groups) != set(self.groups_joined):
                    await self._resubscribe(groups)
                    if not self.groups_joined:
                        return
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup, a socket closing: try again next time, never stop
                log.exception("agent socket: could not re-check access")

    async def disconnect(self, code: int) -> None:
        if self.watching is not None:
            self.watching.cancel()
            with contextlib.suppress(BaseException):
                await self.watching
            self.watching = None
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
            from django.core.cache import cache

            self.access_epoch += 1  # (a re-check reading now may read from before the change)
            cache.delete(f"sock:user:{self.scope['user'].pk}")  # (the re-check's copy is stale now)
            await self._resubscribe()
        await self.send_json(message["payload"])

    async def _resubscribe(self, wanted: list[str] | None = None) -> None:
        """Into the groups the user's access gives now (`wanted`, else read again), one change at a
        time: the re-check and an ACCESS_CHANGED event may both arrive at once."""
        async with self.resubscribing:
            await self._resubscribe_now(wanted)

    async def _resubscribe_now(self, wanted: list[str] | None) -> None:
        user = self.scope.get("user")
        if wanted is None:
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
