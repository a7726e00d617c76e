"""What every WebSocket consumer of Samtale shares."""

from __future__ import annotations

from typing import Any

from channels.consumer import get_handler_name


class DirectDispatch:
    """Channels closes the shared sync thread's stale database connections before every handler:
    one hop to that single thread (which sync views share) per frame and per event, for every
    socket. Samtale's consumers reach the database only through `database_sync_to_async`, which
    does that around each call on the thread that runs it, so frames and events go straight to
    their handler."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
