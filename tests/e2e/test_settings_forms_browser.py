"""Settings forms show an error next to its field and keep what was typed (issue 11, item 5)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Server, login

pytestmark = [pytest.mark.e2e, pytest.mark.screen]


def field_error(page: Any, selector: str) -> Any:
    """The message the field points at with aria-describedby."""
    field = page.locator(selector)
    expect(field).to_have_attribute("aria-invalid", "true")
    return page.locator("#" + field.get_attribute("aria-describedby"))


def test_working_hours_and_out_of_office_errors_are_inline(browser: Any, server: Server) -> None:
    page = login(browser, server, "carol@acme.test")
    page.goto("/settings/availability/")
    page.fill("#add-hours input[name=start]", "10:15")
    page.fill("#add-hours input[name=end]", "10:15")
    page.click("#add-hours button[type=submit]")
    expect(field_error(page, "#add-hours input[name=end]")).to_have_text("A range needs a start and a different end.")
    assert page.url.endswith("/settings/availability/")  # still the settings page, not a bare error page
    expect(page.locator("#add-hours input[name=start]")).to_have_value("10:15")  # what was typed stays
    expect(page.locator("#add-hours input[name=end]")).to_be_focused()

    page.fill("#add-ooo input[name=start_date]", "2031-05-10")
    page.fill("#add-ooo input[name=end_date]", "2031-05-01")
    page.fill("#add-ooo input[name=title]", "Holiday in Bergen")
    page.click("#add-ooo button[type=submit]")
    expect(field_error(page, "#add-ooo input[name=end_date]")).to_have_text("The end must be after the start.")
    expect(page.locator("#add-ooo input[name=title]")).to_have_value("Holiday in Bergen")
    # corrected, it is saved and the page shows it; the earlier error is gone
    page.fill("#add-ooo input[name=end_date]", "2031-05-20")
    page.click("#add-ooo button[type=submit]")
    expect(page.locator("#ooo-table")).to_contain_text("Holiday in Bergen")
    expect(page.locator(".field-error")).to_have_count(0)
    page.locator("#ooo-table tr", has_text="Holiday in Bergen").get_by_role("button", name="Remove").click()
    expect(page.locator("#ooo-table")).not_to_contain_text("Holiday in Bergen")

    page.fill("#calendar-url", "ftp://calendar.example/basic.ics")
    page.click("#calendar-form button[type=submit]")
    expect(field_error(page, "#calendar-url")).not_to_be_empty()
    expect(page.locator("#calendar-url")).to_have_value("ftp://calendar.example/basic.ics")


def test_a_duplicate_invite_is_shown_at_the_email_field(browser: Any, server: Server) -> None:
    page = login(browser, server, "alice@acme.test")
    page.goto("/settings/")
    page.fill("#invite-form input[name=name]", "Bob Again")
    page.fill("#invite-form input[name=email]", "bob@acme.test")
    page.click("#invite-form button[type=submit]")
    expect(field_error(page, "#invite-form input[name=email]")).to_have_text("A user with that email already exists.")
    expect(page.locator("#invite-form input[name=name]")).to_have_value("Bob Again")


def test_errors_are_norwegian_when_the_user_is(browser: Any, server: Server) -> None:
    page = login(browser, server, "dave@acme.test")
    page.goto("/settings/availability/")
    page.select_option(".lang-form select", "nb")
    expect(page.locator("html")).to_have_attribute("lang", "nb")
    page.fill("#add-hours input[name=start]", "08:00")
    page.fill("#add-hours input[name=end]", "08:00")
    page.click("#add-hours button[type=submit]")
    expect(field_error(page, "#add-hours input[name=end]")).to_have_text("Et tidsrom må ha en start og en annen slutt.")
    page.select_option(".lang-form select", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
