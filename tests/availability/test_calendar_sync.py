"""Calendar sync (B6): real-world Google and Outlook exports, served to the poller over HTTP on
loopback; the published feed read back by an iCalendar parser."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import icalendar
import pytest
import time_machine
from django.test import Client, override_settings

from samtale.availability import actions
from samtale.availability.models import CalendarFeed, OutOfOffice
from samtale.availability.queries import status_of
from samtale.availability.tasks import sync_calendars
from tests.conftest import World

CALENDARS = Path(__file__).parent / "calendars"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday


@dataclass
class Feed:
    body: bytes = b""
    status: int = 200
    etag: str = '"v1"'
    requests: list[dict[str, str]] = field(default_factory=list)


class FeedServer:
    """An HTTP server on loopback serving calendar files the way Google and Outlook do."""

    def __init__(self) -> None:
        self.feeds: dict[str, Feed] = {}
        feeds = self.feeds

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                feed = feeds.get(self.path)
                if feed is None:
                    self.send_error(404)
                    return
                feed.requests.append(dict(self.headers.items()))
                if feed.status != 200:
                    self.send_error(feed.status)
                    return
                if self.headers.get("If-None-Match") == feed.etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar; charset=UTF-8")
                self.send_header("ETag", feed.etag)
                self.send_header("Content-Length", str(len(feed.body)))
                self.end_headers()
                self.wfile.write(feed.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    server = FeedServer()
    with override_settings(SAMTALE_EGRESS_ALLOWED_NETWORKS=["127.0.0.0/8"]):
        yield server
    server.close()


def _ranges(user: Any) -> list[tuple[str, str, str]]:
    return [
        (r.starts_at.astimezone(UTC).isoformat(), r.ends_at.astimezone(UTC).isoformat(), r.title)
        for r in OutOfOffice.objects.filter(user=user).order_by("starts_at")
    ]


def _connect(world: World, feeds: FeedServer, path: str, file: str) -> CalendarFeed:
    feeds.feeds[path] = Feed(body=(CALENDARS / file).read_bytes())
    actions.set_time_zone(world.agent, acting_user=world.agent, time_zone="Europe/Oslo")
    return actions.configure_calendar(world.agent, acting_user=world.agent, url=feeds.url(path))


@time_machine.travel(NOW, tick=False)
def test_google_export_out_of_office_events_recurring_and_all_day(world: World, feeds: FeedServer) -> None:
    _connect(world, feeds, "/google/basic.ics", "google_export.ics")
    assert sync_calendars.call() == 5
    assert _ranges(world.agent) == [
        ("2026-11-27T12:00:00+00:00", "2026-11-27T15:00:00+00:00", "Out of office"),  # weekly, 13-16 Oslo
        ("2026-12-01T08:00:00+00:00", "2026-12-01T16:00:00+00:00", "Out of office"),
        # 4 December is an EXDATE; 11 December was moved to 14-17
        ("2026-12-11T13:00:00+00:00", "2026-12-11T16:00:00+00:00", "Out of office"),
        ("2026-12-18T12:00:00+00:00", "2026-12-18T15:00:00+00:00", "Out of office"),
        # all-day 21-23 December: midnight to midnight in the user's zone
        ("2026-12-20T23:00:00+00:00", "2026-12-23T23:00:00+00:00", "Ferie 🎄"),
    ]  # the standup, the cancelled and the free (transparent) events are not absences
    assert all(r.source == "calendar" for r in OutOfOffice.objects.all())
    feed = CalendarFeed.objects.get(user=world.agent)
    assert (feed.last_error, feed.last_event_count, feed.etag) == ("", 5, '"v1"')
    # the status reads the synced ranges: away on 1 December at noon, available the next day
    assert status_of(world.agent, datetime(2026, 12, 1, 11, tzinfo=UTC)).reason == "out_of_office"
    assert status_of(world.agent, datetime(2026, 12, 2, 11, tzinfo=UTC)).available


@time_machine.travel(NOW, tick=False)
def test_outlook_export_oof_with_windows_zone_names(world: World, feeds: FeedServer) -> None:
    _connect(world, feeds, "/owa/calendar.ics", "outlook_export.ics")
    sync_calendars.call()
    assert _ranges(world.agent) == [
        ("2026-12-02T07:00:00+00:00", "2026-12-02T17:00:00+00:00", "Konferanse i Bergen"),  # W. Europe
        ("2026-12-15T18:00:00+00:00", "2026-12-15T19:30:00+00:00", "Tannlege (Seattle)"),  # Pacific, no VTIMEZONE
        ("2027-01-03T23:00:00+00:00", "2027-01-06T23:00:00+00:00", "Juleferie"),
        ("2027-01-15T18:00:00+00:00", "2027-01-15T19:30:00+00:00", "Tannlege (Seattle)"),
        ("2027-02-15T18:00:00+00:00", "2027-02-15T19:30:00+00:00", "Tannlege (Seattle)"),
    ]  # "Holiday planning" is BUSY and "Vacation?" TENTATIVE: Outlook's marker decides, not the title


@time_machine.travel(NOW, tick=False)
def test_changes_and_removed_events_follow_the_feed(world: World, feeds: FeedServer) -> None:
    _connect(world, feeds, "/g.ics", "google_export.ics")
    sync_calendars.call()
    manual = actions.add_out_of_office(
        world.agent, acting_user=world.agent, starts_at=datetime(2026, 12, 28, 8, tzinfo=UTC),
        ends_at=datetime(2026, 12, 29, 8, tzinfo=UTC), title="Set by hand",
    )  # fmt: skip
    kept = OutOfOffice.objects.get(user=world.agent, title="Ferie 🎄").pk
    body = (CALENDARS / "google_export.ics").read_bytes()
    # the single event is deleted in Google; the holiday is moved a day later
    start = body.index(b"BEGIN:VEVENT\r\nDTSTART;TZID=Europe/Oslo:20261201T090000")
    body = body[:start] + body[body.index(b"END:VEVENT\r\n", start) + len(b"END:VEVENT\r\n") :]
    body = body.replace(b"DTSTART;VALUE=DATE:20261221", b"DTSTART;VALUE=DATE:20261222")
    feeds.feeds["/g.ics"] = Feed(body=body, etag='"v2"')
    with time_machine.travel(datetime(2026, 11, 23, 8, 20, tzinfo=UTC), tick=False):
        assert sync_calendars.call() == 2  # due again after 15 minutes: one removed, one changed
    titles = [t for _s, _e, t in _ranges(world.agent)]
    assert titles.count("Out of office") == 3 and "Set by hand" in titles
    assert OutOfOffice.objects.get(pk=kept).starts_at == datetime(2026, 12, 21, 23, tzinfo=UTC)  # updated in place
    assert OutOfOffice.objects.filter(pk=manual.pk).exists()  # a manual range is never touched by sync
    # disconnecting removes what the feed brought, and only that
    actions.configure_calendar(world.agent, acting_user=world.agent, url="")
    assert [t for _s, _e, t in _ranges(world.agent)] == ["Set by hand"]


@time_machine.travel(NOW, tick=False)
def test_conditional_get_and_a_failing_feed_keeps_the_last_good_ranges(world: World, feeds: FeedServer) -> None:
    feed = _connect(world, feeds, "/g.ics", "google_export.ics")
    sync_calendars.call()
    with time_machine.travel(datetime(2026, 11, 23, 8, 20, tzinfo=UTC), tick=False):
        assert sync_calendars.call() == 0
    assert feeds.feeds["/g.ics"].requests[-1]["If-None-Match"] == '"v1"'  # answered 304
    assert len(_ranges(world.agent)) == 5
    feeds.feeds["/g.ics"].status = 500
    with time_machine.travel(datetime(2026, 11, 23, 8, 40, tzinfo=UTC), tick=False):
        sync_calendars.call()
    feed.refresh_from_db()
    assert "HTTP 500" in feed.last_error and len(_ranges(world.agent)) == 5
    feeds.feeds["/g.ics"] = Feed(body=b"<html>Sign in to Google</html>", etag='"login"')
    with time_machine.travel(datetime(2026, 11, 23, 9, 0, tzinfo=UTC), tick=False):
        sync_calendars.call()
    feed.refresh_from_db()
    assert "Not an iCalendar file" in feed.last_error and len(_ranges(world.agent)) == 5


def test_a_feed_on_a_private_address_is_refused(world: World) -> None:
    from django.core.exceptions import ValidationError

    for url in ("http://127.0.0.1:6379/x.ics", "http://10.1.2.3/cal.ics", "file:///etc/passwd", "ftp://x/y.ics"):
        with pytest.raises(ValidationError):
            actions.configure_calendar(world.agent, acting_user=world.agent, url=url)
    assert not CalendarFeed.objects.filter(user=world.agent).exclude(url="").exists()


@time_machine.travel(NOW, tick=False)
def test_upload_through_the_user_record_and_the_api(world: World, client_for: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    actions.set_time_zone(world.agent, acting_user=world.agent, time_zone="Europe/Oslo")
    client: Client = client_for(world.agent)
    base = f"/settings/users/{world.agent.pk}/availability"
    upload = SimpleUploadedFile("outlook.ics", (CALENDARS / "outlook_export.ics").read_bytes(), "text/calendar")
    assert client.post(f"{base}/calendar-upload/", {"file": upload}).status_code == 302
    assert len(_ranges(world.agent)) == 5
    page = client.get(base + "/").content.decode()
    assert "Konferanse i Bergen" in page and "Calendar sync" in page
    bad = SimpleUploadedFile("x.ics", b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:garbage", "text/calendar")
    r = client.post(f"{base}/calendar-upload/", {"file": bad})
    assert r.status_code == 400 and "iCalendar" in r.content.decode()
    assert len(_ranges(world.agent)) == 5  # a broken file changes nothing
    # the API: a new import replaces the previous import's ranges
    token = world.token(world.agent)
    r = Client().post(
        f"/api/v1/users/{world.agent.pk}/calendar/import",
        {"ics": (CALENDARS / "google_export.ics").read_text()},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200 and r.json() == {"events": 5, "note": ""}
    assert "Konferanse i Bergen" not in [t for _s, _e, t in _ranges(world.agent)]


def test_only_the_user_or_a_super_admin_configures_a_calendar(world: World, client_for: Any) -> None:
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        actions.configure_calendar(world.agent, acting_user=world.agent2, url="https://calendar.example/x.ics")
    carol: Client = client_for(world.agent2)
    base = f"/settings/users/{world.agent.pk}/availability"
    assert carol.post(f"{base}/calendar/", {"url": "https://example.org/x.ics"}).status_code == 403
    assert "calendar-form" not in carol.get(base + "/").content.decode()
    headers = {"Authorization": f"Bearer {world.token(world.agent2)}"}
    assert Client().get(f"/api/v1/users/{world.agent.pk}/calendar", headers=headers).status_code == 403
    outsider = {"Authorization": f"Bearer {world.token(world.outsider)}"}
    assert Client().get(f"/api/v1/users/{world.agent.pk}/calendar", headers=outsider).status_code == 404
    admin = {"Authorization": f"Bearer {world.token(world.admin)}"}
    with override_settings(SAMTALE_EGRESS_ALLOWED_NETWORKS=["127.0.0.0/8"]):
        r = Client().put(
            f"/api/v1/users/{world.agent.pk}/calendar",
            {"url": "webcal://127.0.0.1:9/bob.ics", "keywords": "Borte"},
            content_type="application/json",
            headers=admin,
        )
    assert r.status_code == 200, r.content
    assert (r.json()["url"], r.json()["keywords"]) == ("https://127.0.0.1:9/bob.ics", "Borte")
    assert r.json()["published_url"].startswith("http://testserver/calendar/")


def test_the_published_feed_lists_out_of_office_at_a_secret_address(world: World, client_for: Any) -> None:
    with time_machine.travel(NOW, tick=False):
        actions.add_out_of_office(
            world.agent, acting_user=world.agent, starts_at=datetime(2026, 12, 24, 7, tzinfo=UTC),
            ends_at=datetime(2026, 12, 28, 7, tzinfo=UTC), title="Jul",
        )  # fmt: skip
        actions.add_out_of_office(
            world.agent, acting_user=world.agent, starts_at=datetime(2026, 1, 2, 7, tzinfo=UTC),
            ends_at=datetime(2026, 1, 3, 7, tzinfo=UTC), title="Long ago",
        )  # fmt: skip
        client: Client = client_for(world.agent)
        base = f"/settings/users/{world.agent.pk}/availability"
        client.post(f"{base}/calendar-token/")
        token = CalendarFeed.objects.get(user=world.agent).publish_token
        assert token in client.get(base + "/").content.decode()
        r = Client().get(f"/calendar/{token}.ics")  # no login: the address is the secret
        assert r.status_code == 200 and r["Content-Type"].startswith("text/calendar")
        calendar = icalendar.Calendar.from_ical(r.content)
        events = list(calendar.walk("VEVENT"))
        assert [(e["SUMMARY"], e["DTSTART"].dt, e["X-MICROSOFT-CDO-BUSYSTATUS"]) for e in events] == [
            ("Jul", datetime(2026, 12, 24, 7, tzinfo=UTC), "OOF")
        ]
        assert Client().get("/calendar/not-the-token.ics").status_code == 404
        # a new address (at the same moment: the session was made then, and lasts two weeks from it)
        assert client.post(f"/settings/users/{world.agent.pk}/availability/calendar-token/").status_code in (200, 302)
        assert CalendarFeed.objects.get(user=world.agent).publish_token != token
        assert Client().get(f"/calendar/{token}.ics").status_code == 404


def test_sync_now_and_disconnect_buttons(
    world: World, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django_tasks_db.models import DBTaskResult

    from samtale.availability.tasks import sync_calendar

    client: Client = client_for(world.agent)
    base = f"/settings/users/{world.agent.pk}/availability"
    assert client.post(f"{base}/calendar-sync/").status_code == 400  # nothing connected yet
    with (
        override_settings(SAMTALE_EGRESS_ALLOWED_NETWORKS=["127.0.0.0/8"]),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert (
            client.post(f"{base}/calendar/", {"url": "http://127.0.0.1:9/x.ics", "keywords": "Borte"}).status_code
            == 302
        )
    before = DBTaskResult.objects.filter(task_path=sync_calendar.module_path).count()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"{base}/calendar-sync/").status_code == 302
    assert DBTaskResult.objects.filter(task_path=sync_calendar.module_path).count() == before + 1
    OutOfOffice.objects.create(user=world.agent, starts_at=NOW, ends_at=NOW.replace(day=24), source="calendar",
                               external_uid="feed:x@1", title="From feed")  # fmt: skip
    assert client.post(f"{base}/calendar/", {"url": ""}).status_code == 302  # the Disconnect button
    assert CalendarFeed.objects.get(user=world.agent).url == ""
    assert not OutOfOffice.objects.filter(user=world.agent).exists()
