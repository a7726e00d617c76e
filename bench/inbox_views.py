"""Inbox read-path benchmark: views, deep pages, counts, search, thread.

Seeds N conversations (about 5 messages each) on SQLite and on PostgreSQL, then times the
same query functions the UI and API use. Prints a table and writes JSON to bench/results/.

    python bench/inbox_views.py [--sizes 100000,1000000] [--backends sqlite,postgres] [--repeat 30]

Seeding uses bulk SQL (what is measured is reading, not seeding); accounts, users, the
inbox and its channels are created through actions like everywhere else.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from timing import percentiles  # noqa: E402 - the benchmarks run as scripts

PG_BASE = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/test")
TARGETS_MS = {"list": 150, "deep page": 150, "counts": 50, "search": 300, "thread": 100, "worker": 0}


def child(backend: str, size: int, repeat: int, out: Path) -> None:
    """Runs in a fresh interpreter so each backend gets its own Django settings."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    seed_info = seed(size)
    results = measure(seed_info, repeat)
    out.write_text(json.dumps({"backend": backend, "size": size, "vendor": connection.vendor, "results": results}))


def seed(size: int) -> dict[str, int]:
    from django.db import connection, transaction

    from samtale.accounts import actions as account_actions
    from samtale.accounts.models import User
    from samtale.inbox import actions
    from samtale.inbox.models import Channel, Conversation, Inbox

    existing = Conversation.objects.count()
    if existing >= size:
        inbox = Inbox.objects.get(name="Bench")
        agent = User.objects.get(email="agent1@bench.example")
        return {"inbox": inbox.pk, "agent": agent.pk, "seeded_now": 0}
    started = time.perf_counter()
    with transaction.atomic():  # all or nothing: a failed seed leaves nothing behind
        account, admin = account_actions.create_account(
            name="Bench", admin_email="admin@bench.example", admin_name="Admin", password="bench-password"
        )
        agents = [
            account_actions.create_user(account, acting_user=admin, email=f"agent{i}@bench.example", name=f"Agent {i}")
            for i in range(1, 21)
        ]
        inbox = actions.create_inbox(account, acting_user=admin, name="Bench", members=agents)
        kinds = ["email", "chat", "messenger", "form", "call"]
        channels = {
            k: actions.create_channel(
                inbox,
                acting_user=admin,
                kind=k,
                name=k,
                address="bench@bench.example" if k == "email" else "",
                history=k not in ("email", "chat"),  # (kinds without a package yet: rows only)
            )
            for k in kinds
        }
        from samtale.channels.email.actions import verify_address

        verify_address(channels["email"], how="bench setup")
        ch = [channels[k].pk for k in kinds]
        owner_lo, owner_hi = agents[0].pk, agents[-1].pk
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                _seed_postgres(cur, size, account.pk, inbox.pk, ch, owner_lo, owner_hi)
            else:
                _seed_sqlite(cur, size, account.pk, inbox.pk, ch, owner_lo, owner_hi)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
    else:
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    from samtale.inbox import counters

    counters.recount(inbox, report=False)  # bulk SQL bypassed the write path that keeps the counts
    print(f"  seeded {size:,} conversations in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    del Channel
    return {"inbox": inbox.pk, "agent": agents[0].pk, "seeded_now": size}


WORDS = [
    "invoice",
    "delivery",
    "refund",
    "login",
    "password",
    "order",
    "shipping",
    "return",
    "quote",
    "meeting",
    "crash",
    "export",
    "billing",
    "upgrade",
]


def _write_documents(cur, inbox: int) -> None:  # type: ignore[no-untyped-def]
    """Each conversation's search document: its subject and realistic message text (bench/text.py)."""
    from django.db import connection

    from text import Writer

    cur.execute("SELECT id, lower(subject) FROM inbox_conversation WHERE inbox_id = %s ORDER BY id", [inbox])
    subjects = cur.fetchall()
    documents = Writer().documents()
    rows = ((pk, f"{subject} {next(documents)}") for pk, subject in subjects)
    if connection.vendor == "postgresql":
        # the index is built once at the end, not entry by entry
        cur.execute("DROP INDEX IF EXISTS inbox_conversationsearch_tsv")
        with cur.cursor.copy("COPY inbox_conversationsearch (conversation_id, document) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # checked now: an index is not built with checks pending
        cur.execute("CREATE INDEX inbox_conversationsearch_tsv ON inbox_conversationsearch USING GIN (tsv)")
        return
    while batch := list(itertools.islice(rows, 10_000)):
        cur.executemany("INSERT INTO inbox_conversationsearch (conversation_id, document) VALUES (%s, %s)", batch)


def _seed_postgres(cur, size, account, inbox, ch, owner_lo, owner_hi) -> None:  # type: ignore[no-untyped-def]
    n_owners = owner_hi - owner_lo + 1
    cur.execute(
        "INSERT INTO crm_contact (account_id, name, email, phone, created_at) "
        "SELECT %s, 'Contact ' || g, 'contact' || g || '@example.com', '', now() FROM generate_series(1, 50000) g",
        [account],
    )
    cur.execute("SELECT min(id) FROM crm_contact WHERE account_id = %s", [account])
    first_contact = cur.fetchone()[0]
    words = "ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "]"
    cur.execute(
        f"""
        INSERT INTO inbox_conversation (account_id, inbox_id, channel_id, channel_kind, contact_id, subject, status,
            owner_id, bot, awaiting_first_reply, spam_at, filtered_at, trashed_at, closed_at, created_at,
            last_activity_at, preview, message_count)
        SELECT %(account)s, %(inbox)s, (%(ch)s::bigint[])[1 + g %% 5],
            (ARRAY['email','chat','messenger','form','call'])[1 + g %% 5],
            %(c0)s + (g %% 50000), 'About ' || ({words})[1 + (g * 7) %% {len(WORDS)}] || ' ' || g,
            CASE WHEN g %% 100 < 75 THEN 'closed' ELSE 'open' END,
            CASE WHEN g %% 10 < 8 THEN %(o0)s + (g * 13) %% %(no)s ELSE NULL END,
            CASE WHEN g %% 100 = 99 AND g %% 10 >= 8 THEN 'Triage bot' ELSE '' END,
            g %% 100 = 98,
            CASE WHEN g %% 100 = 97 THEN now() END, CASE WHEN g %% 100 = 96 THEN now() END,
            CASE WHEN g %% 100 = 95 THEN now() END, CASE WHEN g %% 100 < 75 THEN now() END,
            now() - (g || ' minutes')::interval, now() - ((g %% 1000000) || ' seconds')::interval - (g || ' seconds')::interval,
            'Preview of conversation ' || g, 1 + (g * 31) %% 9
        FROM generate_series(1, %(n)s) g
        """,
        {"account": account, "inbox": inbox, "ch": ch, "c0": first_contact, "o0": owner_lo, "no": n_owners, "n": size},
    )
    cur.execute(
        """
        INSERT INTO inbox_message (account_id, conversation_id, direction, channel_kind, sender_name, sender_address,
            recipients, text, html, external_id, delivery_status, delivery_error, created_at)
        SELECT c.account_id, c.id, CASE WHEN k %% 2 = 1 THEN 'in' ELSE 'out' END, c.channel_kind, 'Sender', '', '[]',
            'Message ' || k || ' of ' || c.id || ' lorem ipsum dolor sit amet',
            '<p>Message ' || k || ' of ' || c.id || ' lorem ipsum dolor sit amet</p>', '', '', '',
            c.created_at + (k || ' minutes')::interval
        FROM inbox_conversation c, generate_series(1, c.message_count) k WHERE c.inbox_id = %s
        """,
        [inbox],
    )
    _write_documents(cur, inbox)


def _seed_sqlite(cur, size, account, inbox, ch, owner_lo, owner_hi) -> None:  # type: ignore[no-untyped-def]
    n_owners = owner_hi - owner_lo + 1
    now = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    cur.execute(
        "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 50000) "
        f"INSERT INTO crm_contact (account_id, name, email, phone, created_at) SELECT {account}, 'Contact ' || x, "
        f"'contact' || x || '@example.com', '', {now} FROM g"
    )
    cur.execute("SELECT min(id) FROM crm_contact WHERE account_id = %s", [account])
    c0 = cur.fetchone()[0]
    kinds = (
        "CASE x % 5 WHEN 0 THEN 'email' WHEN 1 THEN 'chat' WHEN 2 THEN 'messenger' WHEN 3 THEN 'form' ELSE 'call' END"
    )
    chan = (
        f"CASE x % 5 WHEN 0 THEN {ch[0]} WHEN 1 THEN {ch[1]} WHEN 2 THEN {ch[2]} WHEN 3 THEN {ch[3]} ELSE {ch[4]} END"
    )
    word = "CASE (x * 7) % 14 " + " ".join(f"WHEN {i} THEN '{w}'" for i, w in enumerate(WORDS)) + " END"
    cur.execute(
        f"""
        WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < {int(size)})
        INSERT INTO inbox_conversation (account_id, inbox_id, channel_id, channel_kind, contact_id, subject, status,
            owner_id, bot, awaiting_first_reply, spam_at, filtered_at, trashed_at, closed_at, created_at,
            last_activity_at, preview, message_count)
        SELECT {account}, {inbox}, {chan}, {kinds}, {c0} + (x % 50000), 'About ' || ({word}) || ' ' || x,
            CASE WHEN x % 100 < 75 THEN 'closed' ELSE 'open' END,
            CASE WHEN x % 10 < 8 THEN {owner_lo} + (x * 13) % {n_owners} ELSE NULL END,
            CASE WHEN x % 100 = 99 AND x % 10 >= 8 THEN 'Triage bot' ELSE '' END,
            x % 100 = 98,
            CASE WHEN x % 100 = 97 THEN {now} END, CASE WHEN x % 100 = 96 THEN {now} END,
            CASE WHEN x % 100 = 95 THEN {now} END, CASE WHEN x % 100 < 75 THEN {now} END,
            strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || x || ' minutes'),
            strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (x + x % 1000000) || ' seconds'),
            'Preview of conversation ' || x, 1 + (x * 31) % 9
        FROM g
        """
    )
    cur.execute(
        f"""
        WITH RECURSIVE m(cid, k, cnt, kind, at) AS (
            SELECT id, 1, message_count, channel_kind, created_at FROM inbox_conversation WHERE inbox_id = {inbox}
            UNION ALL SELECT cid, k + 1, cnt, kind, at FROM m WHERE k < cnt)
        INSERT INTO inbox_message (account_id, conversation_id, direction, channel_kind, sender_name, sender_address,
            recipients, text, html, external_id, delivery_status, delivery_error, created_at)
        SELECT {account}, cid, CASE WHEN k % 2 = 1 THEN 'in' ELSE 'out' END, kind, 'Sender', '', '[]',
            'Message ' || k || ' of ' || cid || ' lorem ipsum dolor sit amet',
            '<p>Message ' || k || ' of ' || cid || ' lorem ipsum dolor sit amet</p>', '', '', '',
            strftime('%Y-%m-%d %H:%M:%f', at, '+' || k || ' minutes')
        FROM m
        """
    )
    _write_documents(cur, inbox)


def measure(info: dict[str, int], repeat: int) -> dict[str, dict[str, float]]:
    from samtale.accounts.models import User
    from samtale.inbox import queries
    from samtale.inbox.models import Conversation, Inbox

    inbox = Inbox.objects.get(pk=info["inbox"])
    user = User.objects.get(pk=info["agent"])
    cases = {}

    def first_page(view: str, filters: queries.Filters) -> None:
        qs = queries.conversation_queryset(inbox, user, view, filters)
        page = queries.list_page(qs, sort=filters.sort)
        assert page.count is not None

    for view in queries.VIEW_KEYS:
        cases[f"list {view}"] = ("list", lambda v=view: first_page(v, queries.Filters()))
    # A deep page: 200 pages into All closed, reached by cursor as the UI does.
    qs = queries.conversation_queryset(inbox, user, "all_closed", queries.Filters())
    deep = qs[min(5000, qs.count() // 2) :][:1].get()
    cursor = queries.encode_cursor(deep)
    cases["deep page (all_closed, +5000)"] = (
        "deep page",
        lambda: queries.list_page(
            queries.conversation_queryset(inbox, user, "all_closed", queries.Filters()), cursor=cursor
        ),
    )
    cases["counts (all views)"] = ("counts", lambda: queries.view_counts(inbox, user))
    # What the worker's periodic recount costs (not on any screen's path).
    cases["recount from rows (worker job)"] = ("worker", lambda: queries.view_counts_exact(inbox, user))
    from text import search_words

    for kind in ("rare", "common", "pair", "prefix"):  # a different word (or pair) per sample
        typed = itertools.cycle(search_words(kind))
        cases[f"search {kind} words"] = ("search", lambda t=typed: first_page("all_open", queries.Filters(q=next(t))))
    thread_ids = list(
        Conversation.objects.filter(inbox=inbox).order_by("-last_activity_at").values_list("pk", flat=True)[:repeat]
    )

    def open_thread() -> None:
        pk = thread_ids.pop() if thread_ids else deep.pk
        c = Conversation.objects.select_related("inbox", "channel", "contact", "owner").get(pk=pk)
        t = queries.thread(c)
        assert t.messages

    cases["open thread"] = ("thread", open_thread)
    results: dict[str, dict[str, float]] = {}
    for name, (kind, fn) in cases.items():
        results[name] = {"kind": kind, **percentiles(fn, repeat), "target_ms": TARGETS_MS[kind]}  # type: ignore[dict-item]
    return results


SEED_VERSION = 2  # raised when the seed changes, so that a database seeded before is not reused


def database(backend: str, size: int) -> tuple[str, Path]:
    """The seeded database of `size` conversations (kept between runs, shared by the benchmarks
    that read an inbox) and its data directory."""
    from thread_http import database_url

    data = ROOT / "var" / "bench" / f"inbox-{backend}-{size}-v{SEED_VERSION}"
    data.mkdir(parents=True, exist_ok=True)
    return database_url(backend, f"samtale_bench_inbox_{size}_v{SEED_VERSION}", data), data


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--child", nargs=3, metavar=("BACKEND", "SIZE", "OUT"))
    args = parser.parse_args()
    if args.child:
        backend, size, out = args.child
        child(backend, int(size), args.repeat, Path(out))
        return 0
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    report = []
    for size in [int(s) for s in args.sizes.split(",")]:
        for backend in args.backends.split(","):
            url, data = database(backend, size)
            env = dict(os.environ, DJANGO_SETTINGS_MODULE="samtale.settings", SAMTALE_DATA_DIR=str(data),
                       SAMTALE_LOG_LEVEL="WARNING", SAMTALE_DATABASE_URL=url)  # fmt: skip
            out = results_dir / f"inbox_views_{backend}_{size}.json"
            print(f"== {backend}, {size:,} conversations", file=sys.stderr)
            subprocess.run(
                [sys.executable, __file__, "--child", backend, str(size), str(out), "--repeat", str(args.repeat)],
                env=env, check=True,
            )  # fmt: skip
            report.append(json.loads(out.read_text()))
    print(f"\n{'backend':<10} {'size':>9}  {'case':<34} {'p50 ms':>8} {'p95 ms':>8} {'target':>7}")
    for run in report:
        for name, r in run["results"].items():
            flag = "" if not r["target_ms"] or r["p95_ms"] <= r["target_ms"] else "  over"
            print(
                f"{run['backend']:<10} {run['size']:>9,}  {name:<34} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['target_ms']:>7}{flag}"
            )
    (results_dir / "inbox_views.json").write_text(json.dumps(report, indent=2))
    print(f"\nJSON: {results_dir / 'inbox_views.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
