"""A real server (`samtale serve`: uvicorn, WebSocket, worker) on its own database, and
Debian's chromium driven by Playwright."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fresh_database(tmp: Path, name: str) -> str:
    """An empty database for one server: a file on SQLite, a database of its own on PostgreSQL."""
    base = os.environ.get("SAMTALE_DATABASE_URL", "")
    if not base.startswith("postgres"):
        return f"sqlite:////{(tmp / f'{name}.sqlite3').as_posix().lstrip('/')}"
    import psycopg

    dbname = f"samtale_{name}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')
    return base.rsplit("/", 1)[0] + "/" + dbname


@dataclass
class Server:
    base_url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    seed: dict[str, Any] = field(default_factory=dict)
    log: Path | None = None

    @property
    def smtp_port(self) -> int:
        return int(self.env["SAMTALE_SMTP_PORT"])

    def stop(self) -> None:
        """As an operator stops it (SIGTERM), waiting longer than the server's own bound on each web
        process (15 s, then it kills it): killed earlier, the server could not reap its children."""
        self.process.terminate()
        try:
            self.process.wait(40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def api(self, method: str, path: str, token: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            self.base_url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return json.loads(raw) if raw else None


def start_server(env: dict[str, str], log: Path, *flags: str, port: int = 0) -> Server:
    port = port or free_port()
    env = {**env, "SAMTALE_SMTP_PORT": env.get("SAMTALE_SMTP_PORT") or str(free_port())}
    handle = log.open("ab")
    process = subprocess.Popen(
        [str(BIN / "samtale"), "serve", "--port", str(port), *flags], cwd=ROOT, env=env, stdout=handle,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(base + "/login/", timeout=2) as response:
                if response.status == 200:
                    return Server(base, env, process, log=log)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start: {log.read_text()[-3000:]}")


# One migrated and seeded database per test process, copied for every server a test starts (a copy
# is a file copy on SQLite and CREATE DATABASE … TEMPLATE on PostgreSQL): migrating and seeding
# again for each of them cost a minute of the run.
_template: dict[str, Any] = {}


def _base_env(tmp: Path, name: str, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_") and k != "SAMTALE_REDIS_URL"}
    env.update(
        SAMTALE_DATABASE_URL=database_url, SAMTALE_DATA_DIR=str(tmp / name), SAMTALE_LOG_LEVEL="WARNING",
        SAMTALE_SECRET_KEY="e2e-secret", SAMTALE_LOGIN_RATE="1000/m", SAMTALE_WEB_PROCESSES="1", SAMTALE_EGRESS_ALLOWED_NETWORKS="127.0.0.0/8", DJANGO_SETTINGS_MODULE="samtale.settings", PYTHONPATH=str(ROOT),
    )  # fmt: skip
    return env


def _seeded_template(tmp: Path) -> dict[str, Any]:
    if not _template:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        name = f"template_{worker}"
        where = tmp / "_template"
        where.mkdir()
        env = _base_env(where, name, _fresh_database(where, name))
        subprocess.run([str(BIN / "samtale"), "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        out = subprocess.run(
            [str(BIN / "python"), "-m", "tests.e2e.seed"], cwd=ROOT, env=env, check=True, capture_output=True
        )
        _template.update(url=env["SAMTALE_DATABASE_URL"], data=Path(env["SAMTALE_DATA_DIR"]), name=name,
                         seed=json.loads(out.stdout))  # fmt: skip
    return _template


def prepare_database(
    tmp: Path, name: str, extra_env: dict[str, str] | None = None
) -> tuple[dict[str, str], dict[str, Any]]:
    """A database for one server, migrated and holding the seed (tests/e2e/seed.py), and its env."""
    template = _seeded_template(tmp)
    if template["url"].startswith("postgres"):
        import psycopg

        dbname = f"samtale_{name}"
        with psycopg.connect(os.environ["SAMTALE_DATABASE_URL"], autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{dbname}" TEMPLATE "samtale_{template["name"]}"')
        url = template["url"].rsplit("/", 1)[0] + "/" + dbname
    else:
        target = tmp / f"{name}.sqlite3"
        shutil.copyfile(template["url"].removeprefix("sqlite:///"), target)
        url = f"sqlite:////{target.as_posix().lstrip('/')}"
    env = _base_env(tmp, name, url)
    # what it keeps in Redis is its own: a database of the same name recreated by a later run (on
    # PostgreSQL) must not find the last run's cached statuses under the same prefix
    env["SAMTALE_INSTALLATION"] = f"e2e-{name}-{uuid.uuid4().hex[:8]}"
    if template["data"].exists():
        shutil.copytree(template["data"], env["SAMTALE_DATA_DIR"], dirs_exist_ok=True)
    env.update(extra_env or {})
    return env, json.loads(json.dumps(template["seed"]))


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    tmp = tmp_path_factory.mktemp("e2e")
    env, seed = prepare_database(tmp, f"e2e_{worker}")
    srv = start_server(env, tmp / "server.log")
    srv.seed = seed
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is required for browser tests (make test installs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )  # fmt: skip
        yield b
        b.close()


_contexts: list[Any] = []
_violations: list[str] = []


@pytest.fixture(autouse=True)
def _close_pages() -> Iterator[None]:
    """Closes the test's browser contexts; fails the test if the Content-Security-Policy refused
    anything on its pages (an inline script or handler, an eval) or a script failed (an uncaught
    error, an error htmx logged)."""
    _violations.clear()
    yield
    while _contexts:
        _contexts.pop().close()
    refused, _violations[:] = list(_violations), []
    assert not refused, f"Content-Security-Policy violations or script errors: {refused}"


# what the browser and htmx log about answers, aborted requests and lost connections: a 4xx or a
# server killed on purpose is the test's business, and a live refresh replacing an older one aborts
# it on purpose (hx-sync)
ANSWERS = ("Failed to load resource", "Response Status Error Code", "htmx:sendAbort", "htmx:afterRequest",
           "htmx:responseError", "WebSocket connection to")  # fmt: skip


def _watch_csp(page: Any) -> None:
    def seen(message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text:
            _violations.append(text[:300])
        elif message.type == "error" and not text.startswith(ANSWERS):
            _violations.append(f"console error: {text[:300]}")

    page.on("console", seen)
    page.on("pageerror", lambda error: _violations.append(f"uncaught: {str(error)[:300]}"))


def wait_ingested(server: Server, inbox: int, subject: str, seconds: float = 120.0) -> int:
    """Until mail sent over SMTP is a conversation in `inbox` (its id). The ingest process runs
    niced by design — on a loaded machine the listener and the web go first — so how soon that
    happens is the scheduler's business, not the test's; what a browser test then checks is that
    the page, connected before the mail was sent, shows it without a reload."""
    token = server.seed["tokens"]["admin"]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page = server.api("GET", f"/api/v1/inboxes/{inbox}/conversations?view=all_open&limit=100", token)
        found = [c["id"] for c in page["items"] if c["subject"] == subject]
        if found:
            return int(found[0])
        time.sleep(0.1)
    raise AssertionError(f"no conversation {subject!r} in inbox {inbox} after {seconds:.0f} s")


def login(browser: Any, server: Server, email: str) -> Any:
    """A signed-in page in a fresh browser context (closed after the test)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=server.base_url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base_url)
    _contexts.append(context)
    page = context.new_page()
    _watch_csp(page)
    page.set_default_timeout(8000)
    page.goto("/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/inbox/**")
    page.locator("body[data-live='1']").wait_for(state="attached")
    return page


def child_processes(pid: int) -> list[int]:
    """Children of every thread of `pid` (one started again is started by a watcher thread)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return found


def process_info(pid: int) -> tuple[str, int, str]:
    """(state, niceness, command line) of a running process."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return stat[0], int(stat[16]), Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def children_running(pid: int, command: str, count: int, seconds: float = 20.0) -> list[int]:
    """The children of `pid` whose command line holds `command`, once there are `count` of them
    (a child shows its own command line only once it has exec'd: wait)."""
    deadline = time.monotonic() + seconds
    while True:
        found = []
        for child in child_processes(pid):
            try:
                if command in process_info(child)[2]:
                    found.append(child)
            except FileNotFoundError:
                continue
        if len(found) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(found) == count, f"expected {count} of {command!r} under {pid}, found {found}"
    return sorted(found)


def ingest_child(pid: int, seconds: float = 20.0) -> int:
    """The mail ingest process a server runs beside its listener (started just after the listener answers)."""
    return children_running(pid, " ingest --child", 1, seconds)[0]


def wait_gone(pid: int, seconds: float) -> bool:
    """True once `pid` has exited (or is a zombie waiting for its new parent to reap it)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if process_info(pid)[0] == "Z":
                return True
        except (FileNotFoundError, ProcessLookupError):
            return True
        time.sleep(0.1)
    return False
