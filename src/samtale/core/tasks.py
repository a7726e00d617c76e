"""Background tasks and the in-process worker used by `samtale serve`."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from django.conf import settings
from django_tasks import task
from django_tasks.base import Task

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


PERIODIC: list[tuple[Task[[], Any], float]] = [
    (purge_trash, 3600.0),
    (recount_view_counts, 6 * 3600.0),
    (route_waiting, 60.0),
    (sync_calendars, 60.0),
    (prune_task_results, 6 * 3600.0),
]


class WorkerThreads:
    """The task worker plus a small scheduler that enqueues the periodic jobs."""

    def __init__(self, interval: float = 1.0) -> None:
        from django_tasks_db.management.commands.db_worker import Worker

        self.stop_event = threading.Event()
        self.worker = Worker(
            queue_names=["default"],
            interval=interval,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"samtale-{threading.get_native_id()}",
            excluded_queue_names=[],
        )
        self.threads = [
            threading.Thread(target=self.worker.run, name="samtale-worker", daemon=True),
            threading.Thread(target=self._schedule, name="samtale-scheduler", daemon=True),
        ]

    def _schedule(self) -> None:
        due = {id(t): 0.0 for t, _ in PERIODIC}
        elapsed = 0.0
        while not self.stop_event.is_set():
            for job, every in PERIODIC:
                if elapsed >= due[id(job)]:
                    try:
                        job.enqueue()
                    except Exception:
                        log.exception("could not enqueue %s", job.name)
                    due[id(job)] = elapsed + every
            self.stop_event.wait(5.0)
            elapsed += 5.0

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.worker.running = False
