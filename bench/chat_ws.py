"""Website chat benchmark: 1,000 concurrent widget WebSockets on one `samtale serve` process, visitors
sending 50 messages/s in total, an agent's WebSocket receiving them.

Reports p50/p95/max visitor→agent delivery (from the widget sending a message to the agent's socket
receiving its event), messages lost and duplicated (every acknowledged message must reach the agent
once and be stored once), and the server's memory per idle widget socket (RSS growth over the
last 800 of 1,000 sockets that said hello: the marginal cost, after a process's fixed costs). Cases: SQLite on one process; PostgreSQL + Redis on two server processes
sharing the widgets, the agent on the second. Targets: p95 ≤ 100 ms, 0 lost, 0 duplicated, ≤ 50 KB per socket.
The latency depends on the machine's speed, so each case also reports the servers' CPU per message
and its ratio to a floor measured in the same run (a chat line stored with the stdlib's sqlite3).

    python bench/chat_ws.py [--sockets 1000] [--rate 50] [--seconds 20] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import http.cookiejar
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_BASE = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
ORIGIN = "https://shop.bench.example"
PASSWORD = "bench password 1"

# What visitors write: real-looking questions of a shop's customers, in both languages.
LINES = [
    "Hei! Jeg bestilte en jakke for en uke siden, men har ikke fått sporingsnummer ennå.",
    "Do you ship to Tromsø, and how long does it usually take?",
    "Kan jeg bytte til en større størrelse hvis den ikke passer?",
    "I was charged twice for order 48213, can you check?",
    "Har dere denne i blått, eller bare i svart?",
    "The discount code from your newsletter does not work at checkout.",
    "Hvor lang er returfristen på salgsvarer?",
    "My package says delivered but I have not received anything.",
    "Hei, jeg lurer på om dere har åpent i romjulen?",
    "Can I change the delivery address after the order has shipped?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SEED = """
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from samtale.accounts import actions as accounts
from samtale.inbox import actions
from samtale.channels.chat.actions import configure_widget
from samtale.channels.chat.models import ChatWidget
account, admin = accounts.create_account(name="Bench shop", admin_email="admin@bench.example", admin_name="Admin",
                                         password=%(password)r)
inbox = actions.create_inbox(account, acting_user=admin, name="Shop", members=[admin])
channel = actions.create_channel(inbox, acting_user=admin, kind="chat", name="Web chat")
widget = configure_widget(ChatWidget.objects.get(channel=channel), acting_user=admin, allowed_origins=[%(origin)r])
print(json.dumps({"key": widget.key}))
"""


def prepare(backend: str) -> dict[str, str]:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="samtale.settings", SAMTALE_LOG_LEVEL="WARNING",
               SAMTALE_SECRET_KEY="bench", PYTHONPATH=str(ROOT),
               # one client address opens every socket here: the per-address limits are lifted
               SAMTALE_CHAT_CONNECT_RATE="100000/m", SAMTALE_CHAT_SEND_RATE="100000/m",
               SAMTALE_CHAT_SEND_IP_RATE="100000/m", SAMTALE_LOGIN_RATE="1000/m")  # fmt: skip
    env.pop("SAMTALE_REDIS_URL", None)
    data = ROOT / "var" / "bench" / f"chat-{backend}"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True, exist_ok=True)
    env["SAMTALE_DATA_DIR"] = str(data)
    if backend == "postgres":
        import psycopg

        name = "samtale_bench_chat"
        with psycopg.connect(PG_BASE, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        env["SAMTALE_DATABASE_URL"] = PG_BASE.rsplit("/", 1)[0] + "/" + name
        env["SAMTALE_REDIS_URL"] = REDIS_URL
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
    else:
        env["SAMTALE_DATABASE_URL"] = f"sqlite:///{data / 'bench.sqlite3'}"
    out = subprocess.run([str(BIN / "python"), "-c", SEED % {"password": PASSWORD, "origin": ORIGIN}], cwd=ROOT,
                         env=env, check=True, capture_output=True, text=True)  # fmt: skip
    env["BENCH_KEY"] = json.loads(out.stdout.strip().splitlines()[-1])["key"]
    return env


def serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    handle = log.open("ab")
    # one web process: what one process holds is measured (`samtale serve` runs one per core by default)
    proc = subprocess.Popen([str(BIN / "samtale"), "serve", "--port", str(port), "--no-smtp", "--no-ingest",
                             "--web-processes", "1"], cwd=ROOT, env=env, stdout=handle,
                            stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            with urllib.request.urlopen(base + "/login/", timeout=2):
                return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server did not start: {log.read_text()[-2000:]}")


def session_cookie(base: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(base + "/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    data = urllib.parse.urlencode({"username": "admin@bench.example", "password": PASSWORD,
                                   "csrfmiddlewaretoken": token}).encode()  # fmt: skip
    opener.open(urllib.request.Request(base + "/login/", data=data, headers={"Referer": base + "/login/"}))
    return "sessionid=" + next(c.value for c in jar if c.name == "sessionid")


def _tree(pid: int) -> list[int]:
    """`pid` and every process under it (the web process is a child of `serve`)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def rss_kb(pid: int) -> int:
    total = 0
    for member in _tree(pid):
        try:
            lines = Path(f"/proc/{member}/status").read_text().splitlines()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in lines if line.startswith("VmRSS:")), 0)
    return total


def cpu_ms(pid: int) -> float:
    """CPU time (user + system) used so far by `pid` and the processes under it."""
    ticks = 0
    for member in _tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def floor_ms(count: int = 2000) -> float:
    """The floor this machine sets, measured in the same run: storing one chat line in a fresh
    SQLite database with the standard library alone (an insert and a WAL commit), in ms."""
    import sqlite3
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "floor.sqlite3", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, client_id TEXT UNIQUE, text TEXT, at REAL)")
        started = time.process_time()
        for n in range(count):
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT INTO m (client_id, text, at) VALUES (?, ?, ?)",
                (uuid.uuid4().hex, LINES[n % len(LINES)], time.time()),
            )
            db.execute("COMMIT")
        db.close()
        return (time.process_time() - started) * 1000 / count


async def run_case(widget_bases: list[str], agent_base: str, key: str, server_pids: list[int], sockets: int,
                   rate: float, seconds: float) -> dict[str, Any]:  # fmt: skip
    import websockets

    cookie = session_cookie(agent_base)
    agent_seen: dict[int, list[float]] = {}
    sent_at: dict[str, float] = {}
    acked: dict[str, int] = {}
    errors: list[str] = []

    agent = await websockets.connect(agent_base.replace("http", "ws") + "/ws/agent/",
                                     additional_headers={"Cookie": cookie, "Origin": agent_base})  # fmt: skip
    assert json.loads(await agent.recv())["event"] == "hello"

    async def listen_agent() -> None:
        async for raw in agent:
            event = json.loads(raw)
            if event.get("event") == "conversation.changed" and event.get("change") == "message":
                agent_seen.setdefault(event["message_id"], []).append(time.perf_counter())

    listener = asyncio.create_task(listen_agent())
    urls = [base.replace("http", "ws") + f"/ws/chat/{key}/" for base in widget_bases]

    class Widget:
        def __init__(self, url: str) -> None:
            self.url = url
            self.ws: Any = None
            self.token = ""
            self.reader: asyncio.Task[None] | None = None

        async def open(self) -> None:
            self.ws = await websockets.connect(self.url, additional_headers={"Origin": ORIGIN}, max_queue=64)
            await self.ws.send(json.dumps({"type": "hello", "token": "", "url": ORIGIN + "/", "lang": "nb"}))
            welcome = json.loads(await self.ws.recv())
            assert welcome["type"] == "welcome", welcome
            self.reader = asyncio.create_task(self.read())

        async def read(self) -> None:
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame["type"] == "ack":
                    acked[frame["client_id"]] = frame["id"]
                elif frame["type"] == "error":
                    errors.append(frame["code"])

        async def say(self, text: str) -> None:
            client_id = uuid.uuid4().hex
            sent_at[client_id] = time.perf_counter()
            await self.ws.send(
                json.dumps({"type": "message", "client_id": client_id, "text": text, "url": ORIGIN + "/p"})
            )

    widgets = [Widget(urls[n % len(urls)]) for n in range(sockets)]  # spread over the widget processes
    gate = asyncio.Semaphore(50)

    async def open_one(w: Widget) -> None:
        async with gate:
            await w.open()

    # Memory per idle socket is the slope: what the last 80 % of the sockets add, once the first
    # 20 % have warmed up what a process keeps whatever the count (database pools, caches, thread
    # stacks), which would otherwise be charged to the sockets (twice, with two processes).
    warm = sockets // 5
    started = time.perf_counter()
    await asyncio.gather(*(open_one(w) for w in widgets[:warm]))
    await asyncio.sleep(2)
    rss_before = sum(rss_kb(pid) for pid in server_pids)
    await asyncio.gather(*(open_one(w) for w in widgets[warm:]))
    connect_s = time.perf_counter() - started - 2
    await asyncio.sleep(2)
    rss_idle = sum(rss_kb(pid) for pid in server_pids)

    total = int(rate * seconds)
    rng = random.Random(7)
    cpu_before = sum(cpu_ms(pid) for pid in server_pids)
    begin = time.perf_counter()
    for n in range(total):
        target = begin + n / rate
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await rng.choice(widgets).say(f"{rng.choice(LINES)} ({n})")
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline and (len(acked) < total or not all(i in agent_seen for i in acked.values())):
        await asyncio.sleep(0.1)
    await asyncio.sleep(1)  # anything arriving twice arrives now
    busy = sum(cpu_ms(pid) for pid in server_pids) - cpu_before
    listener.cancel()
    for w in widgets:
        if w.reader:
            w.reader.cancel()
    await asyncio.gather(*(w.ws.close() for w in widgets), return_exceptions=True)
    await agent.close()

    latencies = sorted((agent_seen[mid][0] - sent_at[cid]) * 1000 for cid, mid in acked.items() if mid in agent_seen)
    lost = total - len(latencies)
    duplicated = sum(len(agent_seen.get(mid, [])) - 1 for mid in acked.values() if len(agent_seen.get(mid, [])) > 1)
    return {
        "sockets": sockets, "messages": total, "rate_per_s": rate, "connect_s": round(connect_s, 2),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(latencies[max(0, int(len(latencies) * 0.95) - 1)], 1) if latencies else None,
        "max_ms": round(latencies[-1], 1) if latencies else None,
        "lost": lost, "duplicated": duplicated, "distinct_ids": len(set(acked.values())), "errors": len(errors),
        "kb_per_idle_socket": round((rss_idle - rss_before) / (sockets - warm), 1),
        "server_cpu_ms_per_message": round(busy / total, 2),
    }  # fmt: skip


def stored_chat_messages(env: dict[str, str]) -> int:
    code = ("import django; django.setup(); from samtale.inbox.models import Message;"
            "print(Message.objects.filter(channel_kind='chat', direction='in').count())")  # fmt: skip
    out = subprocess.run(
        [str(BIN / "python"), "-c", code], cwd=ROOT, env=env, capture_output=True, check=True, text=True
    )
    return int(out.stdout.split()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.sockets + 256)), hard))
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    results = []
    for backend in args.backends.split(","):
        env = prepare(backend)
        log = ROOT / "var" / "bench" / f"chat-{backend}.log"
        procs = []
        try:
            first, first_base = serve(env, log)
            procs.append(first)
            widget_bases, agent_base, mode = [first_base], first_base, "one process"
            if backend == "postgres":
                # production-shaped: two server processes behind one address share the widgets
                # (alternately), and the agent is on the second: half of the messages reach the
                # agent from the other process through Redis
                second, second_base = serve(env, log)
                procs.append(second)
                widget_bases, agent_base, mode = [first_base, second_base], second_base, "two processes + Redis"
            r = asyncio.run(run_case(widget_bases, agent_base, env["BENCH_KEY"], [p.pid for p in procs], args.sockets,
                                     args.rate, args.seconds))  # fmt: skip
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(20)
        stored = stored_chat_messages(env)
        floor = floor_ms()
        r.update(backend=backend, mode=mode, stored=stored, stored_extra=stored - r["distinct_ids"],
                 floor_ms=round(floor, 3), cpu_per_message_over_floor=round(r["server_cpu_ms_per_message"] / floor, 1))  # fmt: skip
        results.append(r)
        print(json.dumps(r), flush=True)
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "chat_ws.json").write_text(json.dumps(results, indent=2))
    print(f"\n{'backend':<9} {'mode':<22} {'sockets':>7} {'msgs':>5} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} "
          f"{'lost':>5} {'dup':>4} {'stored':>6} {'KB/socket':>9} {'CPU ms/msg':>10} {'÷ floor':>7}")  # fmt: skip
    for r in results:
        flags = []
        if r["p95_ms"] is None or r["p95_ms"] > 100:
            flags.append("p95 over 100 ms")
        if r["lost"] or r["duplicated"] or r["stored_extra"]:
            flags.append("LOST/DUPLICATED")
        if r["kb_per_idle_socket"] > 50:
            flags.append("over 50 KB/socket")
        print(f"{r['backend']:<9} {r['mode']:<22} {r['sockets']:>7} {r['messages']:>5} {r['p50_ms']!s:>7} {r['p95_ms']!s:>7} "
              f"{r['max_ms']!s:>7} {r['lost']:>5} {r['duplicated']:>4} {r['stored']:>6} {r['kb_per_idle_socket']:>9}"
              f" {r['server_cpu_ms_per_message']:>10} {r['cpu_per_message_over_floor']:>7}"
              f"  {', '.join(flags)}")  # fmt: skip
    print("targets: p95 visitor→agent <= 100 ms, 0 lost, 0 duplicated, <= 50 KB per idle socket")
    print(
        "CPU ms/msg: the server processes' CPU over the sending phase per message (the agent's socket included);"
        " ÷ floor: that over storing one line with the standard library's sqlite3 on this machine, this run"
    )
    print(f"JSON: {out_dir / 'chat_ws.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
