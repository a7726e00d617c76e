"""Calendar sync in a real browser: connect a feed (fetched by the server's worker over loopback
HTTP), import a file, and subscribe to the published out-of-office feed."""

from __future__ import annotations

import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest
from playwright.sync_api import expect

from tests.availability.test_calendar_sync import Feed, FeedServer
from tests.e2e.conftest import Server, login

pytestmark = [pytest.mark.e2e, pytest.mark.screen]


def _outlook_calendar(first: date, summary: str) -> bytes:
    """An Outlook-style calendar: an all-day OOF event starting `first`, two days long."""
    return (
        "BEGIN:VCALENDAR\r\nPRODID:Microsoft Exchange Server 2010\r\nVERSION:2.0\r\n"
        f"BEGIN:VEVENT\r\nUID:e2e-{summary}\r\nSUMMARY:{summary}\r\n"
        f"DTSTART;VALUE=DATE:{first:%Y%m%d}\r\nDTEND;VALUE=DATE:{first + timedelta(days=2):%Y%m%d}\r\n"
        "DTSTAMP:20261120T093012Z\r\nX-MICROSOFT-CDO-BUSYSTATUS:OOF\r\nX-MICROSOFT-CDO-ALLDAYEVENT:TRUE\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def test_connect_a_feed_import_a_file_and_publish(browser: Any, server: Server, tmp_path: Path) -> None:
    feeds = FeedServer()
    try:
        soon = datetime.now(UTC).date() + timedelta(days=3)
        feeds.feeds["/outlook.ics"] = Feed(body=_outlook_calendar(soon, "Seminar"))
        page = login(browser, server, "carol@acme.test")
        page.goto("/settings/availability/")
        page.fill("#calendar-url", feeds.url("/outlook.ics"))
        page.click("#calendar-form button[type=submit]")
        expect(page.locator("#calendar-sync-now")).to_be_visible()
        for _ in range(30):  # the worker fetches the feed right after it is connected
            if "Seminar" in page.locator("#ooo-table").inner_text():
                break
            page.wait_for_timeout(500)
            page.reload()
        expect(page.locator("#ooo-table")).to_contain_text("Seminar")
        expect(page.locator("#ooo-table")).to_contain_text("Calendar")
        expect(page.locator("#calendar-state")).to_contain_text("1 out-of-office event")
        assert feeds.feeds["/outlook.ics"].requests, "the worker never fetched the feed"

        upload = tmp_path / "export.ics"
        upload.write_bytes(_outlook_calendar(soon + timedelta(days=10), "Kurs"))
        page.set_input_files("#calendar-upload input[type=file]", str(upload))
        page.click("#calendar-upload button[type=submit]")
        expect(page.locator("#ooo-table")).to_contain_text("Kurs")

        with page.expect_navigation():  # the form is sent in the background, then the page reloads
            page.click("#calendar-token")
        address = page.locator("#published-feed").input_value()
        assert "/calendar/" in address
        page.screenshot(path=str(Path(__file__).parents[2] / "test-results" / "calendar-sync.png"), full_page=True)
        with urllib.request.urlopen(address, timeout=10) as response:
            published = icalendar.Calendar.from_ical(response.read())
        assert sorted(str(e["SUMMARY"]) for e in published.walk("VEVENT")) == ["Kurs", "Seminar"]
    finally:
        feeds.close()
