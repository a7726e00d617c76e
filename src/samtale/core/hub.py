"""Real-time events and cache invalidations between the processes of one `samtale serve`, without
Redis (the default SQLite install serving on every core, `core.serving`).

The parent process runs the hub: a Unix socket its web processes connect to. Every frame a
process sends (an event for a channel-layer group, or a cache key to forget) is handed to every
other process, and applied in the parent itself (its worker and mail ingest route conversations
from cached statuses). A web process finds the hub in `SAMTALE_EVENT_HUB`.

Frames are JSON lines. A frame with a `call` number asks the parent something (`call`): the
parent answers that process alone, with its handler's result (`on_call`). The rate limits of the
installation are counted this way, in the parent, so a limit is one limit whatever the number of
web processes (`core.ratelimit`).

A process that stops reading (stopped, swamped) gets at most `BACKLOG`
frames queued and misses the rest — the others never wait for it; its browsers refetch what
they show when their socket reconnects. Without a hub (one process, or Redis) nothing here runs.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import queue
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("samtale.hub")

ENV = "SAMTALE_EVENT_HUB"
BACKLOG = 10_000
MAX_FRAME = 1024 * 1024

# What this process does with a frame from another one: set by the channel layer (events) and at
# import here (cache keys).
_receivers: dict[str, Callable[[dict[str, Any]], None]] = {}


def on_frame(kind: str, receive: Callable[[dict[str, Any]], None]) -> None:
    _receivers[kind] = receive


def _apply(frame: dict[str, Any]) -> None:
    receive = _receivers.get(str(frame.get("kind")))
    if receive is not None:
        try:
            receive(frame)
        except Exception:
            log.exception("could not apply a %s frame", frame.get("kind"))


# What the parent answers to a call from a web process, by the frame's kind.
_answerers: dict[str, Callable[[dict[str, Any]], Any]] = {}


def on_call(kind: str, answer: Callable[[dict[str, Any]], Any]) -> None:
    _answerers[kind] = answer


def _answer(frame: dict[str, Any]) -> Any:
    answer = _answerers.get(str(frame.get("kind")))
    if answer is None:
        raise LookupError(f"nothing answers {frame.get('kind')!r} calls")
    return answer(frame)


def _forget(frame: dict[str, Any]) -> None:
    from django.core.cache import cache

    cache.delete_many([str(k) for k in frame.get("keys", [])])


on_frame("forget", _forget)


class _Peer:
    """One connected process: frames to it go through a bounded queue and a writer thread."""

    def __init__(self, conn: socket.socket, hub: Hub) -> None:
        self.conn = conn
        self.hub = hub
        self.outbox: queue.Queue[bytes | None] = queue.Queue(BACKLOG)
        threading.Thread(target=self._read, name="samtale-hub-read", daemon=True).start()
        threading.Thread(target=self._write, name="samtale-hub-write", daemon=True).start()

    def send(self, line: bytes) -> None:
        try:
            self.outbox.put_nowait(line)
        except queue.Full:
            log.warning("a web process is not reading its events: one dropped")

    def _read(self) -> None:
        with contextlib.suppress(OSError, ValueError), self.conn.makefile("rb") as stream:
            for line in stream:
                if len(line) > MAX_FRAME:
                    continue
                if b'"call"' in line:  # a question for the parent, not a frame for the others
                    self._answer(line)
                    continue
                self.hub.relay(line, source=self)
        self.hub.drop(self)

    def _answer(self, line: bytes) -> None:
        try:
            frame = json.loads(line)
        except ValueError:
            return
        call = frame.get("call") if isinstance(frame, dict) else None
        if not isinstance(call, int):
            self.hub.relay(line, source=self)
            return
        try:
            reply = {"reply": call, "result": _answer(frame)}
        except Exception as error:
            log.exception("could not answer a %s call", frame.get("kind"))
            reply = {"reply": call, "error": str(error)[:200]}
        self.send(json.dumps(reply, default=str).encode() + b"\n")

    def _write(self) -> None:
        while (line := self.outbox.get()) is not None:
            try:
                self.conn.sendall(line)
            except OSError:
                break
        with contextlib.suppress(OSError):
            self.conn.shutdown(socket.SHUT_RDWR)  # (wakes the reader here, and the process at the other end)
        with contextlib.suppress(OSError):
            self.conn.close()

    def close(self) -> None:
        with contextlib.suppress(queue.Full):
            self.outbox.put_nowait(None)


class Hub:
    """In the parent: accepts the web processes and relays every frame to the others."""

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="samtale-hub-")
        self.path = str(Path(self.directory) / "hub.sock")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        os.chmod(self.path, 0o600)
        self.server.listen(64)
        self.peers: list[_Peer] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def start(self) -> None:
        global _local
        _local = self
        threading.Thread(target=self._accept, name="samtale-hub", daemon=True).start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _addr = self.server.accept()
            except OSError:
                return
            with self.lock:
                self.peers.append(_Peer(conn, self))

    def relay(self, line: bytes, source: _Peer | None = None) -> None:
        with self.lock:
            peers = [p for p in self.peers if p is not source]
        for peer in peers:
            peer.send(line)
        if source is not None:  # from a web process: the parent applies it too
            with contextlib.suppress(ValueError):
                _apply(json.loads(line))

    def drop(self, peer: _Peer) -> None:
        peer.close()
        with self.lock:
            if peer in self.peers:
                self.peers.remove(peer)

    def stop(self) -> None:
        global _local
        _local = None
        self.stopping.set()
        with contextlib.suppress(OSError):
            self.server.close()
        with self.lock:
            for peer in self.peers:
                peer.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
            os.rmdir(self.directory)


class HubUnavailable(Exception):
    """The parent did not answer a call (gone, or too slow)."""


class _Client:
    """In a web process: the connection to the parent's hub."""

    def __init__(self, path: str) -> None:
        self.conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.conn.connect(path)  # blocking: the hub reads every peer in a thread of its own
        self.lock = threading.Lock()
        self.calls = itertools.count(1)
        self.waiting: dict[int, tuple[threading.Event, list[dict[str, Any]]]] = {}
        self.closed = False
        threading.Thread(target=self._read, name="samtale-hub-client", daemon=True).start()

    def call(self, frame: dict[str, Any], timeout: float) -> Any:
        number = next(self.calls)
        done, answer = threading.Event(), list[dict[str, Any]]()
        self.waiting[number] = (done, answer)
        try:
            if self.closed:
                raise HubUnavailable("the connection to the hub is closed")
            self.send(json.dumps({**frame, "call": number}, default=str).encode() + b"\n")
            if not done.wait(timeout) or not answer:
                raise HubUnavailable(f"no answer to a {frame.get('kind')} call in {timeout} s")
        finally:
            self.waiting.pop(number, None)
        if "error" in answer[0]:
            raise HubUnavailable(str(answer[0]["error"]))
        return answer[0].get("result")

    def send(self, line: bytes) -> None:
        with self.lock:
            try:
                self.conn.sendall(line)
            except OSError:
                log.exception("could not hand a frame to the hub")

    def _read(self) -> None:
        with contextlib.suppress(OSError, ValueError), self.conn.makefile("rb") as stream:
            for line in stream:
                with contextlib.suppress(ValueError):
                    frame = json.loads(line)
                    if isinstance(frame, dict) and isinstance(frame.get("reply"), int):
                        waiter = self.waiting.get(frame["reply"])
                        if waiter is not None:
                            waiter[1].append(frame)
                            waiter[0].set()
                        continue
                    _apply(frame)
        self.closed = True
        for done, _answer in list(self.waiting.values()):
            done.set()  # (no answer: the callers raise at once)
        log.error("the connection to the event hub closed")


_local: Hub | None = None
_client: _Client | None = None
_client_lock = threading.Lock()


def _connection() -> Hub | _Client | None:
    global _client
    if _local is not None:
        return _local
    path = os.environ.get(ENV)
    if not path:
        return None
    with _client_lock:
        if _client is None:
            _client = _Client(path)
    return _client


def connect() -> None:
    """In a web process: connect to the hub now (frames for this process flow from then on)."""
    _connection()


def active() -> bool:
    """Whether this process shares events with others through a hub."""
    return _local is not None or bool(os.environ.get(ENV))


def send(frame: dict[str, Any]) -> None:
    """Hand `frame` to every other process of this server (nothing when there is no hub)."""
    target = _connection()
    if target is None:
        return
    line = json.dumps(frame, default=str).encode() + b"\n"
    if isinstance(target, Hub):
        target.relay(line)
    else:
        target.send(line)


def call(frame: dict[str, Any], timeout: float = 2.0) -> Any:
    """Ask the parent process (`on_call` there) and return its answer; in the parent itself, or
    with no hub at all, answered here. Raises `HubUnavailable` when the parent does not answer."""
    target = _connection()
    if target is None or isinstance(target, Hub):
        return _answer(frame)
    return target.call(frame, timeout)


def forget(*keys: str) -> None:
    """Drop cache keys in every other process too (statuses after a change of someone's facts)."""
    send({"kind": "forget", "keys": list(keys)})
