"""Seeing it: /healthz, /readyz (database, loops alive, ingest lag), Prometheus /metrics behind a
token or allowed addresses, and the admins' notice when a loop is not running."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client, override_settings

from samtale.channels.email.models import RawEmail
from samtale.core.clock import now
from samtale.core.loops import Beat, record_heartbeat
from tests.channels.email.conftest import mail, send
from tests.conftest import World


def beat_all() -> None:
    for name in ("worker", "scheduler", "mail-ingest"):
        record_heartbeat(Beat(name))


def test_healthz_and_readyz(world: World) -> None:
    client = Client()
    assert client.get("/healthz").status_code == 200
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["worker"] == "not running"
    beat_all()
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["ready"] is True
    RawEmail.objects.create(account=world.account, channel=world.email, source="smtp", data=b"x", size=1,
                            received_at=now() - timedelta(hours=1))  # fmt: skip
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["mail_ingest_lag_seconds"] >= 3600


def test_metrics_need_a_token_or_an_allowed_address(world: World) -> None:
    outside = Client(REMOTE_ADDR="203.0.113.1")
    assert outside.get("/metrics").status_code == 403
    with override_settings(SAMTALE_METRICS_TOKEN="scrape-me"):
        assert outside.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
        r = outside.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/plain")
    assert Client().get("/metrics").status_code == 200  # loopback is allowed by default


def test_metrics_report_requests_queue_intake_loops_and_smtp(world_tx: World, listener: Any) -> None:
    send(listener, mail("Counted", "x"))
    RawEmail.objects.filter(pk=RawEmail.objects.get().pk).update(state="parked")
    Client().get("/healthz")
    body = Client().get("/metrics").content.decode()
    for line in ('samtale_smtp_replies_total{code="250"}', "samtale_mail_parked 1.0", 'samtale_task_queue{status="ready"}',
                 'samtale_loop_alive{loop="worker"} 0.0', "samtale_websocket_connections", "samtale_mail_ingest_lag_seconds",
                 'samtale_http_requests_total{method="GET",status="200"}'):  # fmt: skip
        assert line in body, line


def test_a_loop_that_is_not_running_shows_on_the_admins_inbox(world: World, client_for: Any) -> None:
    inbox = f"/inbox/{world.support.pk}/"
    page = client_for(world.admin).get(inbox).content.decode()
    assert 'id="intake-notice"' in page and "not being processed" in page
    assert 'id="intake-notice"' not in client_for(world.agent).get(inbox).content.decode()  # admins only
    beat_all()
    assert 'id="intake-notice"' not in client_for(world.admin).get(inbox).content.decode()
