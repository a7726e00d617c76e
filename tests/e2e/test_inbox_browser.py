"""The inbox in a real browser against a real server, live updates over a real WebSocket."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.e2e.conftest import Server, login

pytestmark = [pytest.mark.e2e, pytest.mark.screen]


def open_conversation(page: Any, server: Server, key: str, view: str = "all_open") -> None:
    page.goto(f"/inbox/{server.seed['inbox']}/v/{view}/")
    page.click(f"#row-{server.seed['conversations'][key]} .row-link")
    expect(page.locator("#thread h1")).to_have_text(f"E2E {key}")


def menu(page: Any, label: str, confirm: bool = False) -> None:
    """Choose an item of the thread's More menu (opened first, whatever its state)."""
    if confirm:
        page.once("dialog", lambda d: d.accept())
    button = page.locator("#more-menu").get_by_role("button", name=label, exact=True)
    for _ in range(20):  # the thread may be re-rendered by a live refresh between opening and clicking
        page.locator("#more-menu").evaluate("m => { m.open = true; }")
        try:
            button.click(timeout=500)
            return
        except PlaywrightTimeoutError:
            continue
    state = page.locator("#thread-pane").inner_text()
    raise AssertionError(f"no {label!r} in the More menu; the thread shows: {state[:500]}")


def test_login_and_every_default_view_shows_its_conversations(browser: Any, server: Server) -> None:
    page = login(browser, server, "alice@acme.test")
    views = server.api("GET", f"/api/v1/inboxes/{server.seed['inbox']}/views", server.seed["tokens"]["admin"])
    counts = {v["key"]: v["count"] for v in views}
    page.goto(f"/inbox/{server.seed['inbox']}/v/unassigned/")
    page.locator(".more-views > summary").click()
    for key, label in [("unassigned", "Unassigned"), ("mine", "Assigned to me"), ("all_open", "All open"), ("chat", "Chat"),
                       ("bots", "Bots"), ("email", "Email"), ("all_closed", "All closed"), ("sent", "Sent"),
                       ("spam", "Spam"), ("filtered", "Filtered"), ("trash", "Trash")]:  # fmt: skip
        link = page.locator(f"a.view-link[data-view={key}]")
        expect(link.locator(".count")).to_have_text(str(counts[key]))
        link.click()
        expect(page.locator(".list-title")).to_have_text(label)
        expect(page.locator("#rows .row")).to_have_count(min(counts[key], 25))
    page.click("a.view-link[data-view=unassigned]")
    expect(page.locator("#rows")).to_contain_text("E2E reply")


def test_open_and_reply_with_rich_text(browser: Any, server: Server) -> None:
    page = login(browser, server, "bob@acme.test")
    open_conversation(page, server, "reply")
    page.click("#reply-editor")
    page.keyboard.type("Thanks for ")
    page.keyboard.press("Control+b")
    page.keyboard.type("waiting")
    page.click("#send-reply")
    last = page.locator(".entry.message.out").last
    expect(last).to_contain_text("Thanks for waiting")
    expect(last.locator(".entry-body b")).to_have_text("waiting")
    expect(last.locator(".delivery")).to_have_text("Queued")
    expect(page.locator("#reply-editor")).to_have_text("")


def test_comment_with_mention_notifies_the_teammate_live(browser: Any, server: Server) -> None:
    carol = login(browser, server, "carol@acme.test")
    before = int(carol.locator("#bell-count").text_content() or 0)
    bob = login(browser, server, "bob@acme.test")
    open_conversation(bob, server, "mention")
    bob.click(".tab[data-tab=comment]")
    bob.fill("#comment-text", "")
    bob.type("#comment-text", "Please look @Car")
    expect(bob.locator("#mention-list li").first).to_have_text("Carol Agent")
    bob.keyboard.press("Enter")
    expect(bob.locator("#comment-text")).to_have_value("Please look @Carol Agent ")
    bob.click("#send-comment")
    expect(bob.locator(".entry.comment").last).to_contain_text("Please look @Carol Agent")
    # Carol, in another browser, sees it without reloading.
    expect(carol.locator("#bell-count")).to_have_text(str(before + 1), timeout=3000)
    expect(carol.locator(".toast")).to_contain_text("You were mentioned")
    carol.click("#bell-button")
    expect(carol.locator("#bell-panel")).to_contain_text("Bob Agent mentioned you")


def test_assign_close_and_reopen_with_the_keyboard(browser: Any, server: Server) -> None:
    page = login(browser, server, "bob@acme.test")
    open_conversation(page, server, "assign")
    page.select_option("#owner-select", label="● Carol Agent")
    expect(page.locator(f"#row-{server.seed['conversations']['assign']} .owner")).to_have_text("Carol Agent")
    open_conversation(page, server, "close")
    page.locator("body").click(position={"x": 700, "y": 400})
    page.keyboard.press("e")
    expect(page.locator("#reopen-btn")).to_be_visible()
    expect(page.locator(".meta")).to_contain_text("Closed")
    page.click("#reopen-btn")
    expect(page.locator("#close-btn")).to_be_visible()
    # closing offers Undo for a few seconds: by its button, and by "z"
    page.keyboard.press("e")
    # the first close's notice may still be up (8 s): this close's is the newest
    toast = page.locator(".toast", has_text="Conversation closed").last
    expect(toast.get_by_role("button", name="Undo")).to_be_visible()
    toast.get_by_role("button", name="Undo").click()
    expect(page.locator("#close-btn")).to_be_visible()
    expect(page.locator(".toast", has_text="Undone")).to_be_visible()
    page.locator("body").click(position={"x": 700, "y": 400})
    page.keyboard.press("e")
    expect(page.locator("#reopen-btn")).to_be_visible()
    page.keyboard.press("z")
    expect(page.locator("#close-btn")).to_be_visible()


def test_undo_is_offered_when_a_live_redraw_replaced_the_button_meanwhile(browser: Any, server: Server) -> None:
    page = login(browser, server, "bob@acme.test")
    conversation = server.seed["conversations"]["undo"]
    page.goto(f"/inbox/{server.seed['second_inbox']}/v/all_open/c/{conversation}/")
    redrawn = []

    def close_slowly(route: Any) -> None:
        # while the close is on its way, a teammate comments: the thread (and its Close button) is
        # redrawn live before the close's answer arrives
        server.api("POST", f"/api/v1/conversations/{conversation}/comments", server.seed["tokens"]["admin"],
                   {"text": "Looking at it"})  # fmt: skip
        answer = route.fetch()
        time.sleep(1.0)  # the live redraw takes ~0.2 s; this makes the race certain, not the test pass
        redrawn.append(True)
        route.fulfill(response=answer)

    page.route(f"**/c/{conversation}/close/", close_slowly)
    page.click("#close-btn")
    expect(page.locator(".toast", has_text="Conversation closed").get_by_role("button", name="Undo")).to_be_visible()
    assert redrawn
    expect(page.locator(".entry.comment").last).to_contain_text("Looking at it")
    page.unroute(f"**/c/{conversation}/close/")
    page.locator(".toast", has_text="Conversation closed").get_by_role("button", name="Undo").click()
    expect(page.locator("#close-btn")).to_be_visible()


def test_bulk_close(browser: Any, server: Server) -> None:
    page = login(browser, server, "bob@acme.test")
    page.goto(f"/inbox/{server.seed['inbox']}/v/all_open/")
    closed_before = int(page.locator("a.view-link[data-view=all_closed] .count").text_content() or "")
    for key in ("bulk1", "bulk2", "bulk3"):
        page.check(f"#row-{server.seed['conversations'][key]} .row-check")
    expect(page.locator("#bulk-count")).to_have_text("3 selected")
    page.click("#bulk-bar [data-bulk=close]")
    for key in ("bulk1", "bulk2", "bulk3"):
        expect(page.locator(f"#row-{server.seed['conversations'][key]}")).to_have_count(0)
    expect(page.locator("a.view-link[data-view=all_closed] .count")).to_have_text(
        str(closed_before + 3), use_inner_text=False
    )
    # Undo from the toast opens exactly those three again
    page.locator(".toast", has_text="3 conversations updated").get_by_role("button", name="Undo").click()
    for key in ("bulk1", "bulk2", "bulk3"):
        expect(page.locator(f"#row-{server.seed['conversations'][key]}")).to_have_count(1)
    expect(page.locator("a.view-link[data-view=all_closed] .count")).to_have_text(
        str(closed_before), use_inner_text=False
    )


def test_sort_works_in_a_view_without_a_search(browser: Any, server: Server) -> None:
    page = login(browser, server, "bob@acme.test")
    page.goto(f"/inbox/{server.seed['inbox']}/v/all_open/")
    rows = page.locator("#rows .row")
    expect(rows.first).to_be_visible()
    ids = [rows.nth(i).get_attribute("data-id") for i in range(rows.count())]
    page.select_option("#sort", "oldest")  # nothing typed in search
    expect(rows.first).not_to_have_attribute("data-id", ids[0] or "")
    expect(page.locator("#sort")).to_have_value("oldest")
    page.select_option("#sort", "newest")
    expect(rows.first).to_have_attribute("data-id", ids[0] or "")


def test_trash_offers_restore_and_delete_forever_as_bulk_actions(browser: Any, server: Server) -> None:
    page = login(browser, server, "bob@acme.test")
    inbox, ids = server.seed["second_inbox"], [server.seed["conversations"][f"trashbulk{n}"] for n in (1, 2, 3)]
    page.goto(f"/inbox/{inbox}/v/all_open/")
    for cid in ids:
        page.check(f"#row-{cid} .row-check")
    page.click("#bulk-bar [data-bulk=trash]")
    for cid in ids:
        expect(page.locator(f"#row-{cid}")).to_have_count(0)
    page.goto(f"/inbox/{inbox}/v/trash/")
    expect(page.locator("#bulk-bar [data-bulk=close]")).to_have_count(0)  # not what Trash needs
    expect(page.locator("#bulk-bar [data-bulk=trash]")).to_have_count(0)
    page.check(f"#row-{ids[0]} .row-check")
    page.click("#bulk-bar [data-bulk=restore]")
    expect(page.locator(f"#row-{ids[0]}")).to_have_count(0)
    for cid in ids[1:]:
        page.check(f"#row-{cid} .row-check")
    page.once("dialog", lambda dialog: dialog.dismiss())  # asked first; "Cancel" keeps them
    page.click("#bulk-bar [data-bulk=delete]")
    expect(page.locator(f"#row-{ids[1]}")).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#bulk-bar [data-bulk=delete]")
    for cid in ids[1:]:
        expect(page.locator(f"#row-{cid}")).to_have_count(0)
    page.goto(f"/inbox/{inbox}/v/all_open/")
    expect(page.locator(f"#row-{ids[0]}")).to_have_count(1)  # restored, back where it was


def test_trash_restore_and_delete_forever(browser: Any, server: Server) -> None:
    page = login(browser, server, "bob@acme.test")
    cid = server.seed["conversations"]["trash"]
    open_conversation(page, server, "trash")
    menu(page, "Delete")
    expect(page.locator(".banner")).to_contain_text("in Trash")
    page.goto(f"/inbox/{server.seed['inbox']}/v/trash/")
    page.click(f"#row-{cid} .row-link")
    menu(page, "Restore")
    expect(page.locator(".banner")).to_have_count(0)
    menu(page, "Delete")
    expect(page.locator(".banner")).to_contain_text("in Trash")
    menu(page, "Delete forever", confirm=True)
    expect(page.locator("#thread-pane")).to_contain_text("Deleted forever")
    expect(page.locator(f"#row-{cid}")).to_have_count(0)
    page.goto(f"/c/{cid}/")
    assert "404" in page.title() or page.locator("body").inner_text().strip().startswith("Not Found")


def test_block_sender_moves_it_to_filtered(browser: Any, server: Server) -> None:
    page = login(browser, server, "bob@acme.test")
    open_conversation(page, server, "block")
    menu(page, "Block sender", confirm=True)
    expect(page.locator(".banner")).to_contain_text("sender is blocked")
    page.locator(".more-views > summary").click()
    expect(page.locator("a.view-link[data-view=filtered]")).to_be_visible()  # stays open through live refreshes
    page.click("a.view-link[data-view=filtered]")
    expect(page.locator(f"#row-{server.seed['conversations']['block']}")).to_be_visible()


def test_permalink_opens_the_message(browser: Any, server: Server) -> None:
    page = login(browser, server, "bob@acme.test")
    open_conversation(page, server, "permalink")
    message = page.locator(".entry.message").first
    message.hover()
    message.locator(".copy-link").click()
    expect(page.locator(".toast").last).to_contain_text("Link copied")
    url = page.evaluate("document.body.dataset.copied")
    assert re.search(r"/m/\d+/$", url)
    other = login(browser, server, "carol@acme.test")
    other.goto(url)
    message_id = url.rstrip("/").rsplit("/", 1)[1]
    expect(other.locator(f"#message-{message_id}")).to_have_class(re.compile("highlight"))
    expect(other.locator("#thread h1")).to_have_text("E2E permalink")


def test_a_long_thread_opens_at_the_newest_and_shows_earlier_in_place(browser: Any, server: Server) -> None:
    page = login(browser, server, "bob@acme.test")
    page.goto(f"/inbox/{server.seed['second_inbox']}/v/all_open/")
    page.click(f"#row-{server.seed['conversations']['longthread']} .row-link")
    expect(page.locator("#thread h1")).to_have_text("E2E longthread")
    newest = page.locator(".entry.message").last
    expect(newest).to_contain_text("Message number 79")
    expect(newest).to_be_in_viewport()  # opened at the newest, not at the top
    expect(page.locator(".entry.message")).to_have_count(30)
    earlier = page.locator("button.show-earlier")
    expect(earlier).to_have_text("Show 50 earlier")
    earlier.scroll_into_view_if_needed()
    reading = page.locator(".entry.message", has_text="Message number 50")
    top_before = reading.bounding_box()["y"]
    earlier.click()
    expect(page.locator(".entry.message")).to_have_count(60)
    expect(page.locator("button.show-earlier")).to_have_text("Show 20 earlier")
    # the message that was read stays where it was; the loaded ones are above it
    assert abs(reading.bounding_box()["y"] - top_before) < 5
    focused = page.evaluate("document.activeElement.textContent")
    assert "Message number 49" in focused
    page.locator("button.show-earlier").click()
    expect(page.locator(".entry.message")).to_have_count(80)
    expect(page.locator("button.show-earlier")).to_have_count(0)
    expect(page.locator(".entry.message").first).to_contain_text("Message number 0")
    # a comment redraws the thread: it keeps all 80 the agent opened, and shows the comment
    page.click(".tab[data-tab=comment]")
    page.fill("#comment-text", "Read the whole history")
    page.click("#send-comment")
    expect(page.locator(".entry.comment").last).to_contain_text("Read the whole history")
    expect(page.locator(".entry.comment").last).to_be_in_viewport()
    expect(page.locator(".entry.message")).to_have_count(80)


def test_hide_and_show_a_message(browser: Any, server: Server) -> None:
    bob = login(browser, server, "bob@acme.test")
    open_conversation(bob, server, "hide")
    first = bob.locator(".entry.message").first
    first.hover()
    first.locator("button:has-text('Hide')").click()
    expect(bob.locator(".entry.message").first.locator(".hidden-note")).to_have_text("This message is hidden")
    carol = login(browser, server, "carol@acme.test")
    open_conversation(carol, server, "hide")
    expect(carol.locator(".entry.message").first).to_contain_text("This message is hidden")
    expect(carol.locator(".entry.message").first.locator("button:has-text('Show')")).to_have_count(0)
    first = bob.locator(".entry.message").first
    first.hover()
    first.locator("button:has-text('Show')").click()
    expect(bob.locator(".entry.message").first).to_contain_text("Body of hide")
    expect(carol.locator(".entry.message").first).to_contain_text("Body of hide", timeout=3000)  # live


def test_search_and_filters_then_exit(browser: Any, server: Server) -> None:
    page = login(browser, server, "bob@acme.test")
    page.goto(f"/inbox/{server.seed['inbox']}/v/unassigned/")
    page.keyboard.press("/")
    page.keyboard.type("zebrafish")
    expect(page.locator(".list-title")).to_have_text("Search results")
    expect(page.locator("#rows .row")).to_have_count(1)
    expect(page.locator("#rows")).to_contain_text("E2E search")
    page.click("#filters-toggle")
    page.select_option("select[name=status]", "closed")
    expect(page.locator("#rows .row")).to_have_count(0)
    page.select_option("select[name=status]", "open")
    page.select_option("select[name=channel]", "email")
    expect(page.locator("#rows .row")).to_have_count(1)
    page.click("#exit-search")
    expect(page.locator(".list-title")).to_have_text("Unassigned")
    assert page.locator("#rows .row").count() > 1


def test_changes_appear_live_in_another_browser(browser: Any, server: Server) -> None:
    watcher = login(browser, server, "carol@acme.test")
    cid = server.seed["conversations"]["live"]
    watcher.goto(f"/inbox/{server.seed['inbox']}/v/all_open/")
    watcher.click(f"#row-{cid} .row-link")
    expect(watcher.locator("#thread h1")).to_have_text("E2E live")
    open_count = int(watcher.locator("a.view-link[data-view=all_open] .count").inner_text())
    token = server.seed["tokens"]["agent"]
    server.api("POST", f"/api/v1/conversations/{cid}/reply", token, {"text": "Live reply from Bob"})
    expect(watcher.locator(".entry.message.out").last).to_contain_text("Live reply from Bob", timeout=3000)
    server.api("POST", f"/api/v1/conversations/{cid}/assign", token, {"owner_id": server.seed["users"]["agent"]})
    expect(watcher.locator(f"#row-{cid} .owner")).to_have_text("Bob Agent", timeout=3000)
    server.api("POST", f"/api/v1/conversations/{cid}/close", token)
    expect(watcher.locator("a.view-link[data-view=all_open] .count")).to_have_text(str(open_count - 1), timeout=3000)
    expect(watcher.locator("#reopen-btn")).to_be_visible(timeout=3000)


def test_language_switch_to_norwegian(browser: Any, server: Server) -> None:
    page = login(browser, server, "dave@acme.test")
    page.select_option("#language-select", "nb")
    page.wait_for_load_state("load")
    expect(page.locator("a.view-link[data-view=unassigned] span").first).to_have_text("Ikke tildelt")
    expect(page.locator("a.view-link[data-view=mine] span").first).to_have_text("Tildelt meg")
    expect(page.locator(".top-links")).to_contain_text("Innstillinger")
    page.select_option("#language-select", "en")
    page.wait_for_load_state("load")
    expect(page.locator("a.view-link[data-view=unassigned] span").first).to_have_text("Unassigned")


def test_views_are_edited_hidden_reordered_and_remembered(browser: Any, server: Server) -> None:
    page = login(browser, server, "carol@acme.test")
    page.goto(f"/inbox/{server.seed['inbox']}/v/unassigned/")
    page.fill("#q", "zebrafish")
    expect(page.locator("#list .list-title")).to_have_text("Search results")
    page.fill(".save-view input[name=name]", "Zebra")
    page.click(".save-view button[type=submit]")
    expect(page.locator("#list .list-title")).to_have_text("Zebra")  # a custom view opens under its name
    page.click("[data-action=edit-views]")
    dialog = page.locator("#views-dialog")
    expect(dialog.locator(".view-editor-row")).to_have_count(15)
    dialog.get_by_role("button", name="Hide Chat").click()
    expect(page.locator("#nav a[data-view=chat]")).to_have_count(0)  # the nav follows at once
    dialog.get_by_role("button", name="Move All open up").click()
    expect(page.locator("#nav .views a").nth(1)).to_have_attribute("data-view", "all_open")
    row = dialog.locator(".view-editor-row", has=page.locator("input[name=name]"))
    row.locator("input[name=name]").fill("Zebra cases")
    row.get_by_role("button", name="Rename").click()
    expect(page.locator("#nav")).to_contain_text("Zebra cases")
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).not_to_be_visible()
    # collapsed with the keyboard, and all of it still so after a reload
    page.locator("body").click(position={"x": 700, "y": 400})
    with page.expect_response("**/me/preferences/") as saved:  # the layout is saved by a request of its own
        page.keyboard.press("[")
    assert saved.value.status == 204
    expect(page.locator("#app")).to_have_class(re.compile("nav-collapsed"))
    page.reload()
    expect(page.locator("#app")).to_have_class(re.compile("nav-collapsed"))
    page.keyboard.press("[")
    expect(page.locator("#app")).not_to_have_class(re.compile("nav-collapsed"))
    expect(page.locator("#nav a[data-view=chat]")).to_have_count(0)
    expect(page.locator("#nav .views a").nth(1)).to_have_attribute("data-view", "all_open")
    # delete the view that is open: the page leaves it for Unassigned
    page.click("[data-action=edit-views]")
    page.once("dialog", lambda d: d.accept())
    dialog.locator(".view-editor-row", has_text="Shared").get_by_role("button", name="Delete").click()
    page.wait_for_url("**/v/unassigned/")
    expect(page.locator("#nav")).not_to_contain_text("Zebra cases")
    # show Chat again: the layout the other tests expect
    page.click("[data-action=edit-views]")
    dialog.get_by_role("button", name="Show Chat").click()
    # (the dialog is redrawn by each change: the next click waits for it, or it lands on the old one)
    expect(page.locator("#nav a[data-view=chat]")).to_have_count(1)
    expect(dialog.get_by_role("button", name="Hide Chat")).to_be_visible()
    dialog.get_by_role("button", name="Move All open down").click()
    expect(page.locator("#nav .views a").nth(2)).to_have_attribute("data-view", "all_open")


def test_everything_is_reachable_and_visible_by_keyboard(browser: Any, server: Server) -> None:
    page = login(browser, server, "bob@acme.test")
    page.goto(f"/inbox/{server.seed['inbox']}/v/all_open/")
    # the first Tab reaches a skip link, which is shown and leads to the main region
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    assert skip.bounding_box()["y"] >= 0
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    # j moves to a conversation: the row has the focus and the move is announced
    page.keyboard.press("j")
    expect(page.locator("#thread h1")).to_be_visible()
    subject = page.locator("#thread h1").text_content()
    expect(page.locator("#announcer")).to_contain_text(subject)
    assert page.evaluate("document.activeElement.classList.contains('row-link')")
    # a message's tools show when they have the focus (not only on hover)
    copy = page.locator(".entry.message .copy-link").first
    page.mouse.move(0, 0)
    assert copy.evaluate("el => getComputedStyle(el.parentElement).opacity") == "0"
    copy.focus()
    assert copy.evaluate("el => getComputedStyle(el.parentElement).opacity") == "1"
    # a focused checkbox has a clear ring
    page.keyboard.press("Shift")  # the last input was the keyboard: focus rings show
    check = page.locator(".row-check").first
    check.focus()
    ring = check.evaluate("el => [getComputedStyle(el).outlineStyle, parseFloat(getComputedStyle(el).outlineWidth)]")
    assert ring[0] == "solid" and ring[1] >= 2
    # Esc closes menus and gives the focus back to what opened them
    page.locator("#more-menu > summary").click()
    expect(page.locator("#more-menu")).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(page.locator("#more-menu")).not_to_have_attribute("open", "")
    expect(page.locator("#more-menu > summary")).to_be_focused()
    page.click("#bell-button")
    expect(page.locator("#bell-panel")).to_be_visible()
    expect(page.locator("#bell-button")).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    expect(page.locator("#bell-panel")).to_be_hidden()
    # ? lists the shortcuts
    page.keyboard.press("?")
    dialog = page.locator("#shortcuts-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Next / previous conversation")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_the_inbox_works_on_a_phone_and_a_tablet(browser: Any, server: Server) -> None:
    context = browser.new_context(base_url=server.base_url, viewport={"width": 390, "height": 800}, has_touch=True)
    page = context.new_page()
    page.goto("/login/")
    page.fill("input[name=username]", "bob@acme.test")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.goto(f"/inbox/{server.seed['inbox']}/v/all_open/")
    width = lambda sel: page.locator(sel).bounding_box()["width"]  # noqa: E731
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the screen
    expect(page.locator("#list-pane")).to_be_visible()
    expect(page.locator("#thread-pane")).to_be_hidden()
    assert width("#list-pane") >= 380
    page.click(f"#row-{server.seed['conversations']['reply']} .row-link")
    expect(page.locator("#thread h1")).to_have_text("E2E reply")
    expect(page.locator("#list-pane")).to_be_hidden()  # one pane at a time
    assert width("#thread-pane") >= 380
    expect(page.locator("#reply-editor")).to_be_visible()
    expect(page.locator("#composer button[type=submit]").first).to_be_in_viewport()
    page.click("[data-action=back-to-list]")
    expect(page.locator("#list-pane")).to_be_visible()
    expect(page.locator("#thread-pane")).to_be_hidden()
    assert page.url.endswith("/v/all_open/")
    # the views are a drawer, opened from the list and closed by choosing a view
    page.click("[data-action=toggle-nav]")
    expect(page.locator("#nav-pane")).to_be_visible()
    page.click("#nav a[data-view=unassigned]")
    expect(page.locator("#list .list-title")).to_have_text("Unassigned")
    expect(page.locator("#nav-pane")).to_be_hidden()
    # a tablet: list and thread side by side, the contact panel a drawer that Esc closes
    page.set_viewport_size({"width": 900, "height": 800})
    page.goto(f"/inbox/{server.seed['inbox']}/v/all_open/c/{server.seed['conversations']['reply']}/")
    expect(page.locator("#list-pane")).to_be_visible()
    expect(page.locator("#thread-pane")).to_be_visible()
    expect(page.locator("#contact-panel")).to_be_hidden()
    page.click("[data-action=toggle-contact]")
    expect(page.locator("#contact-panel")).to_be_visible()
    expect(page.locator("#contact-panel")).to_contain_text("reply@customer.example")
    page.keyboard.press("Escape")
    expect(page.locator("#contact-panel")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 900
    context.close()


def test_a_row_ticked_while_the_list_is_redrawn_stays_ticked(browser: Any, server: Server) -> None:
    page = login(browser, server, "bob@acme.test")
    inbox, undo = server.seed["second_inbox"], server.seed["conversations"]["undo"]
    page.goto(f"/inbox/{inbox}/v/all_open/")
    held: list[Any] = []
    holding = [True]

    def hold(route: Any) -> None:
        if holding[0]:
            held.append(route)
        else:
            route.continue_()

    page.route("**/inbox/*/list/*", hold)
    # a teammate's comment makes the list redraw; its answer is held back while the agent ticks a row
    server.api("POST", f"/api/v1/conversations/{undo}/comments", server.seed["tokens"]["admin"], {"text": "Ping"})
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the list was not redrawn"
    page.check(f"#row-{undo} .row-check")
    holding[0] = False
    with page.expect_response("**/inbox/*/list/*"):
        for route in held:
            route.continue_()
    expect(page.locator(f"#row-{undo} .row-check")).to_be_checked()
    expect(page.locator("#bulk-count")).to_have_text("1 selected")
    page.uncheck(f"#row-{undo} .row-check")


def test_a_thread_opens_where_the_new_entries_begin(browser: Any, server: Server) -> None:
    cid = server.seed["conversations"]["unread"]
    alice = login(browser, server, "alice@acme.test")
    alice.goto(f"/inbox/{server.seed['second_inbox']}/v/all_open/c/{cid}/")
    expect(alice.locator(".entry.message").last).to_be_in_viewport()  # never opened: at the newest
    expect(alice.locator("#first-unread")).to_have_count(0)
    # Alice goes on to other things (with the thread open, what arrives live counts as read)
    alice.goto(f"/inbox/{server.seed['second_inbox']}/v/all_open/")
    expect(alice.locator("body")).to_have_attribute("data-live", "1")
    for n in range(12):  # a teammate writes meanwhile
        server.api(
            "POST", f"/api/v1/conversations/{cid}/comments", server.seed["tokens"]["agent"], {"text": f"Note {n}"}
        )
    alice.reload()  # (no click racing the list's live redraws)
    alice.click(f"#row-{cid} .row-link")
    divider = alice.locator("#first-unread")
    expect(divider).to_have_text("New")
    expect(divider).to_be_in_viewport()
    head = alice.locator(".thread-head").bounding_box()
    below = divider.bounding_box()["y"] - (head["y"] + head["height"])
    assert 0 <= below < 40, below  # at the top of the thread, below its header: read on from there
    assert "Unread 19" in divider.evaluate("d => d.previousElementSibling.textContent")
    assert "Note 0" in divider.evaluate("d => d.nextElementSibling.textContent")
    expect(alice.locator(".entry.comment").last).not_to_be_in_viewport()
    alice.reload()  # read now: at the newest again
    expect(alice.locator("#first-unread")).to_have_count(0)
    expect(alice.locator(".entry.comment").last).to_be_in_viewport()


def test_back_and_forward_restore_the_screens_and_no_conversation_is_kept_in_browser_storage(
    browser: Any, server: Server
) -> None:
    page = login(browser, server, "bob@acme.test")
    list_url = f"/inbox/{server.seed['inbox']}/v/all_open/"
    page.goto(list_url)
    page.click(f"#row-{server.seed['conversations']['search']} .row-link")
    expect(page.locator("#thread h1")).to_have_text("E2E search")
    assert re.search(rf"/c/{server.seed['conversations']['search']}/$", page.url)
    # the screens are fetched again rather than snapshotted: no customer's text in the browser's storage
    stored = page.evaluate("JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
    assert "zebrafish" not in stored and "htmx-history-cache" not in stored
    page.go_back()
    expect(page).to_have_url(re.compile(re.escape(list_url) + "$"))
    expect(page.locator("#thread h1")).to_have_count(0)
    expect(page.locator(f"#row-{server.seed['conversations']['search']}")).to_be_visible()
    page.go_forward()
    expect(page.locator("#thread h1")).to_have_text("E2E search")
    expect(page.locator("#thread .entry.message").first).to_contain_text("zebrafish")


def test_a_view_opens_in_place_with_its_address_and_back_and_forward_return(browser: Any, server: Server) -> None:
    page = login(browser, server, "bob@acme.test")
    open_conversation(page, server, "search")
    page.evaluate("window.samePage = true")  # gone when a click loads a new page
    page.click("#nav a[data-view=unassigned]")
    expect(page.locator("#list .list-title")).to_have_text("Unassigned")
    expect(page).to_have_url(re.compile(r"/v/unassigned/$"))
    expect(page.locator("#thread")).to_have_count(0)
    expect(page.locator(".empty-thread")).to_be_visible()
    expect(page.locator("#nav a[aria-current=page]")).to_have_attribute("data-view", "unassigned")
    expect(page.locator("#search-form input[name=view]")).to_have_value("unassigned")  # a search there searches it
    assert "E2E search" not in page.title() and page.title().endswith("· Samtale"), page.title()
    assert page.evaluate("window.samePage === true")
    page.go_back()
    expect(page.locator("#thread h1")).to_have_text("E2E search")
    page.go_forward()
    expect(page.locator("#list .list-title")).to_have_text("Unassigned")
    expect(page.locator("#thread")).to_have_count(0)
    # should the view's part fail, the view opens as a page
    page.evaluate("window.samePage = true")
    page.route("**/v/mine/?part=main", lambda route: route.fulfill(status=500, body="boom"))
    page.click("#nav a[data-view=mine]")
    expect(page.locator("#list .list-title")).to_have_text("Assigned to me")
    expect(page).to_have_url(re.compile(r"/v/mine/$"))
    assert page.evaluate("window.samePage === undefined")


def test_a_live_redraw_of_the_list_keeps_the_keyboard_users_place(browser: Any, server: Server) -> None:
    page = login(browser, server, "bob@acme.test")
    page.goto(f"/inbox/{server.seed['inbox']}/v/all_open/")
    expect(page.locator("body[data-live='1']")).to_have_count(1)
    page.locator("body").click(position={"x": 700, "y": 400})
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(page.locator("#thread h1")).to_be_visible()
    place = page.evaluate("document.activeElement.closest('.row').id")
    page.evaluate("document.getElementById('list').dataset.before = '1'")  # the list as it is now
    server.api("POST", f"/api/v1/conversations/{server.seed['conversations']['search']}/comments",
               server.seed["tokens"]["agent"], {"text": "A note that redraws the list"})  # fmt: skip
    expect(page.locator("#list:not([data-before])")).to_have_count(1)  # redrawn live
    expect(page.locator(f"#{place}")).to_have_class(re.compile("cursor"))
    assert page.evaluate("document.activeElement.closest('.row') && document.activeElement.closest('.row').id") == place
    page.keyboard.press("j")  # and moves on from there
    assert page.evaluate("document.activeElement.closest('.row').id") != place


def test_leaving_the_search_box_does_not_search_again(browser: Any, server: Server) -> None:
    page = login(browser, server, "bob@acme.test")
    page.goto(f"/inbox/{server.seed['inbox']}/v/all_open/")
    searches: list[str] = []
    page.on("request", lambda r: searches.append(r.url) if "/list/?" in r.url and "q=zebrafish" in r.url else None)
    page.fill("#q", "zebrafish")
    expect(page.locator("#list .list-title")).to_have_text("Search results")
    expect(page.locator("#rows .row")).to_have_count(1)
    assert len(searches) == 1, searches
    page.locator(".save-view input[name=name]").focus()  # leaves the box: a "change", no new search
    page.locator(".save-view input[name=name]").type("Z")
    page.wait_for_timeout(400)  # longer than the typing pause after which the box searches
    assert len(searches) == 1, searches
    page.keyboard.press("Escape")
