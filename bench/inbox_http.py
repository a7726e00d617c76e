"""The inbox as an agent waits for it, through HTTP with a signed-in session (uvicorn → Django →
templates), against `samtale serve`, on the inbox of N conversations of bench/inbox_views.py
(realistic message text: bench/text.py), on SQLite and PostgreSQL.

Per backend and size, each sample with a different view, conversation or word:
- the full inbox page (what a reload of a view opens: nav with counts, list, filters);
- the full conversation page (inbox and thread: what a link or a reload opens);
- a search (the list fragment the search box loads), for rare words, common words ("hei",
  "takk", the company's name), pairs and prefixes.
Targets (issue 11) at 1M: inbox page p95 ≤ 150 ms, conversation page ≤ 100 ms, every search
≤ 300 ms. Prints a table and writes bench/results/inbox_http.json.

    python bench/inbox_http.py [--sizes 100000,1000000] [--backends sqlite,postgres] [--samples 40]
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "bench"))
from text import search_words  # noqa: E402 - the benchmarks run as scripts
from thread_http import Session  # noqa: E402
from timing import summarize  # noqa: E402
from ui import EMAIL, PASSWORD, serving  # noqa: E402

VIEWS = ["unassigned", "mine", "all_open", "all_closed", "chat", "email", "sent", "trash"]
TARGETS = {"inbox page": 150, "conversation page": 100, "search": 300}


def measure(backend: str, size: int, samples: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with serving(backend, size) as base:
        session = Session(base)
        session.login(EMAIL, PASSWORD)
        first = session.get("/")[1].decode()
        inbox = re.search(r'data-inbox="(\d+)"', first)
        assert inbox is not None, "no inbox on the first page"
        prefix = f"/inbox/{inbox.group(1)}"

        def run(case: str, paths: list[str], headers: dict[str, str] | None = None) -> None:
            session.get(paths[0], headers)  # warm: connections, templates
            timed = [session.get(path, headers) for path in paths]
            if case.startswith("search"):  # every word searched for is in some conversation
                empty = [path for path, (_t, body) in zip(paths, timed, strict=True) if b'id="row-' not in body]
                assert not empty, f"{case}: no conversation listed by {empty[:3]}"
            rows.append({"backend": backend, "size": size, "case": case, **summarize([t for t, _ in timed]),
                         "kb_max": round(max(len(body) for _, body in timed) / 1024, 1)})  # fmt: skip

        run("inbox page", [f"{prefix}/v/{VIEWS[n % len(VIEWS)]}/" for n in range(samples)])
        # conversations from across the list: the newest of several views, deep pages of All closed
        listed = session.get(f"{prefix}/list/?view=all_closed")[1].decode()
        ids = re.findall(r'id="row-(\d+)"', listed)
        for view in VIEWS[:4]:
            ids += re.findall(r'id="row-(\d+)"', session.get(f"{prefix}/list/?view={view}")[1].decode())
        ids = list(dict.fromkeys(ids))
        run("conversation page", [f"{prefix}/v/all_open/c/{ids[n % len(ids)]}/" for n in range(samples)])
        hx = {"HX-Request": "true"}
        for kind in ("rare", "common", "pair", "prefix"):
            words = list(itertools.islice(itertools.cycle(search_words(kind)), samples))
            run(f"search: {kind}", [f"{prefix}/list/?" + urllib.parse.urlencode({"view": "all_open", "q": w})
                                    for w in words], hx)  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        for backend in args.backends.split(","):
            rows += measure(backend, size, args.samples)
    print(f"\n{'backend':<9} {'size':>9} {'case':<18} {'p50 ms':>8} {'p95 ms':>8} {'KB max':>7}  target")
    for r in rows:
        target = TARGETS[r["case"].split(":")[0]]
        verdict = ("ok" if r["p95_ms"] <= target else "MISSED") if r["size"] >= 1_000_000 else f"(≤ {target} at 1M)"
        print(
            f"{r['backend']:<9} {r['size']:>9,} {r['case']:<18} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['kb_max']:>7}  {verdict}"
        )
    out = ROOT / "bench" / "results" / "inbox_http.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"targets_p95_ms_at_1M": TARGETS, "rows": rows}, indent=1))
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
