"""Reads: the stored facts of a user, and their status at an instant."""

from __future__ import annotations

from datetime import datetime

from django.db.models import OuterRef, Subquery

from samtale.accounts.models import User
from samtale.availability.models import OutOfOffice, Profile, StatusChange, WorkingHours
from samtale.availability.status import Facts, Manual, ManualStatus, Status, WeeklyRange, status_at
from samtale.core.clock import now


def facts_for(user: User, *, around: datetime | None = None) -> Facts:
    return facts_for_many([user], around or now())[user.pk]


def status_of(user: User, at: datetime | None = None) -> Status:
    at = at or now()
    return status_at(facts_for(user, around=at), at)


def facts_for_many(users: list[User], at: datetime) -> dict[int, Facts]:
    return facts_for_ids([u.pk for u in users], at)


def facts_for_ids(ids: list[int], at: datetime) -> dict[int, Facts]:
    """Facts of many users in four queries (the management page, the router)."""
    zones = dict(Profile.objects.filter(user_id__in=ids).values_list("user_id", "time_zone"))
    hours: dict[int, list[WeeklyRange]] = {}
    for h in WorkingHours.objects.filter(user_id__in=ids):
        hours.setdefault(h.user_id, []).append(WeeklyRange(h.weekday, h.start, h.end))
    ooo: dict[int, list[tuple[datetime, datetime]]] = {}
    for o in OutOfOffice.objects.filter(user_id__in=ids, ends_at__gt=at.replace(year=at.year - 1)).order_by(
        "starts_at"
    ):
        ooo.setdefault(o.user_id, []).append((o.starts_at, o.ends_at))
    newest = StatusChange.objects.filter(user_id=OuterRef("user_id")).order_by("-created_at", "-id").values("id")[:1]
    latest = {c.user_id: c for c in StatusChange.objects.filter(user_id__in=ids, id=Subquery(newest))}
    out = {}
    for user_id in ids:
        last = latest.get(user_id)
        manual = None
        if last is not None:
            manual = ManualStatus(
                kind=Manual(last.kind), at=last.created_at, until=last.until,
                by_admin=last.set_by_id is not None and last.set_by_id != user_id,
            )  # fmt: skip
        out[user_id] = Facts(
            time_zone=zones.get(user_id, "UTC"), hours=tuple(hours.get(user_id, ())),
            out_of_office=tuple(ooo.get(user_id, ())), manual=manual,
        )  # fmt: skip
    return out
