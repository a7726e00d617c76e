"""The one write path for availability: working hours, out of office, manual status."""

from __future__ import annotations

import functools
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from samtale.accounts.access import membership_of
from samtale.accounts.models import Seat, User
from samtale.availability import events
from samtale.availability.calendar import CalendarRange, CalendarRead
from samtale.availability.models import CalendarFeed, OutOfOffice, Profile, StatusChange, WorkingHours, new_feed_token
from samtale.core.audit import audit
from samtale.core.bounds import check_instant
from samtale.core.clock import now
from samtale.core.events import publish_on_commit

TEMPORARY_PRESETS = {"15m": timedelta(minutes=15), "30m": timedelta(minutes=30), "1h": timedelta(hours=1),
                     "2h": timedelta(hours=2), "4h": timedelta(hours=4)}  # fmt: skip


def require_may_edit(acting_user: User, user: User) -> None:
    """The user themself, or a super admin of the same account."""
    actor = membership_of(acting_user)
    target = user.membership
    if target.account_id != actor.account_id:
        raise PermissionDenied(_("Not your account."))
    if acting_user.pk != user.pk and not actor.is_super_admin:
        raise PermissionDenied(_("Only the user or a super admin can change this."))


@functools.cache
def time_zones() -> list[str]:
    """The zones a person can live in: "Europe/Oslo" and the like, and UTC; not the database's
    aliases of the server's own clock or file layout ("localtime", "posixrules", "Factory")."""
    return sorted(
        z for z in available_timezones() if ("/" in z and not z.startswith(("Etc/", "posix/", "right/"))) or z == "UTC"
    )


def set_time_zone(user: User, *, acting_user: User, time_zone: str) -> Profile:
    require_may_edit(acting_user, user)
    if time_zone not in time_zones():
        raise ValidationError({"time_zone": _("Unknown time zone.")})
    with transaction.atomic():
        profile, _created = Profile.objects.get_or_create(user=user)
        profile.time_zone = time_zone
        profile.save(update_fields=["time_zone"])
        audit(user.membership.account, acting_user, "availability.time_zone", user, time_zone=time_zone)
        publish_on_commit(events.availability_changed(user))
    return profile


def add_working_hours(user: User, *, acting_user: User, weekday: int, start: time, end: time) -> WorkingHours:
    require_may_edit(acting_user, user)
    if not 0 <= weekday <= 6:
        raise ValidationError(_("Unknown weekday."))
    if start == end:
        raise ValidationError({"end": _("A range needs a start and a different end.")})
    with transaction.atomic():
        row = WorkingHours.objects.create(user=user, weekday=weekday, start=start, end=end)
        audit(user.membership.account, acting_user, "availability.hours_added", row, weekday=weekday)
        publish_on_commit(events.availability_changed(user))
    return row


def _remove(row: WorkingHours | OutOfOffice, acting_user: User, verb: str) -> None:
    require_may_edit(acting_user, row.user)
    with transaction.atomic():
        audit(row.user.membership.account, acting_user, verb, row)
        row.delete()
        publish_on_commit(events.availability_changed(row.user))


def remove_working_hours(row: WorkingHours, *, acting_user: User) -> None:
    _remove(row, acting_user, "availability.hours_removed")


def add_out_of_office(
    user: User, *, acting_user: User, starts_at: datetime, ends_at: datetime, title: str = ""
) -> OutOfOffice:
    require_may_edit(acting_user, user)
    check_instant(starts_at, _("The start"))
    check_instant(ends_at, _("The end"))
    if ends_at <= starts_at:
        raise ValidationError({"end_date": _("The end must be after the start.")})
    with transaction.atomic():
        row = OutOfOffice.objects.create(user=user, starts_at=starts_at, ends_at=ends_at, title=title[:300])
        audit(user.membership.account, acting_user, "availability.ooo_added", row)
        publish_on_commit(events.availability_changed(user))
    return row


def remove_out_of_office(row: OutOfOffice, *, acting_user: User) -> None:
    _remove(row, acting_user, "availability.ooo_removed")


def _set(user: User, acting_user: User, kind: str, until: datetime | None = None) -> StatusChange:
    with transaction.atomic():
        change = StatusChange.objects.create(user=user, kind=kind, until=until, set_by=acting_user, created_at=now())
        audit(
            user.membership.account,
            acting_user,
            f"availability.{kind}",
            user,
            until=until.isoformat() if until else None,
        )
        publish_on_commit(
            events.availability_changed(user, admin_set_away=kind == "away" and acting_user.pk != user.pk)
        )
        if kind == StatusChange.Kind.AVAILABLE:
            transaction.on_commit(lambda: offer_backlog_to(user))
    return change


def offer_backlog_to(user: User) -> int:
    """Someone is back: waiting conversations of their inboxes are routed again."""
    from samtale.inbox.access import accessible_inboxes
    from samtale.routing.actions import route_backlog

    return sum(route_backlog(pk) for pk in accessible_inboxes(user).values_list("pk", flat=True))


def set_available(user: User, *, acting_user: User) -> StatusChange:
    _may_change_status(acting_user, user)
    return _set(user, acting_user, StatusChange.Kind.AVAILABLE)


def set_away(user: User, *, acting_user: User) -> StatusChange:
    _may_change_status(acting_user, user)
    return _set(user, acting_user, StatusChange.Kind.AWAY)


def set_temporary_away(
    user: User, *, acting_user: User, preset: str = "", until: datetime | None = None
) -> StatusChange:
    """Away for a while (B4): a preset, "today" (rest of the user's day) or a custom end."""
    _may_change_status(acting_user, user)
    if user.membership.seat != Seat.SERVICE:
        raise PermissionDenied(_("Setting temporarily away needs a service seat."))
    start = now()
    if preset in TEMPORARY_PRESETS:
        until = start + TEMPORARY_PRESETS[preset]
    elif preset == "today":
        zone = zone_of(user)
        local = start.astimezone(zone)
        until = datetime.combine(local.date() + timedelta(days=1), time.min, tzinfo=zone)
    elif until is None:
        raise ValidationError(_("Choose how long you will be away."))
    if until.tzinfo is None or until <= start:
        raise ValidationError(_("The end must be in the future."))
    if until - start > timedelta(days=31):
        raise ValidationError(_("Temporarily away lasts at most 31 days; use out of office for longer."))
    return _set(user, acting_user, StatusChange.Kind.TEMPORARY_AWAY, until)


def _may_change_status(acting_user: User, user: User) -> None:
    """Your own status; someone else's only with `availability_management` (B7)."""
    actor = membership_of(acting_user)
    if user.membership.account_id != actor.account_id:
        raise PermissionDenied(_("Not your account."))
    if acting_user.pk != user.pk and not actor.has_permission("availability_management"):
        raise PermissionDenied(_("You need the availability management permission."))


def save_management_filters(account_id: int, *, acting_user: User, filters: dict[str, str]) -> None:
    """Filters of the availability page are shared: whoever sets them sets them for everyone."""
    from samtale.availability.models import ManagementFilters

    membership = membership_of(acting_user)
    if membership.account_id != account_id:
        raise PermissionDenied(_("Not your account."))
    clean = {k: str(v)[:40] for k, v in filters.items() if k in {"status", "team", "inbox", "seat"} and v}
    with transaction.atomic():
        ManagementFilters.objects.update_or_create(
            account_id=account_id, defaults={"filters": clean, "updated_by": acting_user, "updated_at": now()}
        )
        audit(membership.account, acting_user, "availability.filters", None, filters=clean)
        publish_on_commit(events.filters_changed(account_id))


# ---------------------------------------------------------------- calendar sync (B6)

FEED_PREFIX = "feed:"
UPLOAD_PREFIX = "upload:"


def zone_of(user: User) -> ZoneInfo:
    """The user's time zone (UTC until they choose one)."""
    profile = Profile.objects.filter(user=user).first()
    return ZoneInfo(profile.time_zone if profile else "UTC")


def calendar_feed_of(user: User) -> CalendarFeed:
    feed, _created = CalendarFeed.objects.get_or_create(user=user)
    return feed


def configure_calendar(user: User, *, acting_user: User, url: str, keywords: str | None = None) -> CalendarFeed:
    """Connect (or change, or with an empty url disconnect) the feed; a connected feed is synced
    at once by the worker and then every SAMTALE_CALENDAR_POLL_MINUTES."""
    from samtale.availability.calendar import CalendarError, check_address

    require_may_edit(acting_user, user)
    url = url.strip()
    if url.startswith("webcal://"):
        url = "https://" + url.removeprefix("webcal://")
    if url:
        try:
            check_address(url)
        except CalendarError as exc:
            raise ValidationError({"url": str(exc)}) from exc
    with transaction.atomic():
        feed = calendar_feed_of(user)
        changed_url = feed.url != url
        feed.url = url
        if keywords is not None:
            feed.keywords = keywords[:500]
        if changed_url:
            feed.etag = feed.last_modified = feed.last_error = ""
            feed.last_synced_at = None
            feed.last_event_count = 0
        feed.save()
        audit(user.membership.account, acting_user, "availability.calendar_configured", user, connected=bool(url))
        if not url:
            _apply_calendar(user, FEED_PREFIX, [])
        else:
            from samtale.availability.tasks import sync_calendar

            pk = feed.pk
            transaction.on_commit(lambda: sync_calendar.enqueue(pk))
    return feed


def _apply_calendar(user: User, prefix: str, ranges: list[CalendarRange]) -> int:
    """Make the user's calendar-sourced out-of-office rows under `prefix` equal `ranges`:
    new events added, moved ones updated, removed ones deleted. Returns how many rows changed."""
    wanted = {prefix + r.key: r for r in ranges}
    existing = {
        row.external_uid: row
        for row in OutOfOffice.objects.select_for_update().filter(
            user=user, source=OutOfOffice.Source.CALENDAR, external_uid__startswith=prefix
        )
    }
    stale = [row.pk for uid, row in existing.items() if uid not in wanted]
    changed = len(stale)
    OutOfOffice.objects.filter(pk__in=stale).delete()
    for uid, r in wanted.items():
        row = existing.get(uid)
        if row is None:
            OutOfOffice.objects.create(
                user=user, starts_at=r.starts_at, ends_at=r.ends_at, title=r.title,
                source=OutOfOffice.Source.CALENDAR, external_uid=uid,
            )  # fmt: skip
            changed += 1
        elif (row.starts_at, row.ends_at, row.title) != (r.starts_at, r.ends_at, r.title):
            row.starts_at, row.ends_at, row.title = r.starts_at, r.ends_at, r.title
            row.save(update_fields=["starts_at", "ends_at", "title"])
            changed += 1
    if changed:
        publish_on_commit(events.availability_changed(user))
    return changed


def request_calendar_sync(user: User, *, acting_user: User) -> None:
    """ "Sync now": the worker fetches the feed at once."""
    from samtale.availability.tasks import sync_calendar

    require_may_edit(acting_user, user)
    feed = calendar_feed_of(user)
    if not feed.url:
        raise ValidationError(_("Connect a calendar feed first."))
    pk = feed.pk
    transaction.on_commit(lambda: sync_calendar.enqueue(pk))


def sync_calendar_feed(feed: CalendarFeed) -> int:
    """Fetch and apply one feed (the worker's job). A failure is recorded on the feed and
    keeps the ranges of the last good sync: a feed that is down must not end an absence."""
    from samtale.availability.calendar import CalendarError, fetch, out_of_office_ranges

    user = feed.user
    if not feed.url:
        return 0
    at = now()
    try:
        fetched = fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        read = (
            None
            if fetched.data is None
            else out_of_office_ranges(fetched.data, zone=zone_of(user), keywords=feed.keyword_list(), at=at)
        )
    except CalendarError as exc:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_error=str(exc)[:2000], last_synced_at=at)
        return 0
    with transaction.atomic():
        changed = 0
        update: dict[str, object] = {"last_error": "", "last_synced_at": at}
        if read is not None:
            changed = _apply_calendar(user, FEED_PREFIX, read.ranges)
            update |= {
                "etag": fetched.etag, "last_modified": fetched.last_modified,
                "last_event_count": len(read.ranges), "last_note": read.cut[:2000],
            }  # fmt: skip
            if changed:
                audit(user.membership.account, None, "availability.calendar_synced", user, changed=changed)
        CalendarFeed.objects.filter(pk=feed.pk).update(**update)
    return changed


def import_calendar_file(user: User, *, acting_user: User, data: bytes) -> CalendarRead:
    """Apply an uploaded .ics file; a new upload replaces what the previous one brought. What the
    bounds left out is kept on the feed's note (and returned)."""
    from samtale.availability.calendar import CalendarError, out_of_office_ranges

    require_may_edit(acting_user, user)
    feed = calendar_feed_of(user)
    try:
        read = out_of_office_ranges(data, zone=zone_of(user), keywords=feed.keyword_list(), at=now())
    except CalendarError as exc:
        raise ValidationError(str(exc)) from exc
    with transaction.atomic():
        changed = _apply_calendar(user, UPLOAD_PREFIX, read.ranges)
        CalendarFeed.objects.filter(pk=feed.pk).update(last_note=read.cut[:2000])
        audit(
            user.membership.account, acting_user, "availability.calendar_imported", user,
            events=len(read.ranges), changed=changed, cut=read.cut[:500],
        )  # fmt: skip
    return read


def regenerate_publish_token(user: User, *, acting_user: User) -> CalendarFeed:
    """A new secret address for the published feed; the old one stops working."""
    require_may_edit(acting_user, user)
    with transaction.atomic():
        feed = calendar_feed_of(user)
        feed.publish_token = new_feed_token()
        feed.save(update_fields=["publish_token"])
        audit(user.membership.account, acting_user, "availability.calendar_token", user)
    return feed
