"""WCAG 2.2 AA on every screen, in both languages: axe-core (installed from npm by `make test`) runs
in the real browser on each screen and each open menu, dialog and panel, at desktop and phone size,
and the test fails on any violation of the WCAG 2.x A/AA rules."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import BIN, PASSWORD, ROOT, Server, prepare_database, start_server

pytestmark = [pytest.mark.e2e, pytest.mark.screen]

AXE = Path(__file__).resolve().parents[2] / "node_modules/axe-core/axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


def violations(page: Any) -> list[str]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    out = []
    for v in result["violations"]:
        nodes = "; ".join(f"{n['target']} {n.get('failureSummary', '')[:160]!r}" for n in v["nodes"][:4])
        out.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {nodes}")
    return out


def screens(server: Server) -> list[tuple[str, str, Callable[[Any], None] | None]]:
    inbox, second = server.seed["inbox"], server.seed["second_inbox"]
    reply = server.seed["conversations"]["reply"]
    thread = f"/inbox/{inbox}/v/all_open/c/{reply}/"

    def click(*selectors: str) -> Callable[[Any], None]:
        def act(page: Any) -> None:
            for selector in selectors:
                page.locator(selector).first.click()
            page.wait_for_timeout(150)  # htmx swaps and the opening of menus settle

        return act

    def shortcuts(page: Any) -> None:
        page.locator("body").press("?")
        expect(page.locator("#shortcuts-dialog")).to_be_visible()

    def views_editor(page: Any) -> None:
        page.click("[data-action=edit-views]")
        expect(page.locator("#views-dialog .view-editor-row").first).to_be_visible()

    return [
        ("inbox", f"/inbox/{inbox}/v/all_open/", None),
        ("thread with editor", thread, None),
        ("More menu", thread, click("#more-menu > summary")),
        ("status menu", thread, click(".status-summary")),
        ("notifications", thread, click("#bell-button")),
        ("comment tab", thread, click(".tab[data-tab=comment]")),
        ("forward", thread, click(".entry-foot details.forward > summary")),
        ("search with filters", f"/inbox/{inbox}/v/all_open/?q=zebrafish", click("#filters-toggle")),
        ("compose", f"/inbox/{inbox}/v/all_open/", click("[data-action=compose]")),
        ("views editor", f"/inbox/{inbox}/v/all_open/", views_editor),
        ("shortcuts", f"/inbox/{inbox}/v/all_open/", shortcuts),
        ("long thread", f"/inbox/{second}/v/all_open/c/{server.seed['conversations']['longthread']}/", None),
        ("trash", f"/inbox/{inbox}/v/trash/", None),
        ("users", "/settings/", None),
        ("teams", "/settings/teams/", None),
        ("inboxes and channels", "/settings/inboxes/", None),
        ("chat channel", f"/settings/channels/{server.seed['chat_channel']}/chat/", None),
        ("chatflow", f"/settings/channels/{server.seed['chat_channel']}/chat/flows/new/", None),
        ("my availability", "/settings/availability/", None),
        ("availability management", "/settings/availability-management/", None),
        ("my account", "/settings/password/", None),
        ("API tokens", "/settings/tokens/", None),
        ("mail intake", "/settings/mail-intake/", None),
        ("contacts", "/contacts/", None),
        ("contacts searched", "/contacts/?q=customer+searc&owner=none", click(".crm-more-filters > summary")),
        ("contact record", f"/contacts/{server.seed['contacts']['search']}/", None),
        ("merge preview", f"/contacts/{server.seed['contacts']['search']}/merge/?other={server.seed['contacts']['permalink']}", None),
        ("new email to a contact", f"/contacts/{server.seed['contacts']['search']}/email/", None),
        ("contact properties", "/settings/contact-properties/", None),
        ("companies", "/companies/", click("#company-new > summary")),
        ("company record", f"/companies/{server.seed['company']}/", click("#company-add-contact > summary")),
        ("contact import", "/contacts/import/", None),
        ("import columns", f"/contacts/import/{server.seed['pending_import']}/", None),
        ("custom objects", "/settings/custom-objects/", None),
        ("pipelines", "/settings/pipelines/", None),
        ("feedback surveys", "/settings/feedback/", None),
        ("thread with past feedback", f"/conversations/{server.seed['conversations']['feedback']}/", None),
        ("custom records", f"/objects/{server.seed['object_type']}/", click("#record-new > summary")),
        ("custom record", f"/objects/records/{server.seed['record']}/", None),
        ("deals", "/deals/", None),
        ("deal record", f"/deals/{server.seed['deal']}/", None),
        ("tickets", "/tickets/", click(".crm-more-filters > summary")),
        ("ticket board", "/tickets/board/", None),
        ("ticket record", f"/tickets/{server.seed['tickets']['ticketed']}/", None),
        ("thread with a ticket", f"/inbox/{server.seed['service_inbox']}/v/all_open/c/{server.seed['conversations']['ticketed']}/",
         click("#close-menu > summary", "#ticket-more > summary")),
        ("creating a ticket", f"/inbox/{server.seed['service_inbox']}/v/all_open/c/{server.seed['conversations']['ticketless']}/",
         click("#ticket-create > summary")),
    ]  # fmt: skip


def signed_in(browser: Any, server: Server, viewport: dict[str, int]) -> tuple[Any, Any]:
    # axe is added to the page as a script of its own: the page's CSP would (rightly) refuse it
    context = browser.new_context(viewport=viewport, base_url=server.base_url, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(8000)
    page.goto("/login/")
    page.fill("input[name=username]", "alice@acme.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/inbox/**")
    return context, page


INBOX_SCREENS = 13  # the first screens of `screens` are the inbox's; the rest are settings


@pytest.mark.parametrize("group", ["inbox", "settings"])  # (two halves: the test processes share them)
@pytest.mark.parametrize("language", ["en", "nb"])
def test_no_screen_violates_wcag_aa(browser: Any, server: Server, language: str, group: str) -> None:
    context, page = signed_in(browser, server, {"width": 1280, "height": 860})
    found: dict[str, list[str]] = {}
    every = screens(server)
    assert every[INBOX_SCREENS - 1][0] == "trash" and every[INBOX_SCREENS][0] == "users"  # (keep the split true)
    try:
        page.select_option("#language-select", language)
        expect(page.locator("html")).to_have_attribute("lang", language)
        for name, url, act in every[:INBOX_SCREENS] if group == "inbox" else every[INBOX_SCREENS:]:
            page.goto(url)
            page.locator("body[data-live='1']").wait_for(state="attached")
            if act is not None:
                act(page)
            if problems := violations(page):
                found[name] = problems
        if group == "settings":  # the login page, signed out, and the inbox on a phone
            phone = context.new_page()
            phone.set_viewport_size({"width": 390, "height": 800})
            for name, url in [("phone inbox", f"/inbox/{server.seed['inbox']}/v/all_open/"),
                              ("phone thread", f"/inbox/{server.seed['inbox']}/v/all_open/c/{server.seed['conversations']['reply']}/")]:  # fmt: skip
                phone.goto(url)
                if problems := violations(phone):
                    found[name] = problems
            outside = browser.new_context(
                bypass_csp=True, base_url=server.base_url, locale="nb-NO" if language == "nb" else "en-US"
            )
            login_page = outside.new_page()
            login_page.goto("/login/")
            if problems := violations(login_page):
                found["login"] = problems
            login_page.goto(f"/feedback/{server.seed['survey_token']}/?score=3")  # the customer's survey page
            if problems := violations(login_page):
                found["survey page"] = problems
            login_page.goto("/feedback/not-a-token/")
            if problems := violations(login_page):
                found["survey page, bad link"] = problems
            outside.close()
    finally:  # Alice is English for the other tests on this server: wait for the change to be saved
        page.goto("/settings/")
        page.select_option("#language-select", "en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        context.close()
    assert found == {}, json.dumps(found, indent=1, ensure_ascii=False)


@pytest.fixture(scope="module")
def working_day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose account looks like the end of a working day (tests/e2e/working_day.py)."""
    import os
    import subprocess

    tmp = tmp_path_factory.mktemp("workday")
    env, seed = prepare_database(tmp, f"workday_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")
    done = subprocess.run(
        [str(BIN / "python"), "-m", "tests.e2e.working_day"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    server = start_server(env, tmp / "server.log")
    server.seed = {**seed, "day": json.loads(done.stdout)}
    yield server
    server.stop()


@pytest.mark.parametrize("language", ["en", "nb"])
def test_the_screens_of_a_working_day_violate_no_wcag_aa(browser: Any, working_day: Server, language: str) -> None:
    """The demo's first state hides what a day brings: unread notifications (a count in the bell),
    an admin's Away with its notice, long names and subjects, a thread with a hidden message and an
    attachment, open menus, an error toast, an empty view. Each state is checked to be there."""
    server = working_day
    inbox, conversation = server.seed["day"]["inbox"], server.seed["day"]["conversation"]
    thread = f"/inbox/{inbox}/v/all_open/c/{conversation}/"
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=server.base_url, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(8000)
    page.goto("/login/")
    page.fill("input[name=username]", "bob@acme.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/inbox/**")
    page.select_option("#language-select", language)
    expect(page.locator("html")).to_have_attribute("lang", language)

    def opened(selector: str) -> Callable[[Any], None]:
        def act(page: Any) -> None:
            page.locator(selector).first.click()
            page.wait_for_timeout(150)

        return act

    def error_toast(page: Any) -> None:  # a refused change, as the page shows it (an empty reply: 400)
        page.evaluate(
            "id => htmx.ajax('POST', '/c/' + id + '/reply/', {values: {text: ''}, swap: 'none'})", conversation
        )
        expect(page.locator(".toast.error")).to_be_visible()

    states: list[tuple[str, str, Callable[[Any], None] | None, str]] = [
        (
            "inbox with unread notifications and an admin's Away",
            f"/inbox/{inbox}/v/all_open/",
            None,
            "#admin-away-notice",
        ),
        ("thread with a long name, an attachment and a hidden message", thread, None, ".entry.message.hidden-msg"),
        ("the attachment", thread, None, "ul.attachments li"),
        ("notifications open", thread, opened("#bell-button"), "#bell-panel .notif-panel"),
        ("More menu open", thread, opened("#more-menu > summary"), "#more-menu[open]"),
        ("status menu open", thread, opened(".status-summary"), "#admin-away-notice"),
        ("error toast", thread, error_toast, ".toast.error"),
        ("empty view", f"/inbox/{inbox}/v/all_open/?q=qqzzyyxx", None, "body"),
        ("phone thread", thread, None, ".entry.message.hidden-msg"),
    ]
    found: dict[str, list[str]] = {}
    try:
        for name, url, act, present in states:
            page.set_viewport_size(
                {"width": 390, "height": 800} if name.startswith("phone") else {"width": 1280, "height": 860}
            )
            page.goto(url)
            page.locator("body[data-live='1']").wait_for(state="attached")
            expect(page.locator("#bell-count")).to_be_visible()  # unread notifications on every screen
            if act is not None:
                act(page)
            page.locator(present).first.wait_for(state="attached")
            if problems := violations(page):
                found[name] = problems
    finally:
        context.close()
    assert found == {}, json.dumps(found, indent=1, ensure_ascii=False)
