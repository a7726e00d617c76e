"""Speed a person feels, in a real browser: Playwright driving Debian's chromium against
`samtale serve` (its default one web process per core), signed in, on an inbox of N conversations
(the bulk seed of bench/inbox_views.py), on SQLite and PostgreSQL.

Per backend and size, each sample with a different conversation, view or word:
- first load: a new browser context (nothing cached) opening the inbox — navigation start to the
  load event (HTML, JS, CSS, fonts and the list all there);
- open a conversation: a click on a list row to the thread painted (swapped into the page and the
  next frame drawn), measured in the page;
- switch view: a click on a view in the nav to its list painted (opened in place, no page load);
- search: the search form submitted to the list redrawn and painted;
- weight: the page's own JS and CSS as served, gzipped.
Targets (issue 11): click → paint p95 ≤ 200 ms at 1M conversations, first load ≤ 1 s, JS + CSS
≤ 100 KB gzipped. Prints a table and writes bench/results/ui.json.

    python bench/ui.py [--sizes 100000,1000000] [--backends sqlite,postgres] [--samples 30]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "bench"))
from inbox_views import database  # noqa: E402
from text import search_words  # noqa: E402
from thread_http import free_port, wait_up  # noqa: E402 - the benchmarks run as scripts
from timing import summarize  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
EMAIL, PASSWORD = "admin@bench.example", "bench-password"
TARGET_CLICK_MS, TARGET_LOAD_MS, TARGET_KB = 200, 1000, 100
VIEWS = ["unassigned", "mine", "all_open", "chat"]  # the views always shown in the nav
# rare, common, pair and prefix in turn (bench/text.py)
WORDS = [
    w for group in zip(*(search_words(k) for k in ("rare", "common", "pair", "prefix")), strict=True) for w in group
]

SEED = r"""
import json, sys
import django; django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
sys.path.insert(0, "bench")
from inbox_views import seed
info = seed(int(sys.argv[1]))
print("BENCH", json.dumps(info))
"""

# In the page: a click, then the new content of `target` in the page (htmx's swap: the settle phase
# after it only applies attribute transitions) and the next frame drawn, in ms.
CLICK_TO_PAINT = """
([selector, target]) => new Promise((resolve, reject) => {
  const started = performance.now();
  const settled = (e) => {
    if (!e.detail.target || e.detail.target.id !== target) return;
    document.removeEventListener("htmx:afterSwap", settled);
    requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - started)));
  };
  document.addEventListener("htmx:afterSwap", settled);
  setTimeout(() => reject(new Error("no swap of #" + target + " in 30 s")), 30000);
  const el = document.querySelector(selector);
  if (!el) { reject(new Error("nothing matches " + selector)); return; }
  if (el.tagName === "FORM") el.requestSubmit(); else el.click();
})
"""


def prepare(backend: str, size: int) -> dict[str, str]:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="samtale.settings", SAMTALE_LOG_LEVEL="WARNING",
               SAMTALE_SECRET_KEY="bench", PYTHONPATH=str(ROOT))  # fmt: skip
    env.pop("SAMTALE_REDIS_URL", None)
    url, data = database(backend, size)
    env["SAMTALE_DATABASE_URL"], env["SAMTALE_DATA_DIR"] = url, str(data)
    started = time.perf_counter()
    subprocess.run([str(BIN / "python"), "-c", SEED, str(size)], cwd=ROOT, env=env, check=True, capture_output=True)
    print(f"  {backend} {size:,}: ready in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return env


def weight_kb(base: str, urls: list[str]) -> float:
    """The page's own scripts and stylesheets as served, gzipped."""
    total = 0
    for url in sorted(set(urls)):
        if url.startswith(base):
            with urllib.request.urlopen(url, timeout=30) as response:
                total += len(gzip.compress(response.read(), 9))
    return round(total / 1024, 1)


@contextlib.contextmanager
def serving(backend: str, size: int) -> Iterator[str]:
    """`samtale serve` (its default web process per core) on the seeded inbox; yields its address."""
    env = prepare(backend, size)
    port = free_port()
    with open(Path(env["SAMTALE_DATA_DIR"]) / "server.log", "ab") as log:
        server = subprocess.Popen([str(BIN / "samtale"), "serve", "--no-smtp", "--no-ingest", "--no-worker",
                                   "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log)  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            wait_up(base, 120)
            yield base
        finally:
            server.terminate()
            server.wait(20)


def measure(backend: str, size: int, samples: int) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    rows: list[dict[str, Any]] = []
    with serving(backend, size) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        login = browser.new_context(base_url=base, viewport={"width": 1440, "height": 900})
        page = login.new_page()
        page.goto("/login/")
        page.fill("input[name=username]", EMAIL)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/inbox/**")
        state = login.storage_state()
        inbox = page.url.split("/inbox/")[1].split("/")[0]
        assets = page.evaluate(
            "performance.getEntriesByType('resource').filter(r => ['script', 'link', 'css'].includes(r.initiatorType)"
            " || /\\.(js|css)(\\?|$)/.test(r.name)).map(r => r.name)"
        )
        rows.append({"backend": backend, "size": size, "case": "JS + CSS gzipped", "kb": weight_kb(base, assets)})
        login.close()

        loads = []
        for n in range(samples):  # a cold browser each time: nothing cached but the session
            context = browser.new_context(base_url=base, storage_state=state, viewport={"width": 1440, "height": 900})
            cold = context.new_page()
            cold.goto(f"/inbox/{inbox}/v/{VIEWS[n % len(VIEWS)]}/", wait_until="load")
            loads.append(cold.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
            context.close()
        rows.append({"backend": backend, "size": size, "case": "first load", **summarize(loads)})

        context = browser.new_context(base_url=base, storage_state=state, viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.set_default_timeout(30000)
        page.goto(f"/inbox/{inbox}/v/all_open/")
        opens = []
        ids = page.eval_on_selector_all(".row[id]", "rows => rows.map(r => r.id)")
        for n in range(samples):  # a different row each time
            selector = f"#{ids[n % len(ids)]} .row-link"
            opens.append(page.evaluate(CLICK_TO_PAINT, [selector, "thread-pane"]))
        rows.append({"backend": backend, "size": size, "case": "open conversation", **summarize(opens)})

        switches = []
        for n in range(samples):  # opened in place: the list pane replaced, the thread pane emptied
            view = VIEWS[(n + 1) % len(VIEWS)]
            switches.append(page.evaluate(CLICK_TO_PAINT, [f".view-link[data-view='{view}']", "app-main"]))
        rows.append({"backend": backend, "size": size, "case": "switch view", **summarize(switches)})

        page.goto(f"/inbox/{inbox}/v/all_open/")
        searches = []
        for n in range(samples):
            # the words set without typing (typing searches 300 ms after the last key), then submitted
            page.evaluate("w => { document.querySelector('#q').value = w; }", WORDS[n % len(WORDS)])
            searches.append(page.evaluate(CLICK_TO_PAINT, ["#search-form", "list"]))
        rows.append({"backend": backend, "size": size, "case": "search", **summarize(searches)})
        browser.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"bench/ui.py needs Debian's chromium at {CHROMIUM} (make install-test installs it)", file=sys.stderr)
        return 2
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        for backend in args.backends.split(","):
            rows += measure(backend, size, args.samples)
    print(f"\n{'backend':<9} {'size':>9} {'case':<18} {'p50 ms':>8} {'p95 ms':>8} {'KB gz':>7}  target")
    for r in rows:
        if "kb" in r:
            verdict = "ok" if r["kb"] <= TARGET_KB else "MISSED"
            print(f"{r['backend']:<9} {r['size']:>9,} {r['case']:<18} {'':>8} {'':>8} {r['kb']:>7}  {verdict}")
            continue
        target = TARGET_LOAD_MS if r["case"] == "first load" else TARGET_CLICK_MS
        verdict = ("ok" if r["p95_ms"] <= target else "MISSED") if r["size"] >= 1_000_000 else f"(≤ {target} at 1M)"
        print(f"{r['backend']:<9} {r['size']:>9,} {r['case']:<18} {r['p50_ms']:>8} {r['p95_ms']:>8} {'':>7}  {verdict}")
    out = ROOT / "bench" / "results" / "ui.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    targets = {"click_to_paint_p95_ms": TARGET_CLICK_MS, "first_load_p95_ms": TARGET_LOAD_MS, "js_css_kb": TARGET_KB}
    out.write_text(json.dumps({"targets": targets, "rows": rows}, indent=1))
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
