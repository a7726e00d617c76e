"""Prometheus metrics (`/metrics`) and health endpoints (`/healthz`, `/readyz`).

Counters and gauges of this process (HTTP requests, SMTP replies, WebSocket connections) live in
prometheus-client's registry; what the whole installation shares (the task queue, mail intake,
the loops' heartbeats) is read from the database when scraped. `/metrics` answers only with
`Authorization: Bearer $SAMTALE_METRICS_TOKEN` or from `SAMTALE_METRICS_ALLOWED_IPS`.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from samtale.core.clock import now

HTTP_REQUESTS = Counter("samtale_http_requests_total", "HTTP requests answered", ["method", "status"])
HTTP_SECONDS = Histogram("samtale_http_request_seconds", "Time to answer an HTTP request", ["method"])
SMTP_REPLIES = Counter("samtale_smtp_replies_total", "SMTP/LMTP replies sent by the listener", ["code"])
WEBSOCKETS = Gauge("samtale_websocket_connections", "Open agent WebSockets in this process")
LOOPS = ("worker", "scheduler", "mail-ingest")


class _InstallationCollector(Collector):
    """Gauges read from the database at scrape time (the same for every process)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django_tasks_db.models import DBTaskResult

        from samtale.core.loops import alive
        from samtale.core.models import Heartbeat
        from samtale.mail.models import RawEmail
        from samtale.mail.queries import oldest_pending_at, pending_count

        queue = GaugeMetricFamily("samtale_task_queue", "Background tasks by status", labels=["status"])
        for status in ("READY", "RUNNING", "FAILED"):
            queue.add_metric([status.lower()], DBTaskResult.objects.filter(status=status).count())
        yield queue
        oldest = oldest_pending_at()
        yield GaugeMetricFamily(
            "samtale_mail_ingest_lag_seconds", "Age of the oldest stored mail not yet processed",
            value=(now() - oldest).total_seconds() if oldest else 0.0,
        )  # fmt: skip
        yield GaugeMetricFamily("samtale_mail_pending", "Stored mail waiting to be processed", value=pending_count())
        yield GaugeMetricFamily(
            "samtale_mail_parked", "Mail the ingest queue parked for an admin",
            value=RawEmail.objects.filter(state=RawEmail.State.PARKED).count(),
        )  # fmt: skip
        up = GaugeMetricFamily(
            "samtale_loop_alive", "A long-running loop beat recently (1) or not (0)", labels=["loop"]
        )
        failures = GaugeMetricFamily("samtale_loop_failures", "Failed iterations of a loop", labels=["loop"])
        for name in LOOPS:
            up.add_metric([name], 1.0 if alive(name) else 0.0)
            total = sum(Heartbeat.objects.filter(name=name).values_list("total_failures", flat=True))
            failures.add_metric([name], float(total))
        yield up
        yield failures


_collector_registered = False


def _register() -> None:
    global _collector_registered
    if not _collector_registered:
        REGISTRY.register(_InstallationCollector())
        _collector_registered = True


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD") else "OTHER"
        HTTP_REQUESTS.labels(method, str(response.status_code)).inc()
        HTTP_SECONDS.labels(method).observe(time.perf_counter() - started)
        return response


def _may_scrape(request: HttpRequest) -> bool:
    token = settings.SAMTALE_METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip(), token):
        return True
    try:
        client = ipaddress.ip_address(str(request.META.get("REMOTE_ADDR", "")))
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(n, strict=False) for n in settings.SAMTALE_METRICS_ALLOWED_IPS)


def serve_own_metrics() -> None:
    """For processes without a web server (`samtale smtpd`, `samtale worker`): their metrics at
    http://$SAMTALE_METRICS_HOST:$SAMTALE_METRICS_PORT/ (loopback by default) when the port is set."""
    from prometheus_client import start_http_server

    if settings.SAMTALE_METRICS_PORT:
        _register()
        start_http_server(settings.SAMTALE_METRICS_PORT, addr=settings.SAMTALE_METRICS_HOST)


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _may_scrape(request):
        return HttpResponse("Forbidden", status=403, content_type="text/plain")
    _register()
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: this process answers."""
    return HttpResponse("ok\n", content_type="text/plain")


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness of the installation: the database answers, the worker, the scheduler and mail
    ingest beat recently (in some process), and stored mail is being processed."""
    from samtale.core.loops import alive
    from samtale.mail.queries import oldest_pending_at

    checks: dict[str, Any] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "unreachable"
        return JsonResponse({"ready": False, "checks": checks}, status=503)
    for name in LOOPS:
        checks[name] = "ok" if alive(name) else "not running"
    oldest = oldest_pending_at()
    lag = (now() - oldest) if oldest else timedelta(0)
    too_old = lag > timedelta(seconds=settings.SAMTALE_READY_MAX_LAG_SECONDS)
    checks["mail_ingest_lag_seconds"] = round(lag.total_seconds(), 1)
    ready = all(v == "ok" for k, v in checks.items() if k != "mail_ingest_lag_seconds") and not too_old
    return JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)
