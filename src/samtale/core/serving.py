"""Serving HTTP and WebSockets on every core: web processes sharing one listening socket.

One Python process runs Django on one core at a time (the GIL). `samtale serve --web-processes N`
binds the address once and starts N children (`samtale web --fd …`), each running uvicorn on that
socket; the kernel hands each new connection to whichever child accepts it first. The parent
keeps the SMTP listener, the mail ingest and the background worker, and supervises the children:
one that dies is started again (with a growing pause if it keeps dying). A child exits when its
stdin pipe from the parent closes, which also happens when the parent is killed (even by -9), so
no child outlives its server.

What the web processes share lives outside them: with Redis (`SAMTALE_REDIS_URL`), real-time
events and the cache; without it (the default SQLite install), events and the cache keys to
forget go through the parent's hub (`core.hub`), each process keeps its own cache, and the rate
limits are counted in the parent, which the web processes ask through the hub."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import threading

log = logging.getLogger("samtale.serving")


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class WebProcesses:
    """`count` children serving the socket, each started again if it dies."""

    def __init__(self, sock: socket.socket, count: int, env: dict[str, str] | None = None) -> None:
        self.sock = sock
        self.count = count
        self.env = {**os.environ, **(env or {})}
        self.children: list[subprocess.Popen[bytes] | None] = [None] * count
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.watchers = [
            threading.Thread(target=self._watch, args=(n,), name=f"samtale-web-{n}", daemon=True) for n in range(count)
        ]

    def _spawn(self, n: int) -> subprocess.Popen[bytes]:
        fd = self.sock.fileno()
        command = [sys.executable, "-m", "samtale.cli", "web", "--fd", str(fd), "--index", str(n)]
        child = subprocess.Popen(command, stdin=subprocess.PIPE, pass_fds=(fd,), env=self.env)
        with self.lock:
            self.children[n] = child
        return child

    def start(self) -> None:
        for n in range(self.count):
            self._spawn(n)
        for watcher in self.watchers:
            watcher.start()

    def pids(self) -> list[int]:
        with self.lock:
            return [c.pid for c in self.children if c is not None]

    def _watch(self, n: int) -> None:
        failures = 0
        while not self.stopping.is_set():
            with self.lock:
                child = self.children[n]
            assert child is not None
            code = child.wait()
            if self.stopping.is_set():
                break
            failures += 1
            delay = min(30.0, 0.5 * 2.0 ** min(failures - 1, 6))
            log.error("web process %d exited (%s); starting it again in %.1f s", n, code, delay)
            if self.stopping.wait(delay):
                break
            self._spawn(n)

    def wait(self) -> None:
        """Until a stop is asked for (SIGTERM/SIGINT in `cli.serve`)."""
        self.stopping.wait()

    def stop(self, wait: float = 15.0) -> None:
        self.stopping.set()
        with self.lock:
            children = [c for c in self.children if c is not None]
        for child in children:
            with contextlib.suppress(OSError):
                child.terminate()  # uvicorn finishes the requests in flight and exits
            if child.stdin is not None:
                with contextlib.suppress(OSError):
                    child.stdin.close()
        for child in children:
            try:
                child.wait(wait)
            except subprocess.TimeoutExpired:
                child.kill()
        self.sock.close()


def exit_with_parent() -> None:
    """In a web child: stop (as on SIGTERM) once the parent's pipe on stdin closes."""

    def watch() -> None:
        with contextlib.suppress(OSError):
            while os.read(0, 4096):
                pass
        os.kill(os.getpid(), 15)

    threading.Thread(target=watch, name="samtale-parent-watch", daemon=True).start()


def default_count() -> int:
    """Web processes when none are asked for: one per core."""
    return max(1, os.cpu_count() or 1)
