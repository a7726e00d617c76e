"""Open WebSockets follow access as it changes, tried with real WebSocket clients against a real
server: removed from an inbox, the socket stops receiving that inbox's events; deactivated, it is
closed; a password change closes it and the old session cannot come back. Notifications about
an inbox the user left are no longer shown."""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import os
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.e2e.conftest import PASSWORD, Server, prepare_database, start_server
from tests.e2e.test_realtime import run

pytestmark = pytest.mark.e2e


class Session:
    """A signed-in browser without a browser: cookies, and CSRF for posting forms."""

    def __init__(self, server: Server, email: str, password: str = PASSWORD) -> None:
        self.server = server
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.post("/login/", {"username": email, "password": password})
        assert "sessionid" in self.cookies(), f"{email} could not sign in"

    def cookies(self) -> dict[str, str]:
        return {c.name: c.value for c in self.jar}

    def get(self, path: str) -> str:
        return self.opener.open(self.server.base_url + path, timeout=10).read().decode()

    def post(self, path: str, data: dict[str, str]) -> str:
        page = self.get(path if path == "/login/" else "/settings/password/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token}).encode()
        request = urllib.request.Request(
            self.server.base_url + path, data=body, headers={"Referer": self.server.base_url + path}
        )
        try:
            return self.opener.open(request, timeout=10).read().decode()
        except urllib.error.HTTPError as exc:
            return exc.read().decode()

    @property
    def cookie_header(self) -> str:
        return f"sessionid={self.cookies()['sessionid']}"


async def watch(server: Server, cookie: str, act: Any, seconds: float = 3.0) -> tuple[list[dict[str, Any]], int | None]:
    """Connect, do `act` (in a thread), and collect events until quiet or closed: (events, close code)."""
    url = server.base_url.replace("http://", "ws://") + "/ws/agent/"
    received: list[dict[str, Any]] = []
    async with websockets.connect(url, additional_headers={"Cookie": cookie, "Origin": server.base_url}) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["event"] == "hello"
        await asyncio.get_running_loop().run_in_executor(None, act)
        try:
            while True:
                received.append(json.loads(await asyncio.wait_for(ws.recv(), seconds)))
        except TimeoutError:
            return received, None
        except ConnectionClosed:
            return received, ws.close_code


@pytest.fixture(scope="module")
def access_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("access")
    env, seed = prepare_database(tmp, f"access_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")
    server = start_server(env, tmp / "server.log")
    server.seed = seed
    yield server
    server.stop()


def test_removed_from_an_inbox_the_socket_stops_receiving_it(access_server: Server) -> None:
    server, seed = access_server, access_server.seed
    admin, carol = Session(server, "alice@acme.test"), Session(server, "carol@acme.test")
    cid, inbox = seed["conversations"]["ws"], seed["inbox"]
    token = seed["tokens"]["agent"]
    server.api("POST", f"/api/v1/conversations/{cid}/comments", token, {"text": "@Carol Agent before"})
    assert "E2E ws" in carol.get("/notifications/")  # mentioned while a member

    def remove_then_act() -> None:
        admin.post(f"/settings/inboxes/{inbox}/members/remove/", {"user": str(seed["users"]["agent2"])})
        server.api("POST", f"/api/v1/conversations/{cid}/comments", token, {"text": "after removal"})

    events, closed = run(watch(server, carol.cookie_header, remove_then_act))
    assert closed is None  # still a member of the account: the socket stays, re-subscribed
    assert any(e["event"] == "access.changed" for e in events)
    assert not [e for e in events if e["event"] == "conversation.changed"], events  # the comment after removal
    assert "E2E ws" not in carol.get("/notifications/")  # nor shown the notifications of the inbox she left


def test_a_deactivated_users_socket_is_closed(access_server: Server) -> None:
    server, seed = access_server, access_server.seed
    admin, dave = Session(server, "alice@acme.test"), Session(server, "dave@acme.test")

    def deactivate() -> None:
        admin.post(f"/settings/users/{seed['users']['noperm']}/deactivate/", {})

    events, closed = run(watch(server, dave.cookie_header, deactivate))
    assert closed == 4403, events


def test_a_password_change_closes_the_socket_and_the_old_session_stays_out(access_server: Server) -> None:
    server = access_server
    old, changer = Session(server, "bob@acme.test"), Session(server, "bob@acme.test")
    new_password = "a brand new passphrase"

    def change() -> None:
        page = changer.post("/settings/password/", {"current": PASSWORD, "new": new_password, "repeat": new_password})
        assert "Your password was changed" in page

    _events, closed = run(watch(server, old.cookie_header, change))
    assert closed == 4401

    async def reconnect() -> None:
        url = server.base_url.replace("http://", "ws://") + "/ws/agent/"
        async with websockets.connect(
            url, additional_headers={"Cookie": old.cookie_header, "Origin": server.base_url}
        ) as ws:
            await asyncio.wait_for(ws.recv(), 5)

    with pytest.raises((InvalidStatus, ConnectionClosed)):
        run(reconnect())
    assert "/login/" in old.opener.open(server.base_url + "/settings/", timeout=10).geturl()  # signed out
    run(watch(server, changer.cookie_header, lambda: None, seconds=0.5))  # the tab that changed it stays in
