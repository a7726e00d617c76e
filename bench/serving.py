"""Serving on every core: agents opening threads at the same time, through HTTP with signed-in
sessions, against `samtale serve` with one web process and with one per core (Redis set, as
`--web-processes` requires), on the seeded SQLite database of bench/thread_http.py.

Each of C client processes signs in and opens thread fragments of different conversations
(of 10 to 10,000 messages) back to back for a fixed time. Reports, per web-process count,
requests per second and p50/p95 latency, and the throughput ratio to one process. The clients
run on the same machine and take CPU from the servers, so the ratio is a floor of what a
machine with its clients elsewhere gets.

    python bench/serving.py [--clients 4] [--seconds 15]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from thread_http import BIN, Session, free_port, prepare  # noqa: E402

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")


def client(base: str, ids: list[int], offset: int, seconds: float, out: multiprocessing.Queue[list[float]]) -> None:
    session = Session(base)
    session.login("admin@bench.example", "bench-password-1")
    took = []
    n = offset
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ms, _body = session.get(f"/c/{ids[n % len(ids)]}/", {"HX-Request": "true"})
        took.append(ms)
        n += 7
    out.put(took)


def measure(processes: int, clients: int, seconds: float, env: dict[str, str], ids: list[int]) -> dict[str, float]:
    port = free_port()
    env = {**env, "SAMTALE_REDIS_URL": REDIS_URL, "SAMTALE_INSTALLATION": f"bench-serving-{port}"}
    log = (ROOT / "var" / "bench" / f"serving-{processes}.log").open("ab")
    server = subprocess.Popen([str(BIN / "samtale"), "serve", "--no-smtp", "--no-ingest", "--no-worker", "--port",
                               str(port), "--web-processes", str(processes)], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/login/", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        for _ in range(processes * 4):  # every process has served once (templates, connections)
            urllib.request.urlopen(base + "/login/", timeout=5).read()
        queue: multiprocessing.Queue[list[float]] = multiprocessing.Queue()
        workers = [multiprocessing.Process(target=client, args=(base, ids, n, seconds, queue)) for n in range(clients)]
        for w in workers:
            w.start()
        took = [t for _ in workers for t in queue.get(timeout=seconds + 120)]
        for w in workers:
            w.join()
    finally:
        server.terminate()
        server.wait(20)
    took.sort()
    return {
        "web_processes": processes,
        "clients": clients,
        "requests_per_s": round(len(took) / seconds, 1),
        "p50_ms": round(took[len(took) // 2], 1),
        "p95_ms": round(took[max(0, int(len(took) * 0.95) - 1)], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    env, info = prepare("sqlite")
    ids = [cid for group in info["threads"].values() for cid in group]  # type: ignore[attr-defined]
    cores = os.cpu_count() or 1
    rows = [measure(p, args.clients, args.seconds, env, ids) for p in sorted({1, cores})]
    floor = rows[0]["requests_per_s"]
    print(f"\n{'web processes':>13} {'clients':>7} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'× one':>6}")
    for r in rows:
        r["ratio_to_one"] = round(r["requests_per_s"] / floor, 2) if floor else 0.0
        print(f"{r['web_processes']:>13} {r['clients']:>7} {r['requests_per_s']:>7} {r['p50_ms']:>7} "
              f"{r['p95_ms']:>7} {r['ratio_to_one']:>6}")  # fmt: skip
    out = ROOT / "bench" / "results" / "serving.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cores": cores, "rows": rows}, indent=1))
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
