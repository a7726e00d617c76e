"""Feedback in a real browser: the customer opens the survey's link (no sign-in), chooses a
number and comments; the agent who has the conversation open sees the answer arrive in Past
feedback without a reload. Pictures of both screens to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Server, _contexts, _watch_csp, login

pytestmark = [pytest.mark.e2e, pytest.mark.screen]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_a_feedback_answer_arrives_live_in_the_sidebar(browser: Any, server: Server) -> None:
    conversation = server.seed["conversations"]["feedback"]
    bob = login(browser, server, "bob@acme.test")
    bob.goto(f"/conversations/{conversation}/")
    bob.locator("body[data-live='1']").wait_for(state="attached")
    past = bob.locator("#sidebar-past-feedback")
    expect(past).to_contain_text("No feedback from this contact yet.")
    # the customer, in another browser, signed in nowhere, follows the link for "4" in the mail
    context = browser.new_context(viewport={"width": 420, "height": 860}, base_url=server.base_url)
    _contexts.append(context)
    customer = context.new_page()
    _watch_csp(customer)
    customer.goto(f"/feedback/{server.seed['survey_token']}/?score=4")
    expect(customer.locator("h1")).to_have_text("How would you rate the help you got?")
    expect(customer.locator("input[name=score][value='4']")).to_be_checked()
    customer.locator("label.score-choice", has_text="5").click()  # changes their mind, by the label
    customer.fill("#feedback-comment", "Quick and friendly, thank you!")
    customer.fill("#feedback-second", "Answer on weekends too")
    customer.click("#feedback-send")
    expect(customer.locator("#feedback-saved")).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    customer.screenshot(path=str(SHOTS / "feedback-page.png"), full_page=True)
    # the agent's sidebar, live
    expect(bob.locator("#feedback-this")).to_contain_text("5 of 5", timeout=8000)
    expect(bob.locator("#feedback-this")).to_contain_text("Quick and friendly, thank you!")
    expect(bob.locator("#feedback-this")).to_contain_text("Answer on weekends too")
    fold = bob.locator("details[data-fold='past-feedback']")
    fold.scroll_into_view_if_needed()
    fold.screenshot(path=str(SHOTS / "feedback-sidebar.png"))
    # a score that is not 1-5 is refused with a clear message, the saved answer kept
    customer.goto(f"/feedback/{server.seed['survey_token']}/")
    expect(customer.locator("input[name=score][value='5']")).to_be_checked()
    customer.evaluate("document.querySelector(\"input[name=score][value='5']\").value = '9'")
    customer.click("#feedback-send")
    expect(customer.locator("#feedback-error")).to_have_text("Choose a number from 1 to 5.")
    expect(bob.locator("#feedback-this")).to_contain_text("5 of 5")
