"""`kill -9` of `samtale serve` (and of `samtale smtpd`, which parses in a child process) while a
client sends 1,000 messages over SMTP: every message that got a 250 is in the database after the
restart, none twice."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import subprocess
import threading
import time
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (
    BIN,
    ROOT,
    free_port,
    ingest_child,
    prepare_database,
    process_info,
    start_server,
    wait_gone,
)

pytestmark = pytest.mark.e2e

# enough that a third is acknowledged before the kill and many are in flight at it; each message
# costs the test its ingest twice over (before and after the restart), on a slow machine ~20 ms
TOTALS = {"serve": 1000, "smtpd": 600}  # smtpd: what differs is its ingest process, not the count
SENDERS = 4


def _message(n: int) -> bytes:
    m = EmailMessage(policy=SMTP)
    m["From"] = f"Customer {n} <c{n}@crash.example>"
    m["To"] = "support@acme.test"
    m["Subject"] = f"Crash test {n}"
    m["Message-ID"] = f"<crash-{n}@crash.example>"
    m.set_content(f"Message number {n}.\n" + "Lorem ipsum dolor sit amet. " * 40)
    return m.as_bytes()


def _send_all(port: int, numbers: list[int], acked: set[int], lock: threading.Lock, stop: threading.Event) -> None:
    client: smtplib.SMTP | None = None
    for n in numbers:
        if stop.is_set():
            return
        try:
            if client is None:
                client = smtplib.SMTP("127.0.0.1", port, timeout=10)
            client.sendmail(f"c{n}@crash.example", ["support@acme.test"], _message(n))
        except (OSError, smtplib.SMTPException):
            client = None  # the server is gone: this one was not acknowledged
            if stop.is_set():
                return
            continue
        with lock:
            acked.add(n)


def _stored_ids(env: dict[str, str]) -> list[str]:
    code = (
        "import json; from samtale.inbox.models import Message; from samtale.channels.email.models import RawEmail; "
        "print(json.dumps({'ids': list(Message.objects.filter(external_id__startswith='crash-')"
        ".values_list('external_id', flat=True)), 'pending': RawEmail.objects.filter(state='pending').count()}))"
    )
    out = subprocess.run(
        [str(BIN / "samtale"), "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, check=True
    )
    data = json.loads(out.stdout.decode().strip().splitlines()[-1])
    if data["pending"]:
        raise RuntimeError(f"{data['pending']} still pending")
    return list(data["ids"])


def _reader_of(pid: int, seconds: float = 60.0) -> int:
    """The mail reader process the ingest loop in `pid` started (with the first batch it read)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        # started by the ingest loop's thread: a child of that thread, not of the main one
        children = [int(c) for t in Path(f"/proc/{pid}/task").iterdir() for c in (t / "children").read_text().split()]
        for candidate in children:
            try:
                if "samtale.channels.email.readers" in process_info(candidate)[2]:
                    return candidate
            except FileNotFoundError:
                continue
        time.sleep(0.1)
    raise AssertionError(f"no mail reader process under {pid}")


class Smtpd:
    """`samtale smtpd` alone: the listener, and its ingest child process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = {**env, "SAMTALE_SMTP_PORT": env.get("SAMTALE_SMTP_PORT") or str(free_port())}
        self.smtp_port = int(self.env["SAMTALE_SMTP_PORT"])
        self.process = subprocess.Popen([str(BIN / "samtale"), "smtpd"], cwd=ROOT, env=self.env,
                                        stdout=log.open("ab"), stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 40
        while True:
            assert self.process.poll() is None, log.read_text()[-3000:]
            try:
                smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=2).quit()
                return
            except OSError:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(40)


def _start(command: str, env: dict[str, str], log: Path) -> Any:
    return start_server(env, log) if command == "serve" else Smtpd(env, log)


@pytest.mark.parametrize("command", ["serve", "smtpd"])
def test_kill_9_loses_no_acknowledged_message_and_duplicates_none(tmp_path: Path, command: str) -> None:
    env, _seed = prepare_database(tmp_path, f"crash_{command}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")
    total = TOTALS[command]
    server = _start(command, env, tmp_path / "server.log")
    port = server.smtp_port
    child = ingest_child(server.process.pid) if command == "smtpd" else None
    acked: set[int] = set()
    lock = threading.Lock()
    stop = threading.Event()
    chunks = [list(range(i, total, SENDERS)) for i in range(SENDERS)]
    threads = [threading.Thread(target=_send_all, args=(port, c, acked, lock, stop)) for c in chunks]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while len(acked) < total // 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    reader = _reader_of(child if child is not None else server.process.pid)
    os.kill(server.process.pid, signal.SIGKILL)  # mid-stream, with messages in flight
    server.process.wait(10)
    if child is not None:  # its pipe closed with its parent: it finishes its message and exits
        assert wait_gone(child, 40), "the ingest process outlived its listener"
    # and the mail reader with it (its socket to the ingest loop closed)
    assert wait_gone(reader, 40), "the mail reader process outlived the ingest loop"
    stop.set()
    for t in threads:
        t.join(30)
    before_restart = set(acked)
    assert total // 3 <= len(before_restart) < total, len(before_restart)

    server = _start(command, {**env, "SAMTALE_SMTP_PORT": str(port)}, tmp_path / "server2.log")
    try:
        # the sender retries everything it did not get a 250 for (and, to be sure, everything else)
        stop.clear()
        retry = [n for n in range(total) if n not in before_restart] + sorted(before_restart)[:200]
        _send_all(port, retry, acked, lock, stop)
        assert len(acked) == total
        for _ in range(120):
            try:
                ids = _stored_ids(env)
                break
            except RuntimeError:
                time.sleep(1)
        else:
            raise AssertionError("the ingest loop did not finish")
    finally:
        server.stop()
    stored = [i for i in ids]
    assert len(stored) == len(set(stored)), "a message was stored twice"
    missing = [n for n in before_restart if f"crash-{n}@crash.example" not in set(stored)]
    assert not missing, f"{len(missing)} acknowledged messages lost, e.g. {missing[:5]}"
    assert len(stored) == total
