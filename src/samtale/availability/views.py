"""The header's "You are available / away" menu (B3, B4, C13) and the admin-set-away notice (B8)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from samtale.accounts.access import membership_of
from samtale.accounts.http import acting, action_view, form_error, member_required
from samtale.accounts.models import Seat
from samtale.availability import actions
from samtale.availability.actions import TEMPORARY_PRESETS
from samtale.availability.models import DEFAULT_OOO_KEYWORDS, Profile
from samtale.availability.queries import status_of
from samtale.availability.status import Reason
from samtale.core.bounds import parse_id
from samtale.core.proxies import absolute_url
from samtale.core.snapshot import read_snapshot

REASON_LABELS = {
    Reason.OUT_OF_OFFICE: _("Out of office"),
    Reason.TEMPORARILY_AWAY: _("Temporarily away"),
    Reason.SET_AWAY: _("Set as away"),
    Reason.SET_AWAY_BY_ADMIN: _("Set away by an admin"),
    Reason.SET_AVAILABLE: _("Set available"),
    Reason.WORKING_HOURS: _("In working hours"),
    Reason.OUTSIDE_WORKING_HOURS: _("Outside working hours"),
    Reason.NO_SCHEDULE: _("No working hours set"),
}


class StatusForm(forms.Form):
    action = forms.ChoiceField(choices=[("available", "available"), ("away", "away"), ("temporary", "temporary")])
    preset = forms.ChoiceField(choices=[(k, k) for k in [*TEMPORARY_PRESETS, "today", "custom"]], required=False)
    until = forms.DateTimeField(required=False, input_formats=["%Y-%m-%dT%H:%M"])


def _context(request: HttpRequest) -> dict[str, object]:
    user = acting(request)
    status = status_of(user)
    profile = Profile.objects.filter(user=user).first()
    return {
        "status": status,
        "admin_set_away": status.reason == Reason.SET_AWAY_BY_ADMIN,
        "can_go_temporary": membership_of(user).seat == Seat.SERVICE,
        "presets": [(f"{n}m", _("%(n)s min") % {"n": n}) for n in (15, 30)]
        + [(f"{n}h", _("%(n)s h") % {"n": n}) for n in (1, 2, 4)],
        "user_zone": profile.time_zone if profile else "UTC",
    }


@member_required
def status_menu(request: HttpRequest) -> HttpResponse:
    return render(request, "availability/status_menu.html", _context(request))


@action_view
def change_status(request: HttpRequest) -> HttpResponse:
    user = acting(request)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return form_error(form)
    action = form.cleaned_data["action"]
    if action == "available":
        actions.set_available(user, acting_user=user)
    elif action == "away":
        actions.set_away(user, acting_user=user)
    else:
        preset = form.cleaned_data["preset"] or ""
        until: datetime | None = form.cleaned_data["until"]
        if preset == "custom" and until is not None and timezone.is_naive(until):
            profile = Profile.objects.filter(user=user).first()
            from zoneinfo import ZoneInfo

            until = until.replace(tzinfo=ZoneInfo(profile.time_zone if profile else "UTC"))
        actions.set_temporary_away(user, acting_user=user, preset="" if preset == "custom" else preset, until=until)
    return render(request, "availability/status_menu.html", _context(request))


WEEKDAYS = [
    (0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")), (4, _("Friday")),
    (5, _("Saturday")), (6, _("Sunday")),
]  # fmt: skip


class HoursForm(forms.Form):
    weekday = forms.TypedChoiceField(choices=WEEKDAYS, coerce=int)
    start = forms.TimeField()
    end = forms.TimeField()


class ZoneForm(forms.Form):
    time_zone = forms.CharField(max_length=64)


class OutOfOfficeForm(forms.Form):
    start_date = forms.DateField()
    start_time = forms.TimeField()
    end_date = forms.DateField()
    end_time = forms.TimeField()
    title = forms.CharField(max_length=300, required=False)


class CalendarForm(forms.Form):
    url = forms.CharField(max_length=2000, required=False)
    keywords = forms.CharField(max_length=500, required=False)


class CalendarUploadForm(forms.Form):
    file = forms.FileField()

    def clean_file(self) -> object:
        from django.conf import settings

        upload = self.cleaned_data["file"]
        if upload.size > settings.SAMTALE_CALENDAR_MAX_BYTES:
            raise forms.ValidationError(_("The file is too large."))
        return upload


@require_GET
def published_calendar(request: HttpRequest, token: str) -> HttpResponse:
    """The user's out-of-office ranges as an iCalendar feed at a secret address (no login)."""
    from django.conf import settings
    from django.http import Http404

    from samtale.availability.calendar import publish
    from samtale.availability.models import CalendarFeed, OutOfOffice
    from samtale.core.clock import now
    from samtale.core.ratelimit import hit

    if not hit(f"feed:{request.META.get('REMOTE_ADDR', '')}", settings.SAMTALE_FEED_RATE):
        return HttpResponse("Too many requests", status=429, content_type="text/plain")
    feed = CalendarFeed.objects.select_related("user").filter(publish_token=token).first()
    if feed is None or not feed.user.is_active:
        raise Http404("No such calendar")
    at = now()
    rows = OutOfOffice.objects.filter(user=feed.user, ends_at__gt=at - timedelta(days=30)).values_list(
        "pk", "starts_at", "ends_at", "title"
    )
    body = publish(rows, name=feed.user.name, at=at)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response


def _record_context(request: HttpRequest, target_id: int) -> dict[str, object]:
    from zoneinfo import ZoneInfo

    from samtale.accounts.access import access_user
    from samtale.availability.models import CalendarFeed, OutOfOffice, WorkingHours
    from samtale.availability.status import working_periods
    from samtale.core.clock import now

    viewer = acting(request)
    target = access_user(viewer, target_id)
    viewer_membership = membership_of(viewer)
    profile = Profile.objects.filter(user=target).first()
    zone_name = profile.time_zone if profile else "UTC"
    viewer_profile = Profile.objects.filter(user=viewer).first()
    viewer_zone = viewer_profile.time_zone if viewer_profile else zone_name
    from samtale.availability.queries import facts_for

    at = now()
    facts = facts_for(target, around=at)
    zone = ZoneInfo(zone_name)
    local_today = at.astimezone(zone).date()
    day_start = datetime.combine(local_today, datetime.min.time(), tzinfo=zone)
    today = [
        (s, e)
        for s, e in working_periods(facts, day_start, day_start + timedelta(days=1))
        if s < day_start + timedelta(days=1) and e > day_start
    ]
    can_edit = viewer.pk == target.pk or viewer_membership.is_super_admin
    calendar = CalendarFeed.objects.filter(user=target).first() if can_edit else None
    return {
        "target": target,
        "status": status_of(target, at),
        "reason_label": REASON_LABELS[status_of(target, at).reason],
        "can_edit": can_edit,
        "can_change_status": viewer.pk == target.pk or viewer_membership.has_permission("availability_management"),
        "zone_name": zone_name,
        "viewer_zone": viewer_zone,
        "today": today,
        "hours": WorkingHours.objects.filter(user=target),
        "calendar": calendar,
        "feed_url": absolute_url(request, reverse("published_calendar", args=[calendar.publish_token]))
        if calendar
        else "",
        "default_keywords": DEFAULT_OOO_KEYWORDS,
        "out_of_office": OutOfOffice.objects.filter(user=target, ends_at__gt=at),
        "weekdays": WEEKDAYS,
        "zones": actions.time_zones(),
        "membership": viewer_membership,
        "section": "availability",
    }


@member_required
def user_record(request: HttpRequest, user_id: int) -> HttpResponse:
    # One snapshot for the whole page: the calendar's state and its rows from the same moment.
    with read_snapshot():
        return render(request, "availability/user_record.html", _record_context(request, user_id))


@member_required
def my_record(request: HttpRequest) -> HttpResponse:
    return user_record(request, acting(request).pk)


@action_view
def record_action(request: HttpRequest, user_id: int, action: str) -> HttpResponse:

    from django.http import Http404
    from django.shortcuts import redirect

    from samtale.accounts.access import access_user
    from samtale.availability.models import OutOfOffice, WorkingHours

    actor = acting(request)
    target = access_user(actor, user_id)
    if action == "zone":
        zone_form = ZoneForm(request.POST)
        if not zone_form.is_valid():
            return form_error(zone_form)
        actions.set_time_zone(target, acting_user=actor, time_zone=zone_form.cleaned_data["time_zone"])
    elif action == "hours":
        hours_form = HoursForm(request.POST)
        if not hours_form.is_valid():
            return form_error(hours_form)
        d = hours_form.cleaned_data
        actions.add_working_hours(target, acting_user=actor, weekday=d["weekday"], start=d["start"], end=d["end"])
    elif action == "hours-remove":
        row = WorkingHours.objects.filter(user=target, pk=parse_id(request.POST.get("id")) or 0).first()
        if row is None:
            raise Http404("No such range")
        actions.remove_working_hours(row, acting_user=actor)
    elif action == "ooo":
        ooo_form = OutOfOfficeForm(request.POST)
        if not ooo_form.is_valid():
            return form_error(ooo_form)
        d = ooo_form.cleaned_data
        zone = actions.zone_of(target)
        actions.add_out_of_office(
            target, acting_user=actor, title=d["title"],
            starts_at=datetime.combine(d["start_date"], d["start_time"], tzinfo=zone),
            ends_at=datetime.combine(d["end_date"], d["end_time"], tzinfo=zone),
        )  # fmt: skip
    elif action == "ooo-remove":
        ooo = OutOfOffice.objects.filter(user=target, pk=parse_id(request.POST.get("id")) or 0).first()
        if ooo is None:
            raise Http404("No such range")
        actions.remove_out_of_office(ooo, acting_user=actor)
    elif action == "calendar":
        calendar_form = CalendarForm(request.POST)
        if not calendar_form.is_valid():
            return form_error(calendar_form)
        d = calendar_form.cleaned_data
        actions.configure_calendar(target, acting_user=actor, url=d["url"], keywords=d["keywords"])
    elif action == "calendar-sync":
        actions.request_calendar_sync(target, acting_user=actor)
    elif action == "calendar-upload":
        upload_form = CalendarUploadForm(request.POST, request.FILES)
        if not upload_form.is_valid():
            return form_error(upload_form)
        actions.import_calendar_file(
            target, acting_user=actor, data=upload_form.cleaned_data["file"].read()
        )  # its note is shown on the page
    elif action == "calendar-token":
        actions.regenerate_publish_token(target, acting_user=actor)
    elif action in ("available", "away"):
        (actions.set_available if action == "available" else actions.set_away)(target, acting_user=actor)
    else:
        raise Http404("No such action")
    return redirect("user_record", user_id=target.pk)


def _management_context(request: HttpRequest) -> dict[str, object]:
    from django.db.models import Q

    from samtale.accounts.models import Team, User
    from samtale.availability.models import ManagementFilters
    from samtale.availability.roster import statuses
    from samtale.core.clock import now
    from samtale.inbox.models import Inbox

    viewer = acting(request)
    membership = membership_of(viewer)
    saved = ManagementFilters.objects.filter(account_id=membership.account_id).first()
    filters = saved.filters if saved else {}
    inboxes = list(Inbox.objects.filter(account_id=membership.account_id).order_by("name"))
    teams = list(Team.objects.filter(account_id=membership.account_id).order_by("name"))
    users = (
        User.objects.filter(membership__account_id=membership.account_id, membership__removed_at=None,
                            membership__deactivated_at=None)
        .filter(Q(inboxes__isnull=False) | Q(membership__role="super_admin"))
        .select_related("membership")
        .distinct()
        .order_by("name")
    )  # fmt: skip
    if (team_id := parse_id(filters.get("team"))) is not None:
        users = users.filter(teams__id=team_id)
    if (inbox_id := parse_id(filters.get("inbox"))) is not None:
        users = users.filter(inboxes__id=inbox_id)
    if filters.get("seat") in {"service", "sales", "none"}:
        users = users.filter(membership__seat="" if filters["seat"] == "none" else filters["seat"])
    people = list(users)
    at = now()
    current = statuses([p.pk for p in people], at)
    ids = [p.pk for p in people]
    zones = dict(Profile.objects.filter(user_id__in=ids).values_list("user_id", "time_zone"))
    # names only, two flat queries (prefetching 500 users' relations cost ~120 ms)
    inbox_names: dict[int, list[str]] = {}
    for uid, name in (
        Inbox.members.through.objects.filter(user_id__in=ids)
        .order_by("inbox__name")
        .values_list("user_id", "inbox__name")
    ):
        inbox_names.setdefault(uid, []).append(name)
    team_names: dict[int, list[str]] = {}
    for uid, name in (
        Team.members.through.objects.filter(user_id__in=ids).order_by("team__name").values_list("user_id", "team__name")
    ):
        team_names.setdefault(uid, []).append(name)
    rows = []
    # 500 people: links, times and chips are built here once rather than by template tags per row
    reasons = {key: str(label) for key, label in REASON_LABELS.items()}  # lazy labels resolved once
    record_url = reverse("user_record", args=[0]).replace("/0/", "/{}/")
    set_url = reverse("availability_set", args=[0]).replace("/0/", "/{}/")
    for person in people:
        status = current[person.pk]
        if filters.get("status") == "available" and not status.available:
            continue
        if filters.get("status") == "away" and status.available:
            continue
        zone = zones.get(person.pk, "UTC")
        change = date_format(status.next_change.astimezone(ZoneInfo(zone)), "D H:i") if status.next_change else "—"
        rows.append({
            "user": person, "status": status, "reason": reasons[status.reason], "zone": zone,
            "record_url": record_url.format(person.pk), "set_url": set_url.format(person.pk), "next": change,
            "inboxes": _chips(inbox_names.get(person.pk, [])), "teams": _chips(team_names.get(person.pk, [])),
        })  # fmt: skip
    can_manage = membership.has_permission("availability_management")
    table = _table_rows(rows, can_manage=can_manage, me=viewer.pk)
    changes = [r["status"].next_change for r in rows if r["status"].next_change]  # type: ignore[attr-defined]
    return {
        "rows": rows,
        "table_rows": table,
        "next_change": min(changes) if changes else None,
        "filters": filters,
        "inboxes": inboxes,
        "teams": teams,
        "can_manage": can_manage,
        "membership": membership,
        "section": "availability_management",
        "me": viewer,
    }


def _chips(names: Iterable[str]) -> str:
    from django.utils.html import format_html_join

    return format_html_join("", '<span class="chip">{}</span>', ((n,) for n in names))


def _table_rows(rows: list[dict[str, Any]], *, can_manage: bool, me: int) -> str:
    """The table body for up to hundreds of people, built with format_html: the template engine
    spent ~100 ms per page on it."""
    from django.utils.html import format_html
    from django.utils.safestring import mark_safe

    available, away, status_of = str(_("Available")), str(_("Away")), str(_("Status of"))
    out = []
    for row in rows:
        user, on = row["user"], row["status"].available
        if can_manage or user.pk == me:
            control = format_html(
                '<select name="status" class="status-select" aria-label="{} {}" hx-post="{}" '
                'hx-target="#availability-table" hx-swap="outerHTML">'
                '<option value="available"{}>● {}</option><option value="away"{}>○ {}</option></select>',
                status_of, user.name, row["set_url"], " selected" if on else "", available,
                "" if on else " selected", away,
            )  # fmt: skip
        else:
            control = format_html(
                '<span class="status-readonly"><span class="dot {}"></span>{}</span>',
                "dot-on" if on else "dot-off", available if on else away,
            )  # fmt: skip
        out.append(format_html(
            '<tr id="avail-{}"><td><a href="{}">{}</a><br><span class="muted small">{}</span></td><td>{}</td>'
            '<td class="muted">{}</td><td class="muted">{}</td><td>{}</td><td>{}</td></tr>',
            user.pk, row["record_url"], user.name, row["zone"], control, row["reason"], row["next"],
            row["inboxes"], row["teams"],
        ))  # fmt: skip
    return mark_safe("".join(out))  # noqa: S308 -- every piece went through format_html


@member_required
def management_page(request: HttpRequest) -> HttpResponse:
    template = (
        "availability/management.html#table" if request.GET.get("part") == "table" else "availability/management.html"
    )
    return render(request, template, _management_context(request))


@action_view
def management_filters(request: HttpRequest) -> HttpResponse:
    from django.shortcuts import redirect

    user = acting(request)
    wanted = (
        {} if request.POST.get("clear") else {k: request.POST.get(k, "") for k in ("status", "team", "inbox", "seat")}
    )
    actions.save_management_filters(membership_of(user).account_id, acting_user=user, filters=wanted)
    return redirect("availability_management")


@action_view
def management_set_status(request: HttpRequest, user_id: int) -> HttpResponse:
    from samtale.accounts.access import access_user

    actor = acting(request)
    target = access_user(actor, user_id)
    if request.POST.get("status") == "available":
        actions.set_available(target, acting_user=actor)
    elif request.POST.get("status") == "away":
        actions.set_away(target, acting_user=actor)
    else:
        return HttpResponse("status must be available or away", status=400)
    return render(request, "availability/management.html#table", _management_context(request))
