"""Connections that hold the web server without asking anything of it are closed.

uvicorn times out a keep-alive connection between requests, but not a connection that is opened
and then sends nothing, nor one that sends its request headers a byte a second (slowloris), nor a
request body that stalls: each holds a socket and memory for as long as the other end likes. This
protocol is uvicorn's httptools protocol with three deadlines and a cap:

- the request line and headers must arrive within SAMTALE_HTTP_HEADER_TIMEOUT seconds of the
  connection (or of the request's first byte on a kept-alive one), WebSocket upgrades included;
- a request body may pause at most SAMTALE_HTTP_BODY_IDLE_SECONDS between chunks, and must be
  complete within SAMTALE_HTTP_BODY_TIMEOUT (uploads of tens of MB on slow links fit);
- one client address holds at most SAMTALE_MAX_CONNECTIONS_PER_ADDRESS connections to a web
  process (HTTP and WebSocket together); a trusted proxy's own address has no cap (its clients
  are many). Over it, a connection is answered 429 and closed.

Open WebSockets are kept honest by uvicorn's ping (`ws_ping_interval`/`ws_ping_timeout`)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

from django.conf import settings
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("samtale.httpguard")

# Connections per client address in this process (HTTP and upgraded WebSockets alike: the count
# follows the socket, which is released when it closes).
_open: Counter[str] = Counter()


def open_connections(address: str) -> int:
    return _open[address]


TOO_MANY = (
    b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 38\r\nconnection: close\r\n\r\nToo many connections from your address."
)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline: asyncio.TimerHandle | None = None
        self.body_deadline: asyncio.TimerHandle | None = None
        self.address = ""
        self.counted = False

    # ---------------------------------------------------------------- connections per address
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        from samtale.core.proxies import is_trusted

        self.address = self.client[0] if self.client else ""
        if self.address and not is_trusted(self.address):
            if _open[self.address] >= settings.SAMTALE_MAX_CONNECTIONS_PER_ADDRESS:
                log.warning("refused a connection from %s: %d open already", self.address, _open[self.address])
                transport.write(TOO_MANY)
                transport.close()
                return
            _open[self.address] += 1
            self.counted = True
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        release(self)
        super().connection_lost(exc)

    # ---------------------------------------------------------------- deadlines
    def _arm_header_deadline(self) -> None:
        self._cancel()
        self.deadline = self.loop.call_later(settings.SAMTALE_HTTP_HEADER_TIMEOUT, self._expired, "headers")

    def _cancel(self) -> None:
        for handle in (self.deadline, self.body_deadline):
            if handle is not None:
                handle.cancel()
        self.deadline = self.body_deadline = None

    def _expired(self, what: str) -> None:
        if not self.transport.is_closing():
            log.info("closed a connection from %s: its request %s did not arrive in time", self.address, what)
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.deadline is None:  # a kept-alive connection's next request: its headers, in time
            self._arm_header_deadline()

    def on_headers_complete(self) -> None:
        self._cancel()
        super().on_headers_complete()
        if not (self.parser.should_upgrade() and self._should_upgrade()):
            self.body_deadline = self.loop.call_later(settings.SAMTALE_HTTP_BODY_TIMEOUT, self._expired, "body")
            self._idle_body()

    def _idle_body(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
        self.deadline = self.loop.call_later(settings.SAMTALE_HTTP_BODY_IDLE_SECONDS, self._expired, "body")

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._idle_body()

    def on_message_complete(self) -> None:
        self._cancel()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Idle between requests (uvicorn armed its keep-alive timer: nothing is pipelined): the next
        # request's headers are due within the header deadline from now. uvicorn's own timer is
        # cancelled by any bytes, and blank lines between requests (which llhttp skips without a
        # message beginning) would otherwise hold the connection with no deadline at all.
        if getattr(self, "timeout_keep_alive_task", None) is not None and self.deadline is None:
            self._arm_header_deadline()

    def handle_websocket_upgrade(self) -> None:
        """The socket now belongs to the WebSocket protocol, whose connection_lost is not ours:
        the address's place is given back when that one's is called."""
        self._cancel()
        super().handle_websocket_upgrade()
        websocket = self.transport.get_protocol()
        lost = websocket.connection_lost

        def connection_lost(exc: Exception | None) -> None:
            release(self)
            lost(exc)

        websocket.connection_lost = connection_lost  # type: ignore[method-assign]


def release(protocol: GuardedHttpToolsProtocol) -> None:
    if protocol.counted:
        protocol.counted = False
        _open[protocol.address] -= 1
        if _open[protocol.address] <= 0:
            del _open[protocol.address]
