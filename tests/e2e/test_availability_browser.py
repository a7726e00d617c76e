"""The inbox header's availability menu and the admin-set-away notice, in real browsers."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Server, login

pytestmark = [pytest.mark.e2e, pytest.mark.screen]


def test_go_temporarily_away_and_back(browser: Any, server: Server) -> None:
    page = login(browser, server, "bob@acme.test")
    expect(page.locator(".status-summary")).to_contain_text("You are available")
    page.click(".status-summary")
    page.click("button[data-preset='15m']")
    expect(page.locator(".status-summary")).to_contain_text("You are away")
    page.click(".status-summary")
    expect(page.locator(".status-why")).to_contain_text("Away until")
    page.click("#set-available")
    expect(page.locator(".status-summary")).to_contain_text("You are available")


def test_an_admin_sets_a_user_away_and_the_user_sets_themself_available(browser: Any, server: Server) -> None:
    carol = login(browser, server, "carol@acme.test")
    expect(carol.locator(".status-summary")).to_contain_text("You are available")
    server.api(
        "POST",
        f"/api/v1/users/{server.seed['users']['agent2']}/status",
        server.seed["tokens"]["admin"],
        {"action": "away"},
    )
    notice = carol.locator("#admin-away-notice")
    expect(notice).to_contain_text("An admin set your status to Away.", timeout=3000)  # live, no reload
    notice.get_by_role("button", name="Set myself available").click()
    expect(carol.locator(".status-summary")).to_contain_text("You are available")
    expect(carol.locator("#admin-away-notice")).to_have_count(0)


def test_a_user_without_a_service_seat_cannot_go_temporarily_away(browser: Any, server: Server) -> None:
    page = login(browser, server, "dave@acme.test")
    page.click(".status-summary")
    expect(page.locator(".temp-away")).to_contain_text("Needs a service seat.")
    expect(page.locator("button[data-preset]")).to_have_count(0)


def test_temporarily_away_comes_back_by_itself_without_reload(browser: Any, server: Server) -> None:
    from datetime import UTC, datetime, timedelta

    page = login(browser, server, "bob@acme.test")
    until = (datetime.now(UTC) + timedelta(seconds=4)).isoformat()
    server.api("POST", f"/api/v1/users/{server.seed['users']['agent']}/status", server.seed["tokens"]["agent"],
               {"action": "temporary", "until": until})  # fmt: skip
    expect(page.locator(".status-summary")).to_contain_text("You are away", timeout=3000)
    expect(page.locator(".status-summary")).to_contain_text("You are available", timeout=8000)


def test_set_working_hours_in_the_browser(browser: Any, server: Server) -> None:
    page = login(browser, server, "carol@acme.test")
    page.goto("/settings/availability/")
    page.select_option("#time-zone", "Asia/Kolkata")
    page.locator("#time-zone").evaluate("s => s.form.submit()")
    page.wait_for_load_state("load")
    expect(page.locator("#today-hours")).to_contain_text("Asia/Kolkata")
    page.select_option("#add-hours select[name=weekday]", "2")
    page.fill("#add-hours input[name=start]", "22:00")
    page.fill("#add-hours input[name=end]", "06:00")
    page.click("#add-hours button[type=submit]")
    expect(page.locator("#hours-table")).to_contain_text("Wednesday")
    expect(page.locator("#hours-table")).to_contain_text("22:00–06:00")
    expect(page.locator("#hours-table")).to_contain_text("next day")
    # remove it again: Carol must stay available for the other tests on this server
    page.locator("#hours-table tr", has_text="22:00–06:00").get_by_role("button", name="Remove").click()
    expect(page.locator("#hours-table")).to_contain_text("No working hours")


def test_without_the_permission_others_statuses_are_read_only(browser: Any, server: Server) -> None:
    page = login(browser, server, "dave@acme.test")
    page.goto("/settings/availability-management/")
    expect(page.locator(f"#avail-{server.seed['users']['agent']} .status-readonly")).to_be_visible()
    expect(page.locator(f"#avail-{server.seed['users']['agent']} select")).to_have_count(0)
    expect(page.locator(f"#avail-{server.seed['users']['noperm']} select.status-select")).to_have_count(1)  # his own


def test_the_owner_dropdown_follows_a_teammates_status_live(browser: Any, server: Server) -> None:
    bob = login(browser, server, "bob@acme.test")
    bob.goto(f"/inbox/{server.seed['inbox']}/v/all_open/c/{server.seed['conversations']['fanout']}/")
    option = bob.locator("#owner-select option", has_text="Dave Plain")
    expect(option).to_have_text("● Dave Plain")
    # the page's socket is connected before the change (an event before it is not this test's subject)
    bob.locator("body[data-live='1']").wait_for(state="attached")
    dave = f"/api/v1/users/{server.seed['users']['noperm']}/status"
    server.api("POST", dave, server.seed["tokens"]["noperm"], {"action": "away"})
    expect(option).to_have_text("○ Dave Plain (away)", timeout=3000)  # live, no reload
    expect(option).to_have_attribute("data-available", "0")
    server.api("POST", dave, server.seed["tokens"]["noperm"], {"action": "available"})
    expect(option).to_have_text("● Dave Plain", timeout=3000)
