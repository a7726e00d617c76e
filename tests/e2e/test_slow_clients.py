"""Connections that hold the web server without asking anything are closed: opened and silent,
headers a byte at a time (slowloris, WebSocket upgrades too), a body that stalls; and one address
holds only so many connections. Real sockets against a real server (one web process, so the cap
per process is the cap)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import websockets

from tests.e2e.conftest import Server, prepare_database, start_server
from tests.e2e.test_realtime import run, session_cookie

pytestmark = pytest.mark.e2e
HEADER_TIMEOUT = 2.0
CAP = 10


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("slow")
    env, seed = prepare_database(tmp, f"slow_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")
    env.update({"SAMTALE_HTTP_HEADER_TIMEOUT": str(HEADER_TIMEOUT), "SAMTALE_HTTP_BODY_IDLE_SECONDS": "2",
                "SAMTALE_MAX_CONNECTIONS_PER_ADDRESS": str(CAP)})  # fmt: skip
    server = start_server(env, tmp / "server.log", "--web-processes", "1", "--no-smtp")
    server.seed = seed
    yield server
    server.stop()


def address(server: Server) -> tuple[str, int]:
    host, port = server.base_url.removeprefix("http://").split(":")
    return host, int(port)


def closed_after(sock: socket.socket, limit: float) -> float:
    """Seconds until the server closes `sock` (reads whatever it says first); inf if it does not."""
    started = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - started < limit:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - started
    return float("inf")


def test_silent_connections_are_closed_and_one_address_holds_only_so_many(guarded: Server) -> None:
    opened = time.monotonic()
    held = [socket.create_connection(address(guarded)) for _ in range(CAP)]
    time.sleep(0.3)  # (the server has taken them all)
    extra = socket.create_connection(address(guarded))
    extra.settimeout(5)
    assert extra.recv(4096).startswith(b"HTTP/1.1 429")  # the eleventh, at once
    extra.close()
    for s in held:  # still open before the deadline ...
        s.setblocking(False)
        with pytest.raises(BlockingIOError):
            s.recv(1)
    assert time.monotonic() - opened < HEADER_TIMEOUT  # (checked in time for that to mean something)
    for s in held:  # ... and closed by the server after it
        assert closed_after(s, HEADER_TIMEOUT + 8) < float("inf")
    assert time.monotonic() - opened <= HEADER_TIMEOUT + 8
    for s in held:
        s.close()
    # their places are free again: a real request is served
    import urllib.request

    with urllib.request.urlopen(guarded.base_url + "/login/", timeout=10) as response:
        assert response.status == 200


def test_headers_a_byte_at_a_time_are_cut_off_websocket_upgrades_too(guarded: Server) -> None:
    host, port = address(guarded)
    request = (
        f"GET /ws/agent/ HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    results: list[tuple[int, float]] = []
    lock = threading.Lock()

    def trickle() -> None:
        sock = socket.create_connection((host, port))
        started, sent = time.monotonic(), 0
        try:
            for byte in request:
                sock.sendall(bytes([byte]))
                sent += 1
                time.sleep(0.25)
        except (BrokenPipeError, ConnectionResetError):
            pass
        else:
            closed_after(sock, 1.0)
        finally:
            sock.close()
        with lock:
            results.append((sent, time.monotonic() - started))

    threads = [threading.Thread(target=trickle) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 8
    for sent, seconds in results:  # cut off after the deadline, far from the end of the headers
        assert sent < len(request) and seconds <= HEADER_TIMEOUT + 8, (sent, seconds, len(request))


def test_a_kept_alive_connection_that_sends_only_blank_lines_is_closed(guarded: Server) -> None:
    """After a response, blank lines (which begin no request) must not hold the connection open."""
    sock = socket.create_connection(address(guarded))
    host, port = address(guarded)
    sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    sock.settimeout(5)
    assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    for _n in range(3):
        sock.sendall(b"\r\n")
        time.sleep(0.3)
    assert closed_after(sock, HEADER_TIMEOUT + 12) <= HEADER_TIMEOUT + 8
    sock.close()


def test_a_body_that_stalls_is_cut_off(guarded: Server) -> None:
    sock = socket.create_connection(address(guarded))
    host, port = address(guarded)
    sock.sendall(
        f"POST /login/ HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: 1000\r\n\r\nusername=a".encode()
    )
    assert 1.5 <= closed_after(sock, 12) <= 10
    sock.close()


def test_an_open_websocket_outlives_the_header_deadline_and_gives_its_place_back(guarded: Server) -> None:
    cookie = session_cookie(guarded, "bob@acme.test")
    url = guarded.base_url.replace("http://", "ws://") + "/ws/agent/"

    async def scenario() -> None:
        for _ in range(CAP + 2):  # more sockets in turn than the cap: each one's place is given back
            async with websockets.connect(url, additional_headers={"Cookie": cookie, "Origin": guarded.base_url}) as ws:
                assert json.loads(await asyncio.wait_for(ws.recv(), 5))["event"] == "hello"
        async with websockets.connect(url, additional_headers={"Cookie": cookie, "Origin": guarded.base_url}) as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["event"] == "hello"
            await asyncio.sleep(HEADER_TIMEOUT + 1)
            await ws.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["event"] == "pong"

    run(scenario())
