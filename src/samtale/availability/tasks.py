"""Background jobs of the availability."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django_tasks import task
from django_tasks.base import Task

log = logging.getLogger(__name__)


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


PERIODIC: list[tuple[Task[[], Any], float]] = [(sync_calendars, 60.0)]
