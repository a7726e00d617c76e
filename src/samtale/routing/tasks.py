"""Background jobs of the routing."""

from __future__ import annotations

import logging
from typing import Any

from django_tasks import task
from django_tasks.base import Task

log = logging.getLogger(__name__)


@task()
def route_waiting() -> int:
    """Offer unassigned conversations again: working periods start and temporary away ends
    without anyone acting, so this runs every minute."""
    from samtale.routing.actions import route_backlog
    from samtale.routing.models import RoutingRule

    inboxes = set(RoutingRule.objects.filter(enabled=True).values_list("channel__inbox_id", flat=True))
    return sum(route_backlog(pk) for pk in inboxes)


PERIODIC: list[tuple[Task[[], Any], float]] = [(route_waiting, 60.0)]
