"""Real WebSocket clients against real servers: events reach the right people, and only them,
including across processes through Redis."""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.e2e.conftest import PASSWORD, Server, ingest_child, prepare_database, process_info, start_server

pytestmark = pytest.mark.e2e
REDIS_URL = "redis://127.0.0.1:6379/7"


def run(coro: Any) -> Any:
    """Run a coroutine on a fresh loop in its own thread: Playwright's sync API may own this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def session_cookie(server: Server, email: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(server.base_url + "/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    data = urllib.parse.urlencode({"username": email, "password": PASSWORD, "csrfmiddlewaretoken": token}).encode()
    opener.open(
        urllib.request.Request(server.base_url + "/login/", data=data, headers={"Referer": server.base_url + "/login/"})
    )
    cookies = {c.name: c.value for c in jar}
    return f"sessionid={cookies['sessionid']}"


async def collect(
    server: Server, cookie: str, trigger: Any, seconds: float = 2.0, until: Any = None
) -> list[dict[str, Any]]:
    """The events a socket receives after `trigger` runs: until `seconds` pass without one, or
    (with `until`) as soon as `until(received)` holds."""
    url = server.base_url.replace("http://", "ws://") + "/ws/agent/"
    async with websockets.connect(url, additional_headers={"Cookie": cookie, "Origin": server.base_url}) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert hello["event"] == "hello"
        await asyncio.get_running_loop().run_in_executor(None, trigger)
        received = []
        try:
            while True:
                received.append(json.loads(await asyncio.wait_for(ws.recv(), seconds)))
                if until is not None and until(received):
                    break
        except TimeoutError:
            pass
        return received


def test_a_teammate_receives_the_event_and_an_outsider_does_not(server: Server) -> None:
    cid = server.seed["conversations"]["ws"]
    token = server.seed["tokens"]["agent"]

    def act() -> None:
        server.api("POST", f"/api/v1/conversations/{cid}/comments", token, {"text": "@Carol Agent ping"})

    carol = run(collect(server, session_cookie(server, "carol@acme.test"), act))
    kinds = {(m["event"], m.get("conversation_id")) for m in carol}
    assert ("conversation.changed", cid) in kinds
    assert ("notification.created", cid) in kinds
    eve = run(collect(server, session_cookie(server, "eve@evil.test"), act, seconds=1.0))
    assert eve == []


def test_the_socket_refuses_anonymous_clients(server: Server) -> None:
    async def attempt() -> None:
        url = server.base_url.replace("http://", "ws://") + "/ws/agent/"
        async with websockets.connect(url, additional_headers={"Origin": server.base_url}) as ws:
            await asyncio.wait_for(ws.recv(), 5)

    with pytest.raises((InvalidStatus, ConnectionClosed)):
        run(attempt())


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "http://127.0.0.1:1", "https://{host}", "http://localhost:{port}", "http://localhost:8080"]
)  # fmt: skip
def test_a_foreign_origin_is_refused(server: Server, origin: str) -> None:
    """Another site, and pages on another port or scheme of the same host (origins compared whole)."""
    cookie = session_cookie(server, "bob@acme.test")
    host = server.base_url.removeprefix("http://")
    origin = origin.format(host=host, port=host.rsplit(":", 1)[1])

    async def attempt(origin: str) -> None:
        url = server.base_url.replace("http://", "ws://") + "/ws/agent/"
        async with websockets.connect(url, additional_headers={"Cookie": cookie, "Origin": origin}) as ws:
            await asyncio.wait_for(ws.recv(), 5)

    with pytest.raises(InvalidStatus) as refused:
        run(attempt(origin))
    assert refused.value.response.status_code == 403
    run(attempt(server.base_url))  # the same cookie from the page's own origin opens it


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    """Two `samtale serve` processes on one database, sharing Redis as the channel layer."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    client.ping()  # Redis is required: no Redis is a failure, never a skip
    client.close()
    tmp = tmp_path_factory.mktemp("fanout")
    import os

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    env, seed = prepare_database(tmp, f"fanout_{worker}", {"SAMTALE_REDIS_URL": REDIS_URL})
    a = start_server(env, tmp / "a.log")
    b = start_server(env, tmp / "b.log")
    a.seed = b.seed = seed
    yield a, b
    a.stop()
    b.stop()


def test_events_fan_out_across_processes_through_redis(two_servers: tuple[Server, Server]) -> None:
    a, b = two_servers
    assert a.process.pid != b.process.pid
    cid = a.seed["conversations"]["fanout"]

    def act_on_a() -> None:
        a.api("POST", f"/api/v1/conversations/{cid}/close", a.seed["tokens"]["agent"])

    received = run(collect(b, session_cookie(b, "carol@acme.test"), act_on_a))
    assert {
        "event": "conversation.changed",
        "inbox_id": a.seed["inbox"],
        "conversation_id": cid,
        "change": "status",
    } in received


def test_mail_parsed_in_the_ingest_process_reaches_sockets_of_another_process(
    two_servers: tuple[Server, Server],
) -> None:
    """With Redis, `samtale serve` parses mail in a child process at lower CPU priority; what it
    publishes still reaches every process's WebSockets."""
    import smtplib
    import time
    from email.message import EmailMessage

    a, b = two_servers
    child = ingest_child(a.process.pid)
    assert process_info(child)[1] > process_info(a.process.pid)[1], "the ingest process runs niced"

    def mail_to_a() -> None:
        m = EmailMessage()
        m["From"], m["To"], m["Subject"] = "Zed <zed@fanout.example>", "support@acme.test", "Parsed elsewhere"
        m["Message-ID"] = f"<fanout-{time.time_ns()}@fanout.example>"
        m.set_content("Hello from outside.")
        with smtplib.SMTP("127.0.0.1", a.smtp_port, timeout=10) as client:
            client.send_message(m)

    def arrived(events: list[dict[str, Any]]) -> bool:
        return any(e.get("change") == "message" and e.get("inbox_id") == a.seed["inbox"] for e in events)

    # the niced ingest process may trail the listener by seconds on a loaded machine: wait for the event
    received = run(collect(b, session_cookie(b, "carol@acme.test"), mail_to_a, seconds=120.0, until=arrived))
    new = [e for e in received if e.get("change") == "message" and e.get("inbox_id") == a.seed["inbox"]]
    assert new, received
    token = a.seed["tokens"]["agent"]
    conversation = a.api("GET", f"/api/v1/conversations/{new[0]['conversation_id']}", token)
    assert conversation["subject"] == "Parsed elsewhere"


def test_two_installations_on_one_redis_never_see_each_others_events(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Redis pub/sub ignores the database number: only the installation prefix keeps two
    installations (both with an inbox 1) apart."""
    import os

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    tmp = tmp_path_factory.mktemp("two_installations")
    servers = []
    for name in ("one", "two"):
        env, seed = prepare_database(tmp, f"install_{name}_{worker}", {"SAMTALE_REDIS_URL": REDIS_URL})
        server = start_server(env, tmp / f"{name}.log")
        server.seed = seed
        servers.append(server)
    one, two = servers
    try:
        assert one.seed["inbox"] == two.seed["inbox"]  # the same ids in both: only the prefix differs
        cid = one.seed["conversations"]["ws"]

        def act_on_one() -> None:
            one.api("POST", f"/api/v1/conversations/{cid}/close", one.seed["tokens"]["agent"])

        seen_by_two = run(collect(two, session_cookie(two, "carol@acme.test"), act_on_one, seconds=1.5))
        assert seen_by_two == []
        seen_by_one = run(collect(one, session_cookie(one, "carol@acme.test"), lambda: one.api(
            "POST", f"/api/v1/conversations/{cid}/reopen", one.seed["tokens"]["agent"]), seconds=1.5))  # fmt: skip
        assert any(e.get("conversation_id") == cid for e in seen_by_one)  # the events do flow within one
    finally:
        for server in servers:
            server.stop()


def test_a_web_only_process_runs_no_ingest_child(tmp_path_factory: pytest.TempPathFactory) -> None:
    """With Redis set, `serve` parses mail in a child process; `--no-ingest` (with `--no-worker
    --no-smtp`: a web-only process) starts none."""
    import os

    from tests.e2e.conftest import child_processes

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    tmp = tmp_path_factory.mktemp("web_only")
    env, _seed = prepare_database(tmp, f"web_only_{worker}", {"SAMTALE_REDIS_URL": REDIS_URL})
    web = start_server(env, tmp / "web.log", "--no-worker", "--no-smtp", "--no-ingest")
    try:
        # `serve` starts an ingest child before it starts answering HTTP: it would be there by now
        children = [" ".join(process_info(c)[2].split()[1:4]) for c in child_processes(web.process.pid)]
        assert not [c for c in children if "ingest" in c], children
        with pytest.raises(OSError):
            import socket

            socket.create_connection(("127.0.0.1", web.smtp_port), timeout=1).close()  # no listener either
    finally:
        web.stop()
