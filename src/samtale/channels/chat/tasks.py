"""Background jobs of the chat channel."""

from __future__ import annotations

import logging
from typing import Any

from django_tasks import task
from django_tasks.base import Task

log = logging.getLogger(__name__)


@task()
def end_inactive_chats() -> int:
    """Chats whose visitor has been gone the widget's inactivity time end (transcript mailed, C15;
    a bot's conversation closes itself, C9)."""
    from samtale.channels.chat.actions import end_inactive_chats as end

    count = end()
    if count:
        log.info("ended %d inactive chats", count)
    return count


PERIODIC: list[tuple[Task[[], Any], float]] = [(end_inactive_chats, 60.0)]
