"""The user record reads the calendar feed's state and its out-of-office rows from one snapshot:
a sync that commits while the page renders shows wholly or not at all (the calendar e2e test once
saw the synced event beside "Waiting for the first sync…")."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection

from samtale.availability import actions
from samtale.availability.calendar import CalendarRange
from samtale.availability.models import CalendarFeed
from samtale.core.clock import now
from samtale.core.snapshot import read_snapshot
from tests.conftest import World


def _sync_now(world: World) -> None:
    """What the worker's sync commits: the feed's rows and its state, in one transaction."""
    from django.db import transaction

    try:
        with transaction.atomic():
            start = now() + timedelta(days=3)
            actions._apply_calendar(
                world.agent, actions.FEED_PREFIX, [CalendarRange("e1", start, start + timedelta(days=2), "Seminar")]
            )
            CalendarFeed.objects.filter(user=world.agent).update(last_synced_at=now(), last_event_count=1)
    finally:
        connection.close()


def test_a_sync_committing_between_two_reads_is_not_half_seen(world_tx: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from samtale.availability import views

    actions.configure_calendar(world_tx.agent, acting_user=world_tx.agent, url="")
    CalendarFeed.objects.filter(user=world_tx.agent).update(url="https://calendar.example/x.ics")
    real = views._record_context

    def context_then_sync(request: Any, target_id: int) -> dict[str, object]:
        context = real(request, target_id)  # the feed is read here (still waiting for its first sync)
        worker = threading.Thread(target=_sync_now, args=(world_tx,))
        worker.start()  # the sync commits before the out-of-office rows are rendered
        worker.join()
        return context

    monkeypatch.setattr(views, "_record_context", context_then_sync)
    from django.test import Client

    client = Client()
    client.force_login(world_tx.agent)
    page = client.get("/settings/availability/").content.decode()
    waiting = "Waiting for the first sync" in page
    assert waiting != ("Seminar" in page), "half a sync: the state and the rows disagree"


def test_the_snapshot_sees_one_moment(world_tx: World) -> None:
    with read_snapshot():
        before = CalendarFeed.objects.count()
        worker = threading.Thread(target=lambda: (actions.calendar_feed_of(world_tx.agent2), connection.close()))
        worker.start()
        worker.join()
        assert CalendarFeed.objects.count() == before
    assert CalendarFeed.objects.count() == before + 1
