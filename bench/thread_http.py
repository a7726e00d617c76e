"""Opening a thread, as an agent waits for it: through HTTP with a signed-in session (uvicorn →
Django → templates), on SQLite and PostgreSQL, for threads of 10 to 10,000 messages of real-length
message text. Each sample opens a different conversation of the group.

Reports per backend and thread length: the full conversation page (what a link or a reload
opens), the thread fragment (what a click in the list loads), the page of earlier entries ("Show N
earlier") and the API's thread — p50/p95 in ms and the largest answer in KB. Targets (issue 11):
first paint of any thread p95 ≤ 100 ms and ≤ 200 KB whatever its length.

    python bench/thread_http.py [--backends sqlite,postgres] [--samples 40]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_BASE = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/test")
LENGTHS = [10, 100, 1000, 10_000]
THREADS_PER_LENGTH = 4
TARGET_MS, TARGET_KB = 100, 200

SEED = r"""
import json, random
from datetime import timedelta
import django; django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.utils import timezone
from samtale.accounts import actions as accounts
from samtale.accounts.models import User
from samtale.inbox import actions
from samtale.inbox.models import Comment, Conversation, Message

LENGTHS, PER = json.loads(ARGS)
if not User.objects.filter(email="admin@bench.example").exists():
    account, admin = accounts.create_account(name="Bench", admin_email="admin@bench.example", admin_name="Bench Admin",
                                             password="bench-password-1")
    inbox = actions.create_inbox(account, acting_user=admin, name="Support")
    channel = actions.create_channel(inbox, acting_user=admin, kind="email", name="Mail", address="support@bench.example")
    rng = random.Random(7)
    words = ("hei takk for svaret vi har sett på saken og kommer tilbake til deg så snart som mulig fakturaen "
             "gjelder abonnement levering ordre nummer kontakt oss gjerne igjen hvis noe er uklart med vennlig "
             "hilsen kundeservice thanks for getting back to us the invoice order delivery account please let "
             "me know if there is anything else best regards support team").split()
    def text(n):
        return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."
    threads = {}
    for length in LENGTHS:
        for t in range(PER):
            c = actions.receive_inbound(channel, actions.InboundMessage(
                sender_address=f"kunde{length}-{t}@example.com", sender_name="Kunde", subject=f"Tråd {length} {t}",
                text=text(40))).conversation
            start = timezone.now() - timedelta(days=60)
            rows, notes = [], []
            for i in range(1, length):
                body = text(rng.randint(20, 160))
                paragraphs = "".join(f"<p>{p}</p>" for p in body.split(". ") if p)
                rows.append(Message(account=account, conversation=c, direction="in" if i % 2 else "out",
                                    channel_kind="email", sender_address=f"kunde{length}-{t}@example.com",
                                    author=None if i % 2 else admin, text=body, html=paragraphs,
                                    created_at=start + timedelta(minutes=i)))
                if i % 25 == 0:
                    notes.append(Comment(account=account, conversation=c, author=admin, text=text(15),
                                         created_at=start + timedelta(minutes=i, seconds=1)))
            Message.objects.bulk_create(rows, batch_size=2000)
            Comment.objects.bulk_create(notes, batch_size=2000)
            Conversation.objects.filter(pk=c.pk).update(message_count=length)
            threads.setdefault(length, []).append(c.pk)
    from django.db import connection
    with connection.cursor() as cursor:  # the planner's statistics, as autovacuum would keep them
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    token = accounts.create_api_token(admin, acting_user=admin, name="bench")[1]
    print("BENCH", json.dumps({"inbox": inbox.pk, "threads": threads, "token": token}))
else:
    admin = User.objects.get(email="admin@bench.example")
    inbox = admin.membership.account.inboxes.first()
    threads = {}
    for c in Conversation.objects.filter(inbox=inbox).order_by("id"):
        threads.setdefault(int(c.subject.split()[1]), []).append(c.pk)
    token = accounts.create_api_token(admin, acting_user=admin, name="bench")[1]
    print("BENCH", json.dumps({"inbox": inbox.pk, "threads": threads, "token": token}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url(backend: str, name: str, data: Path) -> str:
    """A benchmark's database, kept between runs: PostgreSQL database `name` (created when missing)
    or an SQLite file in `data`."""
    if backend != "postgres":
        return f"sqlite:///{data / 'bench.sqlite3'}"
    import psycopg

    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return PG_BASE.rsplit("/", 1)[0] + "/" + name


def prepare(backend: str) -> tuple[dict[str, str], dict[str, object]]:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="samtale.settings", SAMTALE_LOG_LEVEL="WARNING",
               SAMTALE_SECRET_KEY="bench", PYTHONPATH=str(ROOT))  # fmt: skip
    data = ROOT / "var" / "bench" / f"thread-{backend}"
    env["SAMTALE_DATABASE_URL"] = database_url(backend, "samtale_bench_thread", data)
    data.mkdir(parents=True, exist_ok=True)
    env["SAMTALE_DATA_DIR"] = str(data)
    code = f"ARGS = {json.dumps(json.dumps([LENGTHS, THREADS_PER_LENGTH]))}\n" + SEED
    started = time.perf_counter()
    out = subprocess.run([str(BIN / "python"), "-c", code], cwd=ROOT, env=env, check=True, capture_output=True,
                         text=True)  # fmt: skip
    print(f"  {backend}: seeded in {time.perf_counter() - started:.0f}s")
    info = json.loads(out.stdout.rpartition("BENCH ")[2])
    info["threads"] = {int(k): v for k, v in info["threads"].items()}
    return env, info


class Session:
    """A signed-in browser session: the login form with its CSRF token, then cookies."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def login(self, email: str, password: str) -> None:
        page = self.get("/login/")[1].decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token.group(1), "username": email, "password": password})
        request = urllib.request.Request(
            self.base + "/login/", data=body.encode(), headers={"Referer": self.base + "/login/"}
        )
        with self.opener.open(request, timeout=30) as response:
            assert "/inbox/" in response.url, response.url

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[float, bytes]:
        request = urllib.request.Request(self.base + path, headers=headers or {})
        started = time.perf_counter()
        with self.opener.open(request, timeout=60) as response:
            body = response.read()
        return (time.perf_counter() - started) * 1000, body


def wait_up(base: str, seconds: float = 40.0) -> None:
    """Until the server at `base` answers its sign-in page."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(base + "/login/", timeout=1).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def summary(samples: list[tuple[float, bytes]]) -> dict[str, float]:
    times = sorted(t for t, _ in samples)
    return {
        "p50_ms": round(times[len(times) // 2], 1),
        "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
        "max_kb": round(max(len(b) for _, b in samples) / 1024, 1),
    }


def measure(backend: str, samples: int) -> list[dict[str, object]]:
    env, info = prepare(backend)
    port = free_port()
    log = (ROOT / "var" / "bench" / f"thread-{backend}.log").open("ab")
    server = subprocess.Popen([str(BIN / "samtale"), "serve", "--no-smtp", "--no-ingest", "--no-worker", "--port",
                               str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    rows: list[dict[str, object]] = []
    try:
        base = f"http://127.0.0.1:{port}"
        wait_up(base)
        session = Session(base)
        session.login("admin@bench.example", "bench-password-1")
        api = {"Authorization": f"Bearer {info['token']}"}
        inbox = info["inbox"]
        for length, ids in sorted(info["threads"].items()):
            cases: dict[str, list[tuple[float, bytes]]] = {"page": [], "fragment": [], "earlier": [], "api": []}
            for n in range(samples):
                cid = ids[n % len(ids)]  # a different conversation from the last sample
                cases["page"].append(session.get(f"/inbox/{inbox}/v/all_open/c/{cid}/"))
                took, body = session.get(f"/c/{cid}/", {"HX-Request": "true"})
                cases["fragment"].append((took, body))
                cursor = re.search(rb'data-url="(/c/\d+/earlier/\?before=[^"]+)"', body)
                if cursor:
                    cases["earlier"].append(session.get(cursor.group(1).decode(), {"HX-Request": "true"}))
                cases["api"].append(session.get(f"/api/v1/conversations/{cid}", api))
            for case, got in cases.items():
                if got:
                    rows.append({"backend": backend, "messages": length, "case": case, **summary(got)})
    finally:
        server.terminate()
        server.wait(10)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--fresh", action="store_true", help="seed again (SQLite: delete the database first)")
    args = parser.parse_args()
    if args.fresh:
        shutil.rmtree(ROOT / "var" / "bench" / "thread-sqlite", ignore_errors=True)
    rows = []
    for backend in args.backends.split(","):
        rows += measure(backend, args.samples)
    print(f"\n{'backend':<9} {'messages':>8} {'case':<9} {'p50 ms':>8} {'p95 ms':>8} {'max KB':>8}  target")
    for r in rows:
        first_paint = r["case"] in {"page", "fragment"}
        ok = "" if not first_paint else ("ok" if r["p95_ms"] <= TARGET_MS and r["max_kb"] <= TARGET_KB else "MISSED")  # type: ignore[operator]
        print(
            f"{r['backend']:<9} {r['messages']:>8} {r['case']:<9} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['max_kb']:>8}  {ok}"
        )
    out = ROOT / "bench" / "results" / "thread_http.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"targets": {"p95_ms": TARGET_MS, "kb": TARGET_KB}, "rows": rows}, indent=1))
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
