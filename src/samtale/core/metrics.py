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
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

HTTP_REQUESTS = Counter("samtale_http_requests_total", "HTTP requests answered", ["method", "status"])
HTTP_SECONDS = Histogram("samtale_http_request_seconds", "Time to answer an HTTP request", ["method"])
SMTP_REPLIES = Counter("samtale_smtp_replies_total", "SMTP/LMTP replies sent by the listener", ["code"])
WEBSOCKETS = Gauge("samtale_websocket_connections", "Open agent WebSockets in this process")
CHAT_SOCKETS = Gauge("samtale_chat_connections", "Open chat widget WebSockets in this process")
# What apps add (registered in their AppConfig.ready, so core names no app): loops that must run
# somewhere, gauges read at scrape time, and readiness checks.
_loops: list[str] = ["worker", "scheduler"]
_gauges: list[Callable[[], Iterator[Metric]]] = []
_ready_checks: list[Callable[[], tuple[str, Any, bool]]] = []


def expect_loop(name: str) -> None:
    """A loop (by heartbeat name) that must run in some process of the installation."""
    if name not in _loops:
        _loops.append(name)


def loops() -> list[str]:
    return list(_loops)


def add_gauges(produce: Callable[[], Iterator[Metric]]) -> None:
    _gauges.append(produce)


def add_readiness_check(check: Callable[[], tuple[str, Any, bool]]) -> None:
    """`check()` -> (name, value shown, ready?)."""
    _ready_checks.append(check)


class _InstallationCollector(Collector):
    """Gauges read from the database at scrape time (the same for every process)."""

    def collect(self) -> Iterator[Metric]:
        from django_tasks_db.models import DBTaskResult

        from samtale.core.loops import alive
        from samtale.core.models import Heartbeat

        queue = GaugeMetricFamily("samtale_task_queue", "Background tasks by status", labels=["status"])
        for status in ("READY", "RUNNING", "FAILED"):
            queue.add_metric([status.lower()], DBTaskResult.objects.filter(status=status).count())
        yield queue
        for produce in _gauges:
            yield from produce()
        up = GaugeMetricFamily(
            "samtale_loop_alive", "A long-running loop beat recently (1) or not (0)", labels=["loop"]
        )
        failures = GaugeMetricFamily("samtale_loop_failures", "Failed iterations of a loop", labels=["loop"])
        for name in _loops:
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
    """Readiness of the installation: the database answers, every expected loop beat recently
    (in some process), and the apps' own checks pass (mail: stored mail is being processed)."""
    from samtale.core.loops import alive

    checks: dict[str, Any] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "unreachable"
        return JsonResponse({"ready": False, "checks": checks}, status=503)
    ready = True
    for name in _loops:
        checks[name] = "ok" if alive(name) else "not running"
        ready = ready and checks[name] == "ok"
    for check in _ready_checks:
        name, value, passed = check()
        checks[name] = value
        ready = ready and passed
    return JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)
