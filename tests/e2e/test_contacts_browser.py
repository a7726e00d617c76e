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


def test_about_this_contact_is_edited_beside_the_conversation_and_a_teammate_sees_it_live(
    browser: Any, server: Server
) -> None:
    thread = f"/inbox/{server.seed['inbox']}/v/all_open/c/{server.seed['conversations']['search']}/"
    bob = login(browser, server, "bob@acme.test")
    carol = login(browser, server, "carol@acme.test")
    for page in (bob, carol):
        page.goto(thread)
        page.locator("body[data-live='1']").wait_for(state="attached")
    about = bob.locator("#sidebar-about")
    expect(bob.locator(".sidebar-fold[data-fold=about] > summary")).to_have_text("About this contact")
    about.locator("#about-phone").fill("ring meg")
    about.locator("#about-save").click()
    expect(bob.locator("#toasts")).to_contain_text("ring meg is not a phone number")
    about.locator("#about-phone").fill("+47 412 34 567")
    about.locator("#about-lifecycle_stage").select_option("customer")
    about.locator("#about-save").click()
    expect(bob.locator("#about-phone")).to_have_value("+4741234567")  # drawn again, as stored
    # Carol has it open too: her sidebar is redrawn by the event, without a reload
    expect(carol.locator("#about-lifecycle_stage")).to_have_value("customer", timeout=5000)
    expect(carol.locator("#about-phone")).to_have_value("+4741234567")
    # the company: typed, with the account's companies suggested as he types (never a list of all)
    typed = about.locator("input[name=new_company]")
    typed.press_sequentially("Customer Ex", delay=30)
    expect(bob.locator("#about-company-list option[value='Customer Example AS (customer.example)']")).to_have_count(1)
    typed.fill("Customer Example AS (customer.example)")  # as the browser fills it when it is chosen
    about.locator("#about-save").click()
    expect(bob.locator("#about-company option:checked")).to_have_text("Customer Example AS")
    expect(carol.locator("#about-company option:checked")).to_have_text("Customer Example AS", timeout=5000)
    # Bob chooses what he sees; Carol's choice is hers
    bob.click("#sidebar-about .about-choose > summary")
    bob.locator("#about-fields input[value=job_title]").check()
    bob.locator("#about-fields input[value=phone]").uncheck()
    bob.click("#about-fields-save")
    expect(bob.locator("#about-job_title")).to_be_visible()
    expect(bob.locator("#about-phone")).to_have_count(0)
    expect(carol.locator("#about-phone")).to_have_count(1)
    SHOTS.mkdir(parents=True, exist_ok=True)
    bob.screenshot(path=str(SHOTS / "sidebar-about.png"))
    with bob.context.expect_page() as opened:
        bob.click("#about-open-record")
    record = opened.value
    record.wait_for_load_state()
    expect(record.locator("#contact-name")).to_have_text("Customer Search")


def test_a_csv_import_with_an_error_row(browser: Any, server: Server, tmp_path: Path) -> None:
    """Upload, the columns guessed with a preview, the import run by the server's worker with its
    progress, and the row that failed in a report to download."""
    page = login(browser, server, "alice@acme.test")
    page.goto("/contacts/")
    page.click("#contacts-import")
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{n}" for n in range(300)) + "\n")
    page.set_input_files("#import-file", str(wide))
    page.click("#import-upload-save")
    expect(page.locator("#import-upload .field-error")).to_contain_text("300 columns")
    good = tmp_path / "kunder.csv"
    good.write_bytes(
        "Navn;E-post;Telefon;Stilling\n"
        "Ingrid Import;ingrid@import.example;+47 913 00 111;Innkjøper\n"
        "Petter Feil;petter@import.example;ring meg;\n"
        "Siri Import;siri@import.example;;Daglig leder\n".encode("cp1252")
    )
    page.set_input_files("#import-file", str(good))
    page.click("#import-upload-save")
    page.wait_for_url("**/contacts/import/*/")
    expect(page.locator("#column-0")).to_have_value("name")  # guessed from "Navn"
    expect(page.locator("#column-1")).to_have_value("email")
    expect(page.locator("#import-columns")).to_contain_text("Innkjøper")  # Windows-1252, read right
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "contact-import-mapping.png"), full_page=True)
    page.click("#import-start")
    progress = page.locator("#import-progress")
    expect(progress).to_contain_text("2 created, 0 updated, 0 skipped, 1 not imported", timeout=15000)
    expect(progress.locator("progress")).to_have_attribute("value", "100")
    page.screenshot(path=str(SHOTS / "contact-import-done.png"), full_page=True)
    with page.expect_download() as download:
        page.click("#import-errors")
    report = Path(download.value.path()).read_text(encoding="utf-8")
    assert "ring meg" in report and "Petter Feil" in report and "Ingrid" not in report
    page.goto("/contacts/?q=ingrid+import")
    expect(page.locator("#contacts-table tbody tr")).to_have_count(1)
