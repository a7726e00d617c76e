"""The visitor's WebSocket (`/ws/chat/<widget key>/`): the widget on a customer's site talks here.

Frames are JSON objects with a `type`. The widget says `hello` first (its token, the page, a signed
identity if the site has one) and gets `welcome` (its history, whether the team is available). A
`message` carries a client id and is acknowledged (`ack`) only after it is committed; re-sending an
unacknowledged one after a reconnect is safe (stored once). Anything else the visitor's widgets
should see (the team's messages, typing, read state, the chat ending) arrives as events on the
visitor's group, from any server process.

Hostile input gets a clear `error` frame: a malformed or oversize frame also closes the socket
(4400); too many connections or messages are refused with `rate_limited` (connections close, 4429).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from typing import Any

from channels.db import database_sync_to_async as _database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _

from samtale.channels.chat.models import ChatWidget
from samtale.core.bounds import MAX_ID
from samtale.core.metrics import CHAT_SOCKETS
from samtale.core.proxies import client_from, is_trusted
from samtale.core.sockets import DirectDispatch
from samtale.core.writes import writing

log = logging.getLogger(__name__)


def database_sync_to_async(fn: Any) -> Any:
    """A database call of a widget socket, on a thread of a pool rather than the one thread every
    socket of the process shares: visitors' messages are stored in parallel (PostgreSQL), and one
    slow call does not hold up everyone's."""
    return _database_sync_to_async(fn, thread_sensitive=False)


def writing_sync_to_async(fn: Any) -> Any:
    """A call that writes: on SQLite, socket threads take turns on the write gate (handed over at
    once) rather than polling SQLite's lock with sleeps."""

    def gated(*args: Any, **kwargs: Any) -> Any:
        with writing():
            return fn(*args, **kwargs)

    return database_sync_to_async(gated)


MAX_FRAME = 16 * 1024  # characters of one frame from a widget
PING_NOTE_EVERY = 45.0  # seconds between "still here" writes for one socket
TYPING_EVERY = 1.0  # a widget's typing signals are passed on at most this often


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def client_address(scope: dict[str, Any]) -> str:
    remote = (scope.get("client") or ("", 0))[0] or ""
    if remote and is_trusted(remote):
        return client_from(remote, _header(scope, b"x-forwarded-for"))
    return str(remote)


class VisitorConsumer(DirectDispatch, AsyncWebsocketConsumer):  # type: ignore[misc]
    widget: ChatWidget | None = None
    uid: uuid.UUID | None = None
    group: str = ""
    chat: tuple[int, int] | None = None  # (conversation id, inbox id) of the open chat
    greeted = False
    counted = False
    last_noted = 0.0
    last_typing = 0.0
    available: bool | None = None
    lang = "en"
    channel_name = ""
    connection_key = ""
    listening: asyncio.Task[None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Channels' consumer loop, except that the socket gets its channel-layer channel only
        when it first listens for a visitor (`_join`): a widget that never said anything, most of
        them on a busy site, holds no channel, no receiving task and no Redis subscription. Frames
        and events are still handled one at a time, in the order they are taken."""
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        self.turn = asyncio.Lock()
        try:
            await await_many_dispatch([receive], self._in_turn)
        except StopConsumer:
            pass
        finally:
            if self.listening is not None:
                self.listening.cancel()  # (the layer drops the channel and its subscription)
                with contextlib.suppress(BaseException):
                    await self.listening

    async def _in_turn(self, message: dict[str, Any]) -> None:
        async with self.turn:
            await self.dispatch(message)

    async def _listen(self) -> None:
        assert self.channel_layer is not None
        while True:
            message = await self.channel_layer.receive(self.channel_name)
            try:
                await self._in_turn(message)
            except Exception:  # the widget reconnects and catches up (`after`)
                log.exception("chat widget socket: an event failed")
                await self.close(code=1011)
                return

    # ------------------------------------------------------------------ connecting
    async def connect(self) -> None:
        from samtale.core.ratelimit import hit

        key = str(self.scope["url_route"]["kwargs"].get("key", ""))
        self.ip = client_address(self.scope)
        if not await database_sync_to_async(hit)(f"chat-connect:{self.ip}", settings.SAMTALE_CHAT_CONNECT_RATE):
            await self._refuse("rate_limited", "Too many connections from your address; try again in a minute.", 4429)
            return
        self.widget = await database_sync_to_async(_widget)(key)
        if self.widget is None:
            await self._refuse("unknown_widget", "There is no chat here.", 4404)
            return
        origin = _header(self.scope, b"origin").rstrip("/").lower()
        if origin not in {o.lower() for o in self.widget.allowed_origins}:
            await self._refuse("origin_refused", "This site may not use this chat.", 4403)
            return
        await self.accept()
        CHAT_SOCKETS.inc()
        self.counted = True

    async def _refuse(self, code: str, text: str, close_code: int) -> None:
        # Accepted only to say why: a browser shows a refused handshake as a bare failure.
        await self.accept()
        await self._error(code, text)
        await self.close(code=close_code)

    async def disconnect(self, code: int) -> None:
        if self.counted:
            CHAT_SOCKETS.dec()
            self.counted = False
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def _join(self, uid: uuid.UUID | None) -> None:
        if uid == self.uid:
            return
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        self.uid = uid
        self.group = f"chat.visitor.{uid.hex}" if uid else ""
        if self.group:
            if not self.channel_name:
                self.channel_name = await self.channel_layer.new_channel()
                self.listening = asyncio.create_task(self._listen())
            await self.channel_layer.group_add(self.group, self.channel_name)

    # ------------------------------------------------------------------ frames from the widget
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None or len(text_data) > MAX_FRAME:
            await self._error("bad_frame", f"Frames are JSON text of at most {MAX_FRAME} characters.")
            await self.close(code=4400)
            return
        try:
            frame = json.loads(text_data)
        except (ValueError, RecursionError):  # (RecursionError: arrays nested thousands deep)
            frame = None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self._error("bad_frame", "A frame is a JSON object with a type.")
            await self.close(code=4400)
            return
        kind = frame["type"]
        handler = getattr(self, f"on_{kind}", None) if kind in FRAME_TYPES else None
        if handler is None:
            await self._error("bad_frame", f"Unknown frame type {kind[:40]!r}.")
            await self.close(code=4400)
            return
        if kind != "hello" and not self.greeted:
            await self._error("bad_frame", "Say hello first.")
            await self.close(code=4400)
            return
        if not numbers_in_bounds(frame):
            await self._error(
                "invalid", f"Numbers in a frame are whole numbers from 0 to {MAX_ID}.", ref=frame.get("client_id")
            )
            return
        if kind == "hello":
            self.lang = "nb" if str(frame.get("lang") or "")[:2] in ("nb", "no", "nn") else "en"
        try:
            with translation.override(self.lang):  # what the visitor is told, in their language
                await handler(frame)
        except ValidationError as error:
            await self._error("invalid", " ".join(error.messages), ref=frame.get("client_id"))
        except Exception:  # our fault: say so and close; the widget reconnects and re-sends what was not acked
            log.exception("chat widget %s: %s frame failed", self.widget.key if self.widget else "?", kind)
            await self._error(
                "server_error", "Something went wrong on our side; reconnecting.", ref=frame.get("client_id")
            )
            await self.close(code=1011)

    async def on_hello(self, frame: dict[str, Any]) -> None:
        from samtale.channels.chat.actions import greet
        from samtale.channels.chat.queries import history

        assert self.widget is not None
        widget = self.widget

        def welcome() -> tuple[dict[str, Any], uuid.UUID | None, tuple[int, int] | None]:
            from samtale.channels.chat import flows
            from samtale.channels.chat.queries import message_json
            from samtale.routing.queries import anyone_available

            hello = greet(
                widget, token=frame.get("token"), identity=frame.get("identity"), url=frame.get("url"),
                title=frame.get("title"), language=frame.get("lang"),
            )  # fmt: skip
            after = frame["after"] if isinstance(frame.get("after"), int) else 0
            chat = hello.chat
            available = anyone_available(widget.channel)
            state: dict[str, Any] = {
                "type": "welcome",
                "token": hello.token,
                "identity": hello.identity,
                "available": available,
                "email_known": bool(hello.visitor and (hello.visitor.email or (hello.visitor.contact and hello.visitor.contact.email))),
                "messages": [message_json(m, widget, hello.visitor) for m in history(chat, after)] if hello.visitor else [],
                "chat": chat is not None,
                "read_up_to": chat.team_read_up_to if chat else 0,
                "buttons": flows.buttons_now(chat),
                "flow": None,
                "survey": None,
            }  # fmt: skip
            if chat is None:
                flow = flows.pick(widget, str(frame.get("url") or ""), available)
                if flow is not None:
                    said, _waiting, _stop = flows.opening(flow)
                    state["flow"] = {"id": flow.pk, "name": flow.name, "said": said}
            uid = hello.visitor.uid if hello.visitor else None
            if chat is None:
                from samtale.channels.chat.survey import pending_for

                state["survey"] = pending_for(widget, uid)
            return state, uid, (chat.conversation_id, chat.conversation.inbox_id) if chat else None

        state, uid, self.chat = await writing_sync_to_async(welcome)()
        await self._join(uid)
        self.greeted = True
        self.available = state["available"]
        self.last_noted = time.monotonic()
        await self._send(state)

    async def on_message(self, frame: dict[str, Any]) -> None:
        from samtale.channels.chat.actions import visitor_says
        from samtale.channels.chat.queries import message_json

        assert self.widget is not None
        widget = self.widget
        if not self.connection_key:
            self.connection_key = uuid.uuid4().hex
        # a visitor not stored yet is counted by this connection (not by "" shared with every new one)
        who = self.uid.hex if self.uid else f"conn-{self.connection_key}"
        if not await database_sync_to_async(_allowed)(
            [
                (f"chat-send:{who}", settings.SAMTALE_CHAT_SEND_RATE),
                (f"chat-send-ip:{self.ip}", settings.SAMTALE_CHAT_SEND_IP_RATE),
            ]
        ):
            await self._error(
                "rate_limited",
                "You are sending messages too fast; it will be sent in a moment.",
                ref=frame.get("client_id"),
            )
            return

        uid = self.uid
        new_uid = None
        if uid is None:
            # A first message: the socket listens for the new visitor's events before it is stored,
            # so what is published at its commit (a chatflow's answer) reaches this socket too.
            new_uid = uuid.uuid4()
            await self._join(new_uid)

        def store() -> tuple[dict[str, Any], uuid.UUID, tuple[int, int], bool]:
            said = visitor_says(
                widget, uid, client_id=frame.get("client_id"), text=frame.get("text", ""), url=frame.get("url"),
                title=frame.get("title"), flow=frame.get("flow"), new_uid=new_uid, language=self.lang,
            )  # fmt: skip
            ack = {
                "type": "ack", "client_id": frame.get("client_id"), "id": said.message.pk, "token": said.token,
                "message": message_json(said.message, widget, said.visitor),
            }  # fmt: skip
            return (
                ack, said.visitor.uid, (said.chat.conversation_id, said.message.conversation.inbox_id),
                said.chat.flow_id is not None,
            )  # fmt: skip

        try:  # returns after the commit: only then is the message acknowledged
            ack, stored_as, chat, flowing = await writing_sync_to_async(store)()
        except BaseException:
            if new_uid is not None:  # nothing was stored: no visitor to listen for
                await self._join(None)
            raise
        new_chat = chat != self.chat
        self.chat = chat
        await self._join(stored_as)
        await self._send(ack)
        if new_chat and flowing:  # the chatflow's greeting, shown before, is now stored ahead of this message
            await self._send(
                {"type": "sync", "messages": await database_sync_to_async(_messages)(widget, stored_as, chat[0])}
            )

    async def on_typing(self, frame: dict[str, Any]) -> None:
        from samtale.channels.chat import events
        from samtale.core.events import inbox_group

        moment = time.monotonic()
        on = bool(frame.get("on"))
        if self.chat is None or (on and moment - self.last_typing < TYPING_EVERY):
            return
        self.last_typing = moment if on else 0.0
        conversation_id, inbox_id = self.chat
        payload = {"event": events.TYPING, "inbox_id": inbox_id, "conversation_id": conversation_id, "on": on}
        await self.channel_layer.group_send(inbox_group(inbox_id), {"type": "samtale.event", "payload": payload})

    async def on_read(self, frame: dict[str, Any]) -> None:
        from samtale.channels.chat.actions import visitor_read

        if self.uid is not None:
            await writing_sync_to_async(visitor_read)(self.widget, self.uid, up_to=frame.get("up_to"))

    async def on_email(self, frame: dict[str, Any]) -> None:
        from samtale.channels.chat.actions import visitor_leaves_email
        from samtale.channels.chat.identity import visitor_token
        from samtale.core.ratelimit import hit

        assert self.widget is not None
        widget = self.widget
        if not await database_sync_to_async(hit)(f"chat-email:{self.ip}", settings.SAMTALE_CHAT_SEND_IP_RATE):
            await self._error("rate_limited", _("Too many requests; try again in a minute."))
            return

        def store() -> tuple[uuid.UUID, str]:
            visitor = visitor_leaves_email(widget, self.uid, email=frame.get("email"), name=frame.get("name"))
            return visitor.uid, visitor_token(widget.key, visitor.uid)

        uid, token = await writing_sync_to_async(store)()
        await self._join(uid)
        await self._send({"type": "email_saved", "token": token})

    async def on_transcript(self, frame: dict[str, Any]) -> None:
        from samtale.channels.chat.actions import visitor_wants_transcript
        from samtale.core.ratelimit import hit

        if self.uid is None:
            await self._error("invalid", _("There is no chat to send."))
            return
        if not await database_sync_to_async(hit)(f"chat-transcript:{self.uid.hex}", "3/h"):
            await self._error("rate_limited", _("The transcript was sent a moment ago."))
            return
        try:
            sent = await writing_sync_to_async(visitor_wants_transcript)(
                self.widget, self.uid, email=frame.get("email"), client=self.ip
            )
        except ValidationError as error:
            if error.code != "rate_limited":
                raise
            await self._error("rate_limited", " ".join(error.messages))
            return
        # "sent": to an address the visitor has proven; "confirm": a link went there first
        await self._send({"type": "transcript_sent" if sent == "sent" else "transcript_confirm"})

    async def on_feedback(self, frame: dict[str, Any]) -> None:
        """The visitor rates the chat that ended (the survey's signed token, their own chat)."""
        from samtale.channels.chat.survey import visitor_answers
        from samtale.core.ratelimit import hit

        if not await database_sync_to_async(hit)(f"chat-feedback:{self.ip}", "20/m"):
            await self._error("rate_limited", _("Too many requests; try again in a minute."))
            return
        survey = await writing_sync_to_async(visitor_answers)(self.widget, self.uid, frame)
        await self._send({"type": "feedback_saved", "score": survey.score})

    async def on_ping(self, frame: dict[str, Any]) -> None:
        from samtale.channels.chat.actions import still_here
        from samtale.routing.queries import anyone_available

        assert self.widget is not None
        widget = self.widget
        moment = time.monotonic()
        if self.uid is not None and moment - self.last_noted >= PING_NOTE_EVERY:
            self.last_noted = moment
            await writing_sync_to_async(still_here)(widget, self.uid, url=frame.get("url"))
        available = await database_sync_to_async(anyone_available)(widget.channel)
        if available != self.available:
            self.available = available
            await self._send({"type": "presence", "available": available})
        await self._send({"type": "pong"})

    # ------------------------------------------------------------------ events for this visitor
    async def samtale_event(self, message: dict[str, Any]) -> None:
        payload = dict(message["payload"])
        kind = payload.pop("event", "")
        if kind == "chat.ended":
            self.chat = None
        await self._send({"type": kind.removeprefix("chat."), **payload})

    async def _send(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame, separators=(",", ":")))

    async def _error(self, code: str, text: str, ref: Any = None) -> None:
        frame: dict[str, Any] = {"type": "error", "code": code, "message": text}
        if isinstance(ref, str):
            frame["client_id"] = ref[:64]
        await self._send(frame)


def numbers_in_bounds(frame: dict[str, Any]) -> bool:
    """Every number a frame gives (`after`, `up_to`, `flow`) is an id-sized whole number, what the
    database can hold: 10**30 as `up_to` would otherwise overflow the query (a `server_error`).
    (A signed identity's fields are text, checked with its hash.)"""
    return all(
        not isinstance(value, float) and (isinstance(value, bool) or not isinstance(value, int) or 0 <= value <= MAX_ID)
        for value in frame.values()
    )


FRAME_TYPES = frozenset({"hello", "message", "typing", "read", "email", "transcript", "ping", "feedback"})


def _widget(key: str) -> ChatWidget | None:
    from samtale.channels.chat.queries import widget_by_key

    return widget_by_key(key)


def _allowed(limits: list[tuple[str, str]]) -> bool:
    from samtale.core.ratelimit import hits

    return hits(limits)


def _messages(widget: ChatWidget, uid: uuid.UUID, conversation_id: int) -> list[dict[str, Any]]:
    from samtale.channels.chat.models import ChatSession
    from samtale.channels.chat.queries import history, message_json

    chat = (
        ChatSession.objects.filter(conversation_id=conversation_id, visitor__uid=uid).select_related("visitor").first()
    )
    return [message_json(m, widget, chat.visitor) for m in history(chat)] if chat is not None else []
