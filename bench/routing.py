"""Routing benchmark: 500 users in 50 teams, 1M open conversations, on PostgreSQL.

Times the routing decision (`choose`), a full `route` (decision + assignment write), and the
availability management page for 500 users. Prints a table and writes JSON to bench/results/.

    python bench/routing.py [--conversations 1000000] [--repeat 50]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from timing import percentiles  # noqa: E402 - the benchmarks run as scripts

PG_BASE = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/test")


def child(conversations: int, repeat: int, out: Path) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    info = seed(conversations)
    from samtale.cli import _warm

    _warm()  # what `samtale serve` does after starting
    out.write_text(json.dumps({"conversations": conversations, "results": measure(info, repeat)}))


def seed(size: int) -> dict[str, int]:
    from datetime import time as wall

    from django.db import connection, transaction

    from samtale.accounts import actions as account_actions
    from samtale.accounts.models import User
    from samtale.availability import actions as availability
    from samtale.inbox import actions, counters
    from samtale.inbox.models import Inbox
    from samtale.routing.actions import configure_routing

    if Inbox.objects.filter(name="Routing bench").exists():
        inbox = Inbox.objects.get(name="Routing bench")
        admin = User.objects.get(email="admin@routing.example")
        return {"inbox": inbox.pk, "admin": admin.pk}
    rng = random.Random(5)
    account, admin = account_actions.create_account(
        name="Routing", admin_email="admin@routing.example", admin_name="Admin", password="bench-password"
    )
    users = [
        account_actions.create_user(
            account, acting_user=admin, email=f"u{i}@routing.example", name=f"User {i:03d}", seat="service"
        )
        for i in range(500)
    ]
    teams = [
        account_actions.create_team(account, acting_user=admin, name=f"Team {t}", members=users[t * 10 : t * 10 + 10])
        for t in range(50)
    ]
    inbox = actions.create_inbox(account, acting_user=admin, name="Routing bench", members=users)
    email = actions.create_channel(inbox, acting_user=admin, kind="email", name="mail", address="route@routing.example")
    from samtale.channels.email.actions import verify_address

    verify_address(email, how="bench setup")
    zones = ["Europe/Oslo", "America/New_York", "Asia/Kolkata", "Pacific/Chatham", "UTC"]
    for i, user in enumerate(users):
        availability.set_time_zone(user, acting_user=user, time_zone=zones[i % len(zones)])
        if i % 4:  # a quarter have no hours at all
            for d in range(7):
                availability.add_working_hours(user, acting_user=user, weekday=d, start=wall(0), end=wall(23, 59))
        if i % 10 == 3:
            availability.set_away(user, acting_user=user)
    configure_routing(email, acting_user=admin, teams=teams, method="round_robin", capacity=None)
    ids = [u.pk for u in users]
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO inbox_conversation (account_id, inbox_id, channel_id, channel_kind, subject, status, owner_id,
                bot, awaiting_first_reply, created_at, last_activity_at, preview, message_count)
            SELECT %s, %s, %s, 'email', 'Open ' || g, 'open', (%s::bigint[])[1 + g %% 500], '', false,
                now() - (g || ' seconds')::interval, now() - (g || ' seconds')::interval, '', 1
            FROM generate_series(1, %s) g
            """,
            [account.pk, inbox.pk, email.pk, ids, size],
        )
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    counters.recount(inbox, report=False)
    del rng
    return {"inbox": inbox.pk, "admin": admin.pk}


def measure(info: dict[str, int], repeat: int) -> dict[str, dict[str, float]]:
    from django.db import transaction
    from django.test import Client

    from samtale.accounts.models import User
    from samtale.inbox import actions
    from samtale.inbox.models import Channel
    from samtale.routing.actions import choose, route
    from samtale.routing.models import RoutingRule

    channel = Channel.objects.get(inbox_id=info["inbox"], kind="email")
    rule = RoutingRule.objects.select_related("channel__inbox").get(channel=channel)
    results: dict[str, dict[str, float]] = {}

    def timed(name: str, fn, target: float) -> None:  # type: ignore[no-untyped-def]
        results[name] = {**percentiles(fn, repeat), "target_ms": target}

    def decide() -> None:
        with transaction.atomic():
            assert choose(rule) is not None

    timed("routing decision (500 candidates)", decide, 10)
    counter = iter(range(10**6))

    def arrive_and_route() -> None:
        n = next(counter)
        actions.receive_inbound(
            channel, actions.InboundMessage(sender_address=f"b{n}@customer.example", text="hi", subject="x")
        )

    timed("new conversation incl. routing", arrive_and_route, 0)
    conversation = channel.conversations.filter(owner=None).first()
    if conversation is not None:
        timed("route one conversation", lambda: route(conversation), 0)
    admin = User.objects.get(pk=info["admin"])
    client = Client()
    client.force_login(admin)
    timed("availability page, 500 users", lambda: client.get("/settings/availability-management/"), 150)
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--child", nargs=2, metavar=("SIZE", "OUT"))
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), args.repeat, Path(args.child[1]))
        return 0
    import psycopg

    name = f"samtale_bench_routing_{args.conversations}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    out = results_dir / "routing.json"
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="samtale.settings", SAMTALE_LOG_LEVEL="WARNING",
               SAMTALE_DATA_DIR=str(ROOT / "var" / "bench"), SAMTALE_ALLOWED_HOSTS="testserver",
               SAMTALE_DATABASE_URL=PG_BASE.rsplit("/", 1)[0] + "/" + name)  # fmt: skip
    subprocess.run([sys.executable, __file__, "--child", str(args.conversations), str(out), "--repeat", str(args.repeat)],
                   env=env, check=True)  # fmt: skip
    report = json.loads(out.read_text())
    print(f"\n{'case':<40} {'p50 ms':>8} {'p95 ms':>8} {'target':>7}   (PostgreSQL, {report['conversations']:,} open)")
    for case, r in report["results"].items():
        flag = "  over" if r["target_ms"] and r["p95_ms"] > r["target_ms"] else ""
        print(f"{case:<40} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['target_ms'] or '-':>7}{flag}")
    print(f"\nJSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
