"""`samtale serve --web-processes N`: HTTP and WebSockets served by N processes on one port (every
core), sharing real-time events (through Redis, or without it through the parent's hub), each
started again when it dies."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import websockets

from tests.e2e.conftest import children_running, prepare_database, process_info, start_server
from tests.e2e.test_realtime import REDIS_URL, run, session_cookie

pytestmark = pytest.mark.e2e


@contextlib.contextmanager
def stopped(pid: int) -> Iterator[None]:
    """`pid` stopped (SIGSTOP) meanwhile: the other web process accepts every new connection."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def web_children(pid: int, count: int) -> list[int]:
    return children_running(pid, " web --fd ", count, seconds=30.0)


@pytest.mark.parametrize("shared_by", ["hub", "redis"])
def test_two_web_processes_share_the_port_and_the_events_and_one_that_dies_comes_back(
    tmp_path_factory: pytest.TempPathFactory, shared_by: str
) -> None:
    """Without Redis (the default SQLite install) the events go through the parent's hub; with it,
    through Redis."""
    extra = {}
    if shared_by == "redis":
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()  # Redis is required, never skipped
        extra["SAMTALE_REDIS_URL"] = REDIS_URL
    tmp = tmp_path_factory.mktemp("web_processes")
    env, seed = prepare_database(tmp, f"webprocs_{shared_by}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}", extra)
    server = start_server(env, tmp / "server.log", "--web-processes", "2", "--no-smtp")
    try:
        first, second = web_children(server.process.pid, 2)
        cid, token = seed["conversations"]["ws"], seed["tokens"]["agent"]
        cookie = session_cookie(server, "carol@acme.test")
        url = server.base_url.replace("http://", "ws://") + "/ws/agent/"

        async def scenario() -> list[dict[str, Any]]:
            # the socket can only be accepted by the second process (the first is stopped) ...
            os.kill(first, signal.SIGSTOP)
            try:
                ws = await websockets.connect(url, additional_headers={"Cookie": cookie, "Origin": server.base_url})
                assert json.loads(await asyncio.wait_for(ws.recv(), 5))["event"] == "hello"
            finally:
                os.kill(first, signal.SIGCONT)
            # ... and the change can only be made by the first (the second is stopped)
            os.kill(second, signal.SIGSTOP)
            try:
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: server.api("POST", f"/api/v1/conversations/{cid}/close", token)
                )
            finally:
                os.kill(second, signal.SIGCONT)
            received = []
            try:
                while not any(e.get("conversation_id") == cid for e in received):
                    received.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
            except TimeoutError:
                pass
            await ws.close()
            return received

        received = run(scenario())
        assert any(e["event"] == "conversation.changed" and e.get("conversation_id") == cid for e in received), received

        # a status changed through one process is seen by the other, which had it cached
        def owner_menu() -> str:
            request = urllib.request.Request(server.base_url + f"/c/{cid}/owner/", headers={"Cookie": cookie})
            with urllib.request.urlopen(request, timeout=5) as response:
                return str(response.read().decode())

        with stopped(first):
            assert "● Bob Agent" in owner_menu()  # now cached in the second process
        with stopped(second):
            server.api("POST", f"/api/v1/users/{seed['users']['agent']}/status", token, {"action": "away"})
        with stopped(first):
            assert "○ Bob Agent (away)" in owner_menu()

        # one dies: the other goes on answering, and the server starts a new one in its place
        os.kill(first, signal.SIGKILL)
        with urllib.request.urlopen(server.base_url + "/login/", timeout=5) as response:
            assert response.status == 200
        replaced = web_children(server.process.pid, 2)
        assert first not in replaced and second in replaced
        with urllib.request.urlopen(server.base_url + "/login/", timeout=5) as response:
            assert response.status == 200
    finally:
        server.stop()
    # and none outlives the server
    for pid in (second, *replaced):
        assert not os.path.exists(f"/proc/{pid}") or process_info(pid)[0] == "Z"


def test_a_rate_limit_is_one_limit_whatever_the_number_of_web_processes(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The default install (no Redis) serves on two processes: half the requests can only reach
    one of them, half the other, and still the address gets its 60 feed requests, not 120, and its
    6 sign-in attempts, not 12."""
    import http.cookiejar
    import re
    import time
    import urllib.error
    import urllib.parse

    tmp = tmp_path_factory.mktemp("web_limits")
    env, _seed = prepare_database(tmp, f"weblimits_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")
    # per day: one window for the whole test (a window's counts start again at its end)
    env["SAMTALE_FEED_RATE"], env["SAMTALE_LOGIN_RATE"] = "60/d", "6/d"
    if (to_midnight := 86400 - time.time() % 86400) < 120:
        time.sleep(to_midnight + 1)
    server = start_server(env, tmp / "server.log", "--web-processes", "2", "--no-smtp")
    try:
        first, second = web_children(server.process.pid, 2)

        def feed() -> int:
            try:
                with urllib.request.urlopen(server.base_url + "/calendar/no-such-feed.ics", timeout=10) as response:
                    return int(response.status)
            except urllib.error.HTTPError as error:
                return int(error.code)

        codes = []
        with stopped(first):
            codes += [feed() for _ in range(35)]
        with stopped(second):
            codes += [feed() for _ in range(35)]
        assert codes == [404] * 60 + [429] * 10, codes

        def sign_in(n: int) -> str:  # (another address each time: no backoff, only the address's limit)
            jar = http.cookiejar.CookieJar()
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            html = opener.open(server.base_url + "/login/", timeout=10).read().decode()
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
            data = urllib.parse.urlencode(
                {"username": f"nobody{n}@acme.test", "password": "not it", "csrfmiddlewaretoken": token}
            ).encode()
            request = urllib.request.Request(
                server.base_url + "/login/", data=data, headers={"Referer": server.base_url + "/login/"}
            )
            return str(opener.open(request, timeout=10).read().decode())

        answers = []
        with stopped(first):
            answers += [sign_in(n) for n in range(4)]
        with stopped(second):
            answers += [sign_in(n) for n in range(4, 8)]
        refused = ["Too many sign-in attempts" in answer for answer in answers]
        assert refused == [False] * 6 + [True] * 2, refused
    finally:
        server.stop()
