"""REST API: Availability: status, manual changes and calendar sync."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import reverse
from ninja import Router

from samtale.accounts.access import access_user
from samtale.api import schemas as s
from samtale.api.common import _user
from samtale.core.bounds import check_instant
from samtale.core.proxies import absolute_url

router = Router()


def _availability_out(user_id: int, at: Any, status: Any) -> dict[str, Any]:
    return {
        "user_id": user_id, "at": at, "available": status.available,
        "status": "available" if status.available else "away", "reason": str(status.reason),
        "next_change": status.next_change, "until": status.until,
    }  # fmt: skip


@router.get("/users/{user_id}/availability", response=s.AvailabilityOut, tags=["availability"])
def user_availability(request: HttpRequest, user_id: s.PathId, at: datetime | None = None) -> dict[str, Any]:
    """Status, reason and next change at `at` (ISO 8601; default now)."""
    from samtale.availability.queries import status_of
    from samtale.core.clock import now

    target = access_user(_user(request), user_id)
    when = at or now()
    if when.tzinfo is None:
        raise ValidationError("`at` needs a time zone offset, e.g. 2026-11-21T09:00:00+01:00")
    check_instant(when, "`at`")
    return _availability_out(target.pk, when, status_of(target, when))


@router.post("/users/{user_id}/status", response=s.AvailabilityOut, tags=["availability"])
def set_user_status(request: HttpRequest, user_id: s.PathId, payload: s.StatusIn) -> dict[str, Any]:
    from samtale.availability import actions as availability_actions
    from samtale.availability.queries import status_of
    from samtale.core.clock import now

    actor = _user(request)
    target = access_user(actor, user_id)
    if payload.action == "available":
        availability_actions.set_available(target, acting_user=actor)
    elif payload.action == "away":
        availability_actions.set_away(target, acting_user=actor)
    elif payload.action == "temporary":
        availability_actions.set_temporary_away(target, acting_user=actor, preset=payload.preset, until=payload.until)
    else:
        raise ValidationError("action must be available, away or temporary")
    when = now()
    return _availability_out(target.pk, when, status_of(target, when))


def _calendar_out(request: HttpRequest, feed: Any) -> dict[str, Any]:
    published = absolute_url(request, reverse("published_calendar", args=[feed.publish_token]))
    return {
        "url": feed.url, "keywords": feed.keywords, "last_synced_at": feed.last_synced_at,
        "last_error": feed.last_error, "last_event_count": feed.last_event_count, "last_note": feed.last_note,
        "published_url": published,
    }  # fmt: skip


@router.get("/users/{user_id}/calendar", response=s.CalendarOut, tags=["availability"])
def get_calendar(request: HttpRequest, user_id: s.PathId) -> dict[str, Any]:
    """Calendar sync settings (the user themself or a super admin): feed, keywords, last sync,
    and the secret address of the published out-of-office feed."""
    from samtale.availability import actions as availability_actions

    actor = _user(request)
    target = access_user(actor, user_id)
    availability_actions.require_may_edit(actor, target)
    return _calendar_out(request, availability_actions.calendar_feed_of(target))


@router.put("/users/{user_id}/calendar", response=s.CalendarOut, tags=["availability"])
def put_calendar(request: HttpRequest, user_id: s.PathId, payload: s.CalendarIn) -> dict[str, Any]:
    from samtale.availability import actions as availability_actions

    actor = _user(request)
    target = access_user(actor, user_id)
    feed = availability_actions.configure_calendar(
        target, acting_user=actor, url=payload.url, keywords=payload.keywords
    )
    return _calendar_out(request, feed)


@router.post("/users/{user_id}/calendar/sync", response=s.CalendarOut, tags=["availability"])
def sync_calendar_now(request: HttpRequest, user_id: s.PathId) -> dict[str, Any]:
    """Ask the worker to fetch the feed now."""
    from samtale.availability import actions as availability_actions

    actor = _user(request)
    target = access_user(actor, user_id)
    availability_actions.request_calendar_sync(target, acting_user=actor)
    return _calendar_out(request, availability_actions.calendar_feed_of(target))


@router.post("/users/{user_id}/calendar/import", response=s.CalendarImportOut, tags=["availability"])
def import_calendar(request: HttpRequest, user_id: s.PathId, payload: s.CalendarImportIn) -> dict[str, Any]:
    """Import an .ics file's out-of-office events (replacing the previous import's)."""
    from samtale.availability import actions as availability_actions

    actor = _user(request)
    target = access_user(actor, user_id)
    data = payload.ics.encode()
    read = availability_actions.import_calendar_file(target, acting_user=actor, data=data)
    return {"events": len(read.ranges), "note": read.cut}
