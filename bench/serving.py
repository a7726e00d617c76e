"""Serving on every core: agents opening threads at the same time, through HTTP with signed-in
sessions, against `samtale serve` with one web process, and with one per core sharing events
through the serving process's hub (the default SQLite install) and through Redis, on the seeded
SQLite database of bench/thread_http.py, and with one per core on its PostgreSQL database and Redis.

Connections are spread over 4 client processes (threads in each); each signs in and opens
thread fragments of different conversations (10 to 10,000 messages) back to back for a fixed
time. Reports requests per second and p50/p95 at 1 and at 32 connections, and the throughput at
32 as a multiple of that at 1 (target, issue 11: ≥ 1.7× on 2 cores, p95 at 32 ≤ 500 ms). The
clients run on the same machine and take CPU from the servers, so this is a floor.

    python bench/serving.py [--seconds 15]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from thread_http import BIN, Session, free_port, prepare, wait_up  # noqa: E402

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
CLIENT_PROCESSES = 4


def client(base: str, ids: list[int], offset: int, threads: int, seconds: float,
           out: multiprocessing.Queue[list[float]]) -> None:  # fmt: skip
    took: list[float] = []
    lock = threading.Lock()

    def one(start: int) -> None:
        session = Session(base)
        session.login("admin@bench.example", "bench-password-1")
        mine = []
        n = start
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ms, _body = session.get(f"/c/{ids[n % len(ids)]}/", {"HX-Request": "true"})
            mine.append(ms)
            n += 7
        with lock:
            took.extend(mine)

    workers = [threading.Thread(target=one, args=(offset + 13 * t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put(took)


def start(processes: int, shared_by: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    # 33 sign-ins in a second from one address: over the default sign-in rate limit
    env = {**env, "SAMTALE_INSTALLATION": f"bench-serving-{port}", "SAMTALE_LOGIN_RATE": "10000/m"}
    env.pop("SAMTALE_REDIS_URL", None)
    if shared_by == "redis":
        env["SAMTALE_REDIS_URL"] = REDIS_URL
    log = (ROOT / "var" / "bench" / f"serving-{processes}-{shared_by}.log").open("ab")
    server = subprocess.Popen([str(BIN / "samtale"), "serve", "--no-smtp", "--no-ingest", "--no-worker", "--port",
                               str(port), "--web-processes", str(processes)], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_up(base)
    for _ in range(processes * 4):  # every process has served once (templates, connections)
        urllib.request.urlopen(base + "/login/", timeout=5).read()
    return server, base


def load(base: str, ids: list[int], connections: int, seconds: float) -> dict[str, float]:
    per = [connections // CLIENT_PROCESSES + (1 if n < connections % CLIENT_PROCESSES else 0)
           for n in range(CLIENT_PROCESSES)]  # fmt: skip
    queue: multiprocessing.Queue[list[float]] = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=client, args=(base, ids, 101 * n, threads, seconds, queue))
        for n, threads in enumerate(per)
        if threads
    ]
    for w in workers:
        w.start()
    took = sorted(t for _ in workers for t in queue.get(timeout=seconds + 180))
    for w in workers:
        w.join()
    return {
        "requests_per_s": round(len(took) / seconds, 1),
        "p50_ms": round(took[len(took) // 2], 1),
        "p95_ms": round(took[max(0, int(len(took) * 0.95) - 1)], 1),
    }


def measure(processes: int, shared_by: str, seconds: float, env: dict[str, str], ids: list[int]) -> dict[str, Any]:
    server, base = start(processes, shared_by, env)
    try:
        one = load(base, ids, 1, seconds)
        many = load(base, ids, 32, seconds)
    finally:
        server.terminate()
        server.wait(20)
    return {
        "database": "postgres" if env["SAMTALE_DATABASE_URL"].startswith("postgres") else "sqlite",
        "web_processes": processes, "shared_by": shared_by if processes > 1 else "-",
        "rps_1": one["requests_per_s"], "p95_1": one["p95_ms"],
        "rps_32": many["requests_per_s"], "p50_32": many["p50_ms"], "p95_32": many["p95_ms"],
        "ratio_32_to_1": round(many["requests_per_s"] / one["requests_per_s"], 2) if one["requests_per_s"] else 0.0,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    env, info = prepare("sqlite")
    ids = [cid for group in info["threads"].values() for cid in group]  # type: ignore[attr-defined]
    cores = os.cpu_count() or 1
    rows = [measure(1, "-", args.seconds, env, ids)]
    if cores > 1:
        rows += [measure(cores, "hub", args.seconds, env, ids), measure(cores, "redis", args.seconds, env, ids)]
        pg_env, pg_info = prepare("postgres")  # the production shape: PostgreSQL and Redis
        pg_ids = [cid for group in pg_info["threads"].values() for cid in group]  # type: ignore[attr-defined]
        rows.append(measure(cores, "redis", args.seconds, pg_env, pg_ids))
    print(f"\n{'database':>9} {'web processes':>13} {'shared by':>9} {'req/s 1':>8} {'p95 1':>7} {'req/s 32':>9} "
          f"{'p50 32':>7} {'p95 32':>7} {'32 ÷ 1':>7}")  # fmt: skip
    for r in rows:
        print(f"{r['database']:>9} {r['web_processes']:>13} {r['shared_by']:>9} {r['rps_1']:>8} {r['p95_1']:>7} {r['rps_32']:>9} "
              f"{r['p50_32']:>7} {r['p95_32']:>7} {r['ratio_32_to_1']:>7}")  # fmt: skip
    out = ROOT / "bench" / "results" / "serving.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cores": cores, "targets": {"ratio_32_to_1": 1.7, "p95_32_ms": 500}, "rows": rows},
                              indent=1))  # fmt: skip
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
