"""Chat e2e helpers: a customer's site on its own origin that embeds the widget, and a real
WebSocket visitor speaking the widget's protocol."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import websockets

from tests.e2e.conftest import Server, free_port


@dataclass
class Site:
    """A customer's web site on 127.0.0.1:<its own port>: another origin than Samtale's."""

    port: int
    pages: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def embed(self, path: str, script_url: str, lang: str = "en", head: str = "") -> str:
        self.pages[path] = (
            f'<!doctype html><html lang="{lang}"><head><title>Shop {path}</title>{head}</head>'
            f'<body><h1>Our shop</h1><p>Products…</p><script src="{script_url}" async></script></body></html>'
        )
        return self.origin + path


@contextmanager
def site() -> Iterator[Site]:
    found = Site(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = found.pages.get(self.path.split("?")[0])
            body = (page or "not found").encode()
            self.send_response(200 if page else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            # the site's own strict policy: the widget must work under it (no inline styles or scripts)
            self.send_header("Content-Security-Policy", "default-src 'self'; script-src 'self' http://127.0.0.1:*; "
                             "connect-src 'self' http://127.0.0.1:* ws://127.0.0.1:*; img-src 'self' http://127.0.0.1:*")  # fmt: skip
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", found.port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        httpd.shutdown()
        httpd.server_close()


def allow(server: Server, channel_id: int, origins: list[str]) -> dict[str, Any]:
    token = server.seed["tokens"]["admin"]
    result: dict[str, Any] = server.api(
        "PATCH", f"/api/v1/channels/{channel_id}/chat-widget", token, {"allowed_origins": origins}
    )
    return result


class Visitor:
    """A real WebSocket client speaking the widget's protocol."""

    def __init__(self, server: Server, key: str, origin: str, token: str = "") -> None:
        self.url = server.base_url.replace("http://", "ws://") + f"/ws/chat/{key}/"
        self.origin, self.token = origin, token
        self.ws: Any = None
        self.inbox: list[dict[str, Any]] = []

    async def __aenter__(self) -> Visitor:
        self.ws = await websockets.connect(self.url, additional_headers={"Origin": self.origin})
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.ws.close()

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.inbox.append(frame)
        return frame

    async def until(self, kind: str, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"no {kind} frame {match} in {timeout}s; got {self.inbox[-5:]}")
            frame = await self.recv(left)
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame

    async def hello(self, **extra: Any) -> dict[str, Any]:
        await self.send({"type": "hello", "token": self.token, "url": "http://shop.test/", "lang": "en", **extra})
        welcome = await self.until("welcome")
        self.token = welcome["token"] or self.token
        return welcome

    async def say(self, text: str, client_id: str = "") -> dict[str, Any]:
        client_id = client_id or uuid.uuid4().hex
        await self.send({"type": "message", "client_id": client_id, "text": text, "url": "http://shop.test/"})
        ack = await self.until("ack", client_id=client_id)
        self.token = ack["token"] or self.token
        return ack
