"""Background jobs of the inbox."""

from __future__ import annotations

import logging
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


PERIODIC: list[tuple[Task[[], Any], float]] = [(purge_trash, 3600.0), (recount_view_counts, 6 * 3600.0)]
