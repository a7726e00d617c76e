"""Background tasks and the in-process worker used by `samtale serve`."""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django_tasks import task
from django_tasks.base import Task

from samtale.core.loops import Loop

log = logging.getLogger(__name__)


@task()
def purge_trash() -> int:
    from samtale.inbox.actions import purge_trash as purge

    count = purge(older_than=timedelta(days=settings.SAMTALE_TRASH_RETENTION_DAYS))
    if count:
        log.info("purged %d conversations from Trash", count)
    return count


@task()
def recount_view_counts() -> int:
    """Repair any drift of the kept view counts (there should be none; it is logged)."""
    from samtale.inbox import counters
    from samtale.inbox.models import Inbox

    return sum(counters.recount(inbox) for inbox in Inbox.objects.all())


@task()
def route_waiting() -> int:
    """Offer unassigned conversations again: working periods start and temporary away ends
    without anyone acting, so this runs every minute."""
    from samtale.routing.actions import route_backlog
    from samtale.routing.models import RoutingRule

    inboxes = set(RoutingRule.objects.filter(enabled=True).values_list("channel__inbox_id", flat=True))
    return sum(route_backlog(pk) for pk in inboxes)


@task()
def sync_calendar(feed_id: int) -> int:
    """Sync one calendar feed now (after it is connected, or "Sync now")."""
    from samtale.availability.actions import sync_calendar_feed
    from samtale.availability.models import CalendarFeed

    feed = CalendarFeed.objects.select_related("user__membership").filter(pk=feed_id).first()
    return sync_calendar_feed(feed) if feed is not None else 0


@task()
def sync_calendars() -> int:
    """Poll every connected feed whose last sync is older than SAMTALE_CALENDAR_POLL_MINUTES."""
    from django.db.models import Q

    from samtale.availability.actions import sync_calendar_feed
    from samtale.availability.models import CalendarFeed
    from samtale.core.clock import now

    due = now() - timedelta(minutes=settings.SAMTALE_CALENDAR_POLL_MINUTES)
    feeds = CalendarFeed.objects.select_related("user__membership").exclude(url="")
    changed = 0
    for feed in feeds.filter(Q(last_synced_at__isnull=True) | Q(last_synced_at__lt=due)):
        try:
            changed += sync_calendar_feed(feed)
        except Exception:  # one broken feed must not stop the others
            log.exception("calendar sync of feed %s failed", feed.pk)
    return changed


@task()
def deliver_email(message_id: int) -> str:
    """Send one outbound email (retried with backoff by re-enqueueing itself)."""
    from samtale.mail.outbound import deliver

    return deliver(message_id)


@task()
def send_transcript(conversation_id: int, to: str, language: str = "") -> str:
    """Email a chat transcript (C8, C15)."""
    from samtale.mail.transcript import send

    return send(conversation_id, to, language)


@task()
def prune_task_results() -> None:
    """Finished task results are kept a day (failed ones a week), then removed."""
    from django.core.management import call_command

    call_command("prune_db_task_results", min_age_days=1, failed_min_age_days=7, verbosity=0)


@task()
def prune_heartbeats() -> int:
    """Heartbeats of processes that stopped a day ago are history."""
    from samtale.core.clock import now
    from samtale.core.models import Heartbeat

    return Heartbeat.objects.filter(beat_at__lt=now() - timedelta(days=1)).delete()[0]


PERIODIC: list[tuple[Task[[], Any], float]] = [
    (purge_trash, 3600.0),
    (recount_view_counts, 6 * 3600.0),
    (route_waiting, 60.0),
    (sync_calendars, 60.0),
    (prune_task_results, 6 * 3600.0),
    (prune_heartbeats, 6 * 3600.0),
]


def periodic_jobs() -> list[tuple[Task[[], Any], float]]:
    """Every periodic job: these, and each installed app's `tasks.PERIODIC` (an app owns its jobs;
    the scheduler collects them without importing any app by name)."""
    import importlib

    from django.apps import apps

    jobs = list(PERIODIC)
    for config in apps.get_app_configs():
        if not config.name.startswith("samtale.") or config.name == "samtale.core":
            continue
        try:
            module = importlib.import_module(f"{config.name}.tasks")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.tasks":
                raise
            continue
        jobs.extend(getattr(module, "PERIODIC", []))
    return jobs


class WorkerThreads:
    """The task worker plus a small scheduler that enqueues the periodic jobs, each a supervised
    `Loop`: a database error in one iteration ("database is locked", a lost connection) is logged
    and retried with backoff; neither ever stops for good."""

    def __init__(self, interval: float = 1.0, *, schedule: bool = True, work: bool = True) -> None:
        from django_tasks_db.management.commands.db_worker import Worker

        self.worker = Worker(
            queue_names=["default"],
            interval=interval,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"samtale-{os.getpid()}-{threading.get_native_id()}",
            excluded_queue_names=[],
        )
        self.due: dict[str, float] = {}
        self.loops: list[Loop] = []
        if work:
            self.loops.append(Loop("worker", self._work, every=interval))
        if schedule:
            self.loops.append(Loop("scheduler", self._schedule, every=5.0))

    def _work(self) -> float | None:
        """Run the next ready task, if any; at once again after one ran."""
        from django_tasks_db.models import DBTaskResult
        from django_tasks_db.utils import exclusive_transaction

        tasks = DBTaskResult.objects.ready().filter(backend_name="default", queue_name__in=["default"])
        with exclusive_transaction(tasks.db):
            result = tasks.get_locked()
            if result is not None:
                result.claim(self.worker.worker_id)
        if result is None:
            return None
        self.worker.run_task(result)  # records success or failure on the task's row
        return 0.0

    def _schedule(self) -> float | None:
        at = time.monotonic()
        for job, every in periodic_jobs():
            if at >= self.due.get(job.name, 0.0):
                job.enqueue()  # a failure is retried by the loop (backoff), not skipped
                self.due[job.name] = at + every
        return None

    def start(self) -> None:
        for loop in self.loops:
            loop.start()

    def stop(self, wait: float = 0.0) -> None:
        for loop in self.loops:
            loop.stop(wait)
