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


@pytest.fixture(scope="module")
def rechecking_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Sockets re-check their access every second (60 s in production)."""
    tmp = tmp_path_factory.mktemp("recheck")
    env, seed = prepare_database(tmp, f"recheck_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")
    env["SAMTALE_SOCKET_RECHECK_SECONDS"] = "1"
    server = start_server(env, tmp / "server.log")
    server.seed = seed
    yield server
    server.stop()


def operator(server: Server, *command: str, stdin: str = "") -> str:
    """A command on the server's machine, around Samtale's screens (its own process)."""
    import subprocess
    import sys
    from pathlib import Path

    samtale = str(Path(sys.executable).parent / "samtale")
    done = subprocess.run(
        [samtale, *command], env=server.env, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def changepassword(server: Server, email: str, password: str) -> str:
    """Django's own command, which asks twice on a terminal (getpass discards typed-ahead input, so
    each answer waits for its prompt): run on a pseudo-terminal of its own."""
    import pty
    import select
    import sys
    import time
    from pathlib import Path

    samtale = str(Path(sys.executable).parent / "samtale")
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, with the pty as its terminal
        os.execve(samtale, [samtale, "changepassword", email], server.env)  # noqa: S606
    said, answered, deadline = b"", 0, time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _w, _x = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the command ended
            break
        if not chunk:
            break
        said += chunk
        if said.count(b"assword") > answered and said.rstrip().endswith(b":"):
            os.write(fd, password.encode() + b"\n")
            answered += 1
    os.close(fd)
    _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, said
    return said.decode(errors="replace")


def shell(server: Server, code: str) -> None:
    operator(server, "shell", "-c", code)


@pytest.mark.parametrize(
    "change",
    ["changepassword", "password from a shell", "deactivated from a shell", "removed from a shell", "sessions cleared",
     "session expired"],
)  # fmt: skip
def test_an_operators_change_reaches_open_sockets_too(rechecking_server: Server, change: str) -> None:
    """No event is published for these: the socket finds out by itself within its re-check period."""
    server = rechecking_server
    email = {"changepassword": "eve@evil.test", "password from a shell": "bob@acme.test",
             "deactivated from a shell": "dave@acme.test", "removed from a shell": "alice@acme.test",
             "sessions cleared": "carol@acme.test", "session expired": "carol@acme.test"}[change]  # fmt: skip
    session = Session(server, email)
    users = "from samtale.accounts.models import User, Membership; from django.utils import timezone; "

    def act() -> None:
        if change == "changepassword":
            assert "changed successfully" in changepassword(server, email, "another long passphrase")
        elif change == "password from a shell":
            shell(server, users + f"u = User.objects.get(email='{email}'); u.set_password('x' * 20); u.save()")
        elif change == "deactivated from a shell":
            shell(server, users + f"User.objects.filter(email='{email}').update(is_active=False)")
        elif change == "removed from a shell":
            shell(server, users + f"Membership.objects.filter(user__email='{email}').update(removed_at=timezone.now())")
        elif change == "session expired":  # (a tab left open past the session's age: the row stays)
            shell(server, users + "from django.contrib.sessions.models import Session; from datetime import timedelta; "
                  "Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))")  # fmt: skip
        else:
            operator(
                server,
                "shell",
                "-c",
                "from django.contrib.sessions.models import Session; Session.objects.all().delete()",
            )

    events, closed = run(watch(server, session.cookie_header, act, seconds=4.0))
    if change in ("deactivated from a shell", "removed from a shell"):
        # (deactivated: the session no longer finds its user, which signs it out — either code closes it)
        assert closed in (4401, 4403), (closed, events)
    else:
        assert closed == 4401, (closed, events)


def test_an_inbox_removed_from_a_shell_is_followed_without_closing(rechecking_server: Server) -> None:
    server, seed = rechecking_server, rechecking_server.seed
    session = Session(server, "carol@acme.test")
    cid, inbox, token = seed["conversations"]["ws"], seed["inbox"], seed["tokens"]["agent"]

    async def scenario() -> tuple[list[dict[str, Any]], int | None]:
        url = server.base_url.replace("http://", "ws://") + "/ws/agent/"
        received: list[dict[str, Any]] = []
        async with websockets.connect(
            url, additional_headers={"Cookie": session.cookie_header, "Origin": server.base_url}
        ) as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["event"] == "hello"
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, lambda: shell(
                server, f"from samtale.inbox.models import Inbox; Inbox.objects.get(pk={inbox}).members.remove({seed['users']['agent2']})"
            ))  # fmt: skip
            await asyncio.sleep(3.0)  # three re-check periods
            await loop.run_in_executor(
                None, lambda: server.api("POST", f"/api/v1/conversations/{cid}/comments", token, {"text": "after"})
            )
            try:
                while True:
                    received.append(json.loads(await asyncio.wait_for(ws.recv(), 2.0)))
            except TimeoutError:
                return received, None
            except ConnectionClosed:
                return received, ws.close_code

    events, closed = run(scenario())
    assert closed is None, events  # still a member of the account
    assert not [e for e in events if e.get("conversation_id") == cid], events
