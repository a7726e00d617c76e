"""Email in a real browser: mail sent over SMTP to the running server appears live; hostile HTML
runs nothing when opened; trimmed content and remote images only on request; forward. The mail
goes to the second inbox: the first one's list shows the inbox tests' own conversations."""

from __future__ import annotations

import re
import smtplib
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.channels.email import corpus
from tests.e2e.conftest import Server, login, wait_ingested

pytestmark = [pytest.mark.e2e, pytest.mark.screen]


def test_hostile_mail_arrives_live_and_runs_nothing(browser: Any, server: Server) -> None:
    page = login(browser, server, "alice@acme.test")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"/inbox/{server.seed['second_inbox']}/v/all_open/")
    expect(page.locator("body")).to_have_attribute("data-live", "1")
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
        client.sendmail("mallory@evil.example", ["sales@acme.test"], corpus.hostile_html())
        client.sendmail("bjorn@kunde.no", ["sales@acme.test"], corpus.outlook_alternative())
    wait_ingested(server, server.seed["second_inbox"], "Hostile HTML")
    row = page.locator(".row", has_text="Hostile HTML")
    expect(row).to_have_count(1, timeout=5000)  # arrives without a reload
    row.locator(".row-link").click()
    body = page.locator("#thread .entry.message").last
    expect(body).to_contain_text("Hello")
    page.locator("#evil-link, a:has-text('click')").first.click()
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    assert not [u for u in requests if "evil.example" in u]  # the tracking pixel did not load
    page.get_by_role("button", name="Load remote images").click()
    expect(page.locator("img[alt=pixel]")).to_have_attribute("src", "https://tracker.evil.example/pixel.gif?u=1")
    assert page.evaluate("window.__pwned") is None

    page.locator(".row", has_text="Spørsmål om faktura").locator(".row-link").click()
    entry = page.locator("#thread .entry.message").last
    expect(entry).to_contain_text("Jeg har et spørsmål om fakturaen.")
    quoted = entry.locator("details.trimmed")
    expect(quoted.locator(".quoted")).not_to_be_visible()
    quoted.locator("summary").click()
    expect(quoted.locator(".quoted")).to_contain_text("Fra:")
    page.screenshot(path=str(Path(__file__).parents[2] / "test-results" / "email-thread.png"))


def test_reply_and_forward_show_their_delivery_status(browser: Any, server: Server) -> None:
    page = login(browser, server, "alice@acme.test")
    page.goto(f"/inbox/{server.seed['second_inbox']}/v/all_open/")
    expect(page.locator("body")).to_have_attribute("data-live", "1")
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
        client.sendmail("anna@icloud.example", ["sales@acme.test"], corpus.inline_image())
    wait_ingested(server, server.seed["second_inbox"], "Screenshot of the error")
    row = page.locator(".row", has_text="Screenshot of the error")
    expect(row).to_have_count(1, timeout=5000)
    row.locator(".row-link").click()
    entry = page.locator("#thread .entry.message").last
    image = entry.locator("img[alt=error]")
    expect(image).to_have_attribute("src", re.compile(r"^/attachments/\d+/\?inline=1$"))
    expect(image).to_have_js_property("naturalWidth", 1)  # the inline 1x1 PNG is shown (once it loaded)
    entry.locator("details.forward summary").click()
    entry.locator("details.forward input[name=to]").fill("colleague@partner.example")
    entry.locator("details.forward button[type=submit]").click()
    forwarded = page.locator("#thread .entry.message.out").last
    expect(forwarded).to_contain_text("Forwarded message")
    # nothing listens on the installation's relay in tests: the attempt fails and is retried
    expect(forwarded.locator(".delivery")).to_have_text("Queued")


def test_a_new_email_from_the_contact_panel(browser: Any, server: Server) -> None:
    page = login(browser, server, "alice@acme.test")
    page.goto(f"/inbox/{server.seed['second_inbox']}/v/all_open/")
    page.locator(".row").first.locator(".row-link").click()
    contact_email = page.locator("#contact-panel dd").first.inner_text()
    page.click("#contact-compose")
    dialog = page.locator("#compose-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("input[name=to]")).to_have_value(contact_email)
    dialog.locator("input[name=subject]").fill("Following up")
    dialog.locator("textarea[name=text]").fill("Just checking in.")
    dialog.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/v/sent/c/\d+/"))
    expect(page.locator("#thread h1")).to_have_text("Following up")
    expect(page.locator("#thread .entry.message.out").last.locator(".delivery")).to_have_text("Queued")
