"""Tickets in a real browser: create one from the conversation's sidebar, close the conversation
and the ticket together (and Undo: both back), a teammate's card follows live, and the board
moved by keyboard, with pictures of the screens to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Server, login

pytestmark = [pytest.mark.e2e, pytest.mark.screen]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_create_a_ticket_and_close_it_with_the_conversation(browser: Any, server: Server) -> None:
    thread = f"/inbox/{server.seed['service_inbox']}/v/all_open/c/{server.seed['conversations']['ticket']}/"
    bob = login(browser, server, "bob@acme.test")
    carol = login(browser, server, "carol@acme.test")
    for page in (bob, carol):
        page.goto(thread)
        page.locator("body[data-live='1']").wait_for(state="attached")
    bob.click("#ticket-create > summary")
    form = bob.locator("#ticket-create-form")
    expect(form.locator("input[name=name]")).to_have_value("E2E ticket")  # prefilled from the conversation
    form.locator("input[name=name]").fill("")
    form.locator("#ticket-create-save").click()
    expect(form.locator("input[name=name]")).to_have_value("")  # the browser's own check: nothing sent
    form.locator("input[name=name]").fill("Export shows the wrong VAT")
    form.locator("select[name=priority]").select_option("high")
    form.locator("#ticket-create-save").click()
    expect(bob.locator("#ticket-open")).to_have_text("Export shows the wrong VAT")
    expect(bob.locator("#thread-ticket-link")).to_have_text("Export shows the wrong VAT")  # above the conversation
    expect(bob.locator("#ticket-priority")).to_have_value("high")
    # Carol has the conversation open: her sidebar shows the ticket without a reload
    expect(carol.locator("#ticket-open")).to_have_text("Export shows the wrong VAT", timeout=5000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    bob.click("#ticket-more > summary")
    bob.screenshot(path=str(SHOTS / "ticket-sidebar.png"), full_page=True)

    bob.click("#close-menu > summary")
    bob.screenshot(path=str(SHOTS / "ticket-close-menu.png"))
    bob.click("#close-both-btn")
    expect(bob.locator(".thread-head .meta .closed-chip")).to_have_text("Closed")
    expect(bob.locator("#thread-ticket .chip")).to_have_text("Closed")
    expect(carol.locator("#sidebar-ticket .closed-chip")).to_be_visible(timeout=5000)
    bob.locator("#toasts").get_by_role("button", name="Undo").click()
    expect(bob.locator("#close-menu")).to_be_visible()  # open again, and so is the ticket
    expect(bob.locator("#thread-ticket .chip")).to_have_text("New")
    # the ticket's record: its history, and the way back to the conversation
    bob.click("#thread-ticket-link")
    expect(bob.locator("#ticket-title")).to_have_text("Export shows the wrong VAT")
    expect(bob.locator("#ticket-history")).to_contain_text("reopened it with the conversation")
    bob.screenshot(path=str(SHOTS / "ticket-record.png"), full_page=True)
    bob.click("#ticket-conversation")
    bob.wait_for_url("**/inbox/**/c/**")
    expect(bob.locator("#thread")).to_contain_text("Body of ticket")
    # each sidebar section folds, and stays folded for this person
    fold = bob.locator(".sidebar-fold[data-fold=ticket]")
    expect(fold).to_have_attribute("open", "")
    with bob.expect_response(lambda r: "/me/preferences/" in r.url and r.status == 204):
        fold.locator("> summary").click()
    expect(bob.locator("#ticket-stage")).to_be_hidden()
    bob.reload()
    expect(bob.locator(".sidebar-fold[data-fold=ticket]")).not_to_have_attribute("open", "")
    expect(bob.locator(".sidebar-fold[data-fold=about]")).to_have_attribute("open", "")
    carol.reload()  # Carol's are hers
    expect(carol.locator(".sidebar-fold[data-fold=ticket]")).to_have_attribute("open", "")


def test_the_board_moves_a_ticket_by_keyboard(browser: Any, server: Server) -> None:
    page = login(browser, server, "carol@acme.test")
    page.click("#nav-tickets")
    expect(page.locator("#tickets-table")).to_contain_text("Login fails on Safari")
    page.screenshot(path=str(SHOTS / "tickets-list.png"), full_page=True)
    page.click("#open-board")
    card = page.locator(f"#ticket-card-{server.seed['tickets']['board1']}")
    new = page.locator(".board-column").nth(0)
    expect(new.locator(".board-card", has_text="Login fails on Safari")).to_be_visible()
    before = int(page.locator(".board-column").nth(1).locator("[data-count]").inner_text())
    card.focus()
    page.keyboard.press("Alt+ArrowRight")
    second = page.locator(".board-column").nth(1)
    expect(second.locator(".board-card", has_text="Login fails on Safari")).to_be_visible()
    expect(page.locator("#board-said")).to_contain_text("Moved to Waiting on contact")
    expect(second.locator("[data-count]")).to_have_text(str(before + 1))
    expect(page.locator(f"#ticket-card-{server.seed['tickets']['board1']}")).to_be_focused()
    page.keyboard.press("Alt+ArrowLeft")  # and back, from the same card
    expect(new.locator(".board-card", has_text="Login fails on Safari")).to_be_visible()
    page.keyboard.press("Alt+ArrowRight")
    expect(second.locator(".board-card", has_text="Login fails on Safari")).to_be_visible()
    expect(page.locator(".board-card[data-saving]")).to_have_count(0)  # both moves answered, in order
    page.reload()  # stored, not only drawn
    expect(
        page.locator(".board-column").nth(1).locator(".board-card", has_text="Login fails on Safari")
    ).to_be_visible()
    page.screenshot(path=str(SHOTS / "ticket-board.png"), full_page=True)


def test_create_a_deal_beside_the_conversation(browser: Any, server: Server) -> None:
    thread = f"/inbox/{server.seed['service_inbox']}/v/all_open/c/{server.seed['conversations']['board2']}/"
    page = login(browser, server, "bob@acme.test")
    page.goto(thread)
    deals = page.locator("#sidebar-deals")
    expect(deals).to_contain_text("No deals with this contact")
    page.click("#deal-create > summary")
    form = page.locator("#deal-create-form")
    expect(form.locator("input[name=name]")).to_have_value("E2E board2")
    form.locator("input[name=name]").fill("Årsavtale 2027")
    form.locator("input[name=amount]").fill("mange penger")
    form.locator("#deal-create-save").click()
    expect(page.locator("#toasts")).to_contain_text("mange penger is not an amount")
    form.locator("input[name=amount]").fill("125 000,50")
    form.locator("#deal-create-save").click()
    expect(page.locator("#sidebar-deals")).to_contain_text("Årsavtale 2027")
    expect(page.locator("#sidebar-deals")).to_contain_text("NOK")
    page.screenshot(path=str(SHOTS / "deal-sidebar.png"), full_page=True)
    page.locator("#sidebar-deals").get_by_role("link", name="Årsavtale 2027").click()
    expect(page.locator("#deal-title")).to_have_text("Årsavtale 2027")
    expect(page.locator("#deal-amount")).to_have_value("125000.50")
    page.select_option("#deal-stage", label="Won (100 %)")
    page.click("#deal-save")
    expect(page.locator(".crm-record-head .chip")).to_have_text("Won")
    page.screenshot(path=str(SHOTS / "deal-record.png"), full_page=True)
