"""WCAG 2.2 AA on every screen, in both languages: axe-core (installed from npm by `make test`) runs
in the real browser on each screen and each open menu, dialog and panel, at desktop and phone size,
and the test fails on any violation of the WCAG 2.x A/AA rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, Server

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
    ]


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
            outside.close()
    finally:  # Alice is English for the other tests on this server: wait for the change to be saved
        page.goto("/settings/")
        page.select_option("#language-select", "en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        context.close()
    assert found == {}, json.dumps(found, indent=1, ensure_ascii=False)
