"""The Contacts screen and a contact's record in a real browser: find a contact as people type,
edit properties (an error by its field, then saved, with its history), the timeline's link into
the inbox, and pictures of the screens to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Server, login

pytestmark = [pytest.mark.e2e, pytest.mark.screen]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_find_a_contact_edit_it_and_open_its_conversation(browser: Any, server: Server) -> None:
    page = login(browser, server, "alice@acme.test")
    page.click("#nav-contacts")
    expect(page.locator("h1")).to_have_text("Contacts")
    page.fill("#contact-q", "custmer permal")  # a typo and a prefix
    page.press("#contact-q", "Enter")
    rows = page.locator("#contacts-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Customer Permalink")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "contacts-search.png"), full_page=True)
    rows.first.get_by_role("link", name="Customer Permalink").click()
    expect(page.locator("#contact-name")).to_have_text("Customer Permalink")
    expect(page.locator("#timeline")).to_contain_text("E2E permalink")

    page.fill("#prop-phone", "ring meg")  # (the browser checks an email's form itself; a number is ours)
    page.fill("#prop-job_title", "Innkjøpssjef")
    page.click("#save-contact")
    expect(page.locator("#contact-form .field-error")).to_contain_text("ring meg is not a phone number")
    expect(page.locator("#prop-phone")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#prop-job_title")).to_have_value("Innkjøpssjef")  # what was typed stays
    page.fill("#prop-phone", "+47 22 33 44 55")
    page.select_option("#prop-lifecycle_stage", "customer")
    page.select_option("#prop-plan", "pro")
    page.click("#save-contact")
    expect(page.locator("#property-history")).to_contain_text("Alice Admin changed Job title")
    expect(page.locator("#property-history")).to_contain_text("Innkjøpssjef")
    expect(page.locator("#prop-plan")).to_have_value("pro")
    page.screenshot(path=str(SHOTS / "contact-record.png"), full_page=True)

    page.locator("#timeline").get_by_role("link", name="E2E permalink").click()
    page.wait_for_url("**/inbox/**/c/**")
    expect(page.locator("#thread")).to_contain_text("E2E permalink")
