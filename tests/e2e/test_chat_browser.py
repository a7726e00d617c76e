"""Website chat in real browsers: a customer's site on its own origin embeds the widget; a visitor and
an agent talk both ways with typing indicators; away and email; a chatflow that collects an email and
hands over; `kill -9` of the server loses and doubles nothing; the widget on one server process and
the agent on another (Redis between them)."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.chat import Site, allow, site
from tests.e2e.conftest import Server, _contexts, _watch_csp, login, prepare_database, start_server
from tests.e2e.test_realtime import REDIS_URL

pytestmark = pytest.mark.e2e
SHOTS = Path(os.environ.get("SAMTALE_SCREENSHOTS", "/tmp/samtale-shots"))


@pytest.fixture(scope="module")
def shop() -> Iterator[Site]:
    with site() as found:
        yield found


def visitor_page(browser: Any, url: str, locale: str = "en-GB") -> Any:
    context = browser.new_context(viewport={"width": 1200, "height": 800}, locale=locale)
    _contexts.append(context)
    page = context.new_page()
    _watch_csp(page)
    page.set_default_timeout(8000)
    page.goto(url)
    return page


def widget(page: Any) -> Any:
    """The widget's shadow root content (Playwright's CSS pierces open shadow roots)."""
    return page.locator("[data-samtale-chat]")


def open_widget(page: Any) -> None:
    widget(page).locator("button.launcher").click()
    widget(page).locator(".panel .sub", has_text=re.compile("here|away|her|til stede", re.I)).wait_for()


def send(page: Any, text: str) -> None:
    box = widget(page).locator("textarea")
    box.fill(text)
    box.press("Enter")


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def open_thread(agent: Any, conversation: int) -> None:
    """The agent opens the chat and its page's socket is live (events before that are not theirs)."""
    agent.goto(f"/c/{conversation}/")
    agent.locator("#chat-status").wait_for()
    agent.locator("body[data-live='1']").wait_for(state="attached")


def chat_conversation(server: Server, text: str) -> int:
    token = server.seed["tokens"]["agent"]
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        page = server.api("GET", f"/api/v1/inboxes/{server.seed['chat_inbox']}/conversations?view=all_open&channel=chat&q={text.split()[0]}&limit=20", token)  # fmt: skip
        for item in page["items"]:
            detail = server.api("GET", f"/api/v1/conversations/{item['id']}", token)
            if any(m["text"] == text for m in detail["messages"]):
                return int(item["id"])
        time.sleep(0.2)
    raise AssertionError(f"no chat with {text!r}")


def test_a_visitor_and_an_agent_chat_with_typing_indicators(browser: Any, server: Server, shop: Site) -> None:
    key = allow(server, server.seed["chat_channel"], [shop.origin])["key"]
    url = shop.embed("/products", f"{server.base_url}/widget/{key}.js")
    visitor = visitor_page(browser, url)
    open_widget(visitor)
    assert widget(visitor).locator(".greeting").inner_text() == "Hi! How can we help?"
    send(visitor, "Zebrastripes: do you ship to Bergen?")
    widget(visitor).locator(".msg.in:not(.pending)", has_text="Bergen").wait_for()
    conversation = chat_conversation(server, "Zebrastripes: do you ship to Bergen?")

    agent = login(browser, server, "bob@acme.test")
    open_thread(agent, conversation)
    assert "/products" in agent.locator("#visitor-page").get_attribute("href")
    assert "On the site now" in agent.locator("#visitor-presence").inner_text()
    # the visitor types: the agent sees it
    widget(visitor).locator("textarea").press_sequentially("Also to Tromsø", delay=20)
    agent.locator("#chat-typing").wait_for(state="visible")
    shot(agent, "chat-agent-sees-typing")
    # the agent types: the visitor sees it
    agent.locator("#reply-editor").click()
    agent.keyboard.type("Yes, we do", delay=20)
    widget(visitor).locator(".typing", has_text="Bob is typing").wait_for()
    shot(visitor, "chat-visitor-sees-typing")
    agent.locator("#send-reply").click()
    widget(visitor).locator(".msg.out", has_text="Yes, we do").wait_for()
    assert widget(visitor).locator(".typing").inner_text() == ""
    widget(visitor).locator("textarea").press("Enter")  # "Also to Tromsø"
    agent.locator(".entry.message", has_text="Also to Tromsø").wait_for()
    agent.locator("#chat-seen").wait_for()  # the visitor has the widget open: it has seen the reply
    shot(visitor, "chat-visitor")
    shot(agent, "chat-agent")
    # the visitor's text is text, never HTML, on both sides
    send(visitor, "<img src=x onerror=alert(1)> <b>bold?</b>")
    agent.locator(".entry.message", has_text="<b>bold?</b>").wait_for()
    assert agent.locator(".entry.message img[src='x']").count() == 0
    assert widget(visitor).locator(".msg img[src='x']").count() == 0
    # a reload keeps the chat: same visitor, whole history, once
    visitor.reload()
    widget(visitor).locator(".msg.out", has_text="Yes, we do").wait_for()
    assert widget(visitor).locator(".msg", has_text="Zebrastripes").count() == 1
    # "Email me this chat" says what will happen: a link first, to that one address
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept("zebra@example.org")

    visitor.once("dialog", answer)
    widget(visitor).locator("button.transcript").click()
    widget(visitor).locator(".note", has_text="open the link we sent").wait_for()
    assert "we first send a link" in asked[0] and "one address only" in asked[0]


def test_keyboard_only_and_norwegian(browser: Any, server: Server, shop: Site) -> None:
    key = allow(server, server.seed["chat_channel"], [shop.origin])["key"]
    url = shop.embed("/nb", f"{server.base_url}/widget/{key}.js", lang="nb")
    visitor = visitor_page(browser, url, locale="nb-NO")
    launcher = widget(visitor).locator("button.launcher")
    assert launcher.get_attribute("aria-label") == "Chat med oss"
    launcher.focus()
    visitor.keyboard.press("Enter")  # opens, focus in the message box
    widget(visitor).locator("textarea:focus").wait_for()
    assert widget(visitor).locator(".greeting").inner_text() == "Hei! Hva kan vi hjelpe deg med?"
    visitor.keyboard.type("Hei fra tastaturet")
    visitor.keyboard.press("Enter")
    widget(visitor).locator(".msg.in:not(.pending)", has_text="Hei fra tastaturet").wait_for()
    visitor.keyboard.press("Escape")  # closes, focus back on the launcher
    widget(visitor).locator(".panel").wait_for(state="hidden")
    widget(visitor).locator("button.launcher:focus").wait_for()


def test_the_widget_asks_for_feedback_when_the_chat_is_closed(browser: Any, server: Server, shop: Site) -> None:
    """In Norwegian: the agent closes the chat, the widget shows the inbox's survey, the visitor
    chooses a number and comments, and the answer is the conversation's (the API's figures)."""
    admin, agent = server.seed["tokens"]["admin"], server.seed["tokens"]["agent"]
    inbox = server.seed["chat_inbox"]
    server.api("PUT", f"/api/v1/inboxes/{inbox}/survey", admin,
               {"enabled": True, "delay_minutes": 0, "question_nb": "Hvordan var chatten?"})  # fmt: skip
    try:
        key = allow(server, server.seed["chat_channel"], [shop.origin])["key"]
        visitor = visitor_page(browser, shop.embed("/survey", f"{server.base_url}/widget/{key}.js", lang="nb"),
                               locale="nb-NO")  # fmt: skip
        open_widget(visitor)
        send(visitor, "Vombat spørsmål om levering")
        widget(visitor).locator(".msg.in:not(.pending)", has_text="Vombat").wait_for()
        conversation = chat_conversation(server, "Vombat spørsmål om levering")
        server.api("POST", f"/api/v1/conversations/{conversation}/reply", agent, {"text": "Den kommer i morgen."})
        widget(visitor).locator(".msg.out", has_text="Den kommer i morgen").wait_for()
        server.api("POST", f"/api/v1/conversations/{conversation}/close", agent)
        survey = widget(visitor).locator(".survey")
        survey.wait_for(timeout=15000)
        assert survey.locator(".q").inner_text() == "Hvordan var chatten?"
        assert "1 er svært dårlig" in survey.inner_text()
        survey.locator(".send").click()  # nothing chosen yet: told so, nothing sent
        widget(visitor).locator(".error", has_text="Velg et tall fra 1 til 5.").wait_for()
        survey.locator("button[data-score='2']").click()
        assert widget(visitor).locator(".error").inner_text() == ""
        assert survey.locator("button[data-score='2']").get_attribute("aria-pressed") == "true"
        survey.locator("textarea.comment").fill("Litt treg")
        shot(visitor, "chat-survey")
        survey.locator(".send").click()
        widget(visitor).locator(".note.survey-thanks", has_text="Takk for svaret ditt").wait_for()
        assert widget(visitor).locator(".survey").count() == 0
        answers = server.api("GET", "/api/v1/feedback", agent)["items"]
        assert [(a["score"], a["comment"]) for a in answers if a["conversation_id"] == conversation] == [
            (2, "Litt treg")
        ]
    finally:
        server.api("PUT", f"/api/v1/inboxes/{inbox}/survey", admin, {"enabled": False})


def test_nobody_available_the_widget_says_so_and_asks_for_an_email(browser: Any, server: Server, shop: Site) -> None:
    key = allow(server, server.seed["chat_channel"], [shop.origin])["key"]
    users = server.seed["users"]
    try:
        for name in ("admin", "agent", "agent2", "noperm"):
            server.api("POST", f"/api/v1/users/{users[name]}/status", server.seed["tokens"][name], {"action": "away"})
        visitor = visitor_page(browser, shop.embed("/away", f"{server.base_url}/widget/{key}.js"))
        open_widget(visitor)
        away = widget(visitor).locator(".away")
        away.wait_for()
        assert "We are away right now" in away.inner_text()
        shot(visitor, "chat-away")
        away.locator("input[type=email]").fill("kari@example.com")
        away.locator("input[type=text]").fill("Kari")
        away.locator("button").click()
        widget(visitor).locator(".note", has_text="kari@example.com").wait_for()
        assert widget(visitor).locator(".away").is_hidden()
        send(visitor, "Quokka question for tomorrow")
        widget(visitor).locator(".msg.in:not(.pending)", has_text="Quokka").wait_for()
        conversation = chat_conversation(server, "Quokka question for tomorrow")
        detail = server.api("GET", f"/api/v1/conversations/{conversation}", server.seed["tokens"]["agent"])
        assert detail["owner_id"] is None  # arrives anyway, routed when someone is back
    finally:
        for name in ("admin", "agent", "agent2", "noperm"):
            server.api(
                "POST", f"/api/v1/users/{users[name]}/status", server.seed["tokens"][name], {"action": "available"}
            )


def test_a_chatflow_collects_an_email_and_hands_over(browser: Any, server: Server, shop: Site) -> None:
    key = allow(server, server.seed["chat_channel"], [shop.origin])["key"]
    admin = server.seed["tokens"]["admin"]
    flow = server.api("POST", f"/api/v1/channels/{server.seed['chat_channel']}/chatflows", admin, {
        "name": "Helper bot", "url_contains": "/support",
        "steps": [
            {"id": "topic", "type": "question", "text": "What can we help with?", "buttons": ["Orders", "Other"]},
            {"id": "mail", "type": "question", "text": "Which email did you order with?", "save_to": "email"},
            {"id": "team", "type": "handover", "text": "Thanks! A person takes it from here."},
        ],
    })  # fmt: skip
    try:
        visitor = visitor_page(browser, shop.embed("/support", f"{server.base_url}/widget/{key}.js"))
        open_widget(visitor)
        widget(visitor).locator(".msg.out", has_text="What can we help with?").wait_for()
        widget(visitor).locator(".choices button", has_text="Orders").click()
        widget(visitor).locator(".msg.out", has_text="Which email did you order with?").wait_for()
        send(visitor, "ola.nordmann@example.com")
        widget(visitor).locator(".msg.out", has_text="A person takes it from here").wait_for()
        shot(visitor, "chat-chatflow")
        conversation = chat_conversation(server, "ola.nordmann@example.com")
        detail = server.api("GET", f"/api/v1/conversations/{conversation}", server.seed["tokens"]["agent"])
        assert detail["bot"] == ""  # handed over
        assert [m["text"] for m in detail["messages"]][:3] == [
            "What can we help with?",
            "Orders",
            "Which email did you order with?",
        ]
        assert widget(visitor).locator(".msg", has_text="What can we help with?").count() == 1  # stored, not doubled
        shown = widget(visitor).locator(".msg").all_inner_texts()
        order = [next(i for i, t in enumerate(shown) if needle in t) for needle in
                 ("What can we help with?", "Orders", "Which email", "ola.nordmann", "A person takes it")]  # fmt: skip
        assert order == sorted(order), shown  # in the order written, as the agent sees it
    finally:
        server.api("DELETE", f"/api/v1/channels/{server.seed['chat_channel']}/chatflows/{flow['id']}", admin)


def test_the_settings_page_previews_the_widget_live(browser: Any, server: Server) -> None:
    page = login(browser, server, "alice@acme.test")
    page.goto(f"/settings/channels/{server.seed['chat_channel']}/chat/")
    preview = page.locator("#chat-preview [data-samtale-chat]")
    preview.locator(".panel").wait_for()
    page.locator("#id_greeting_en").fill("Welcome to the preview")
    preview.locator(".greeting", has_text="Welcome to the preview").wait_for()
    page.locator("#id_color").evaluate(
        "(el) => { el.value = '#aa2200'; el.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    color = preview.locator("button.launcher").evaluate("(el) => getComputedStyle(el).backgroundColor")
    assert color == "rgb(170, 34, 0)"
    snippet = page.locator("#embed-snippet").input_value()
    assert re.fullmatch(r'<script src="http://[^"]+/widget/[\w-]+\.js" async></script>', snippet)
    shot(page, "chat-settings")


@pytest.fixture
def lone_server(tmp_path: Path) -> Iterator[tuple[Server, dict[str, str], Path]]:
    env, seed = prepare_database(tmp_path, f"chatkill_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")
    server = start_server(env, tmp_path / "server.log")
    server.seed = seed
    yield server, env, tmp_path
    if server.process.poll() is None:
        server.stop()


def test_kill_9_and_restart_loses_and_doubles_no_message(
    browser: Any, lone_server: tuple[Server, dict[str, str], Path], shop: Site
) -> None:
    server, env, tmp = lone_server
    key = allow(server, server.seed["chat_channel"], [shop.origin])["key"]
    visitor = visitor_page(browser, shop.embed("/kill", f"{server.base_url}/widget/{key}.js"))
    open_widget(visitor)
    for n in range(3):
        send(visitor, f"before crash {n}")
        widget(visitor).locator(".msg.in:not(.pending)", has_text=f"before crash {n}").wait_for()
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(10)
    for n in range(2):  # typed while the server is gone: kept in the widget's outbox
        send(visitor, f"while down {n}")
    widget(visitor).locator(".msg.pending", has_text="while down 1").wait_for()
    port = int(server.base_url.rsplit(":", 1)[1])
    restarted = start_server(env, tmp / "server2.log", port=port)
    restarted.seed = server.seed
    try:
        for n in range(2):
            widget(visitor).locator(".msg.in:not(.pending)", has_text=f"while down {n}").wait_for(timeout=30000)
        conversation = chat_conversation(restarted, "before crash 0")
        texts = [m["text"] for m in restarted.api("GET", f"/api/v1/conversations/{conversation}",
                                                   restarted.seed["tokens"]["agent"])["messages"]]  # fmt: skip
        assert texts == [*[f"before crash {n}" for n in range(3)], *[f"while down {n}" for n in range(2)]]
        visitor.reload()
        widget(visitor).locator(".msg", has_text="while down 1").wait_for()
        assert widget(visitor).locator(".msg").count() == 5
    finally:
        restarted.stop()


@pytest.fixture(scope="module")
def chat_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    """Two `samtale serve` processes on one database with Redis between them."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    client.ping()  # Redis is required: no Redis is a failure, never a skip
    client.close()
    tmp = tmp_path_factory.mktemp("chatpair")
    env, seed = prepare_database(tmp, f"chatpair_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}",
                                 {"SAMTALE_REDIS_URL": REDIS_URL})  # fmt: skip
    a, b = start_server(env, tmp / "a.log"), start_server(env, tmp / "b.log")
    a.seed = b.seed = seed
    yield a, b
    a.stop()
    b.stop()


def test_the_widget_on_one_process_and_the_agent_on_another(
    browser: Any, chat_pair: tuple[Server, Server], shop: Site
) -> None:
    widget_server, agent_server = chat_pair
    key = allow(widget_server, widget_server.seed["chat_channel"], [shop.origin])["key"]
    visitor = visitor_page(browser, shop.embed("/pair", f"{widget_server.base_url}/widget/{key}.js"))
    open_widget(visitor)
    send(visitor, "Narwhal across processes")
    widget(visitor).locator(".msg.in:not(.pending)", has_text="Narwhal").wait_for()
    conversation = chat_conversation(agent_server, "Narwhal across processes")
    agent = login(browser, agent_server, "bob@acme.test")
    open_thread(agent, conversation)
    widget(visitor).locator("textarea").press_sequentially("typing over Redis", delay=20)
    agent.locator("#chat-typing").wait_for(state="visible")
    agent.locator("#reply-editor").click()
    agent.keyboard.type("Reply over Redis", delay=10)
    widget(visitor).locator(".typing", has_text="Bob is typing").wait_for()
    agent.locator("#send-reply").click()
    widget(visitor).locator(".msg.out", has_text="Reply over Redis").wait_for()
    widget(visitor).locator("textarea").press("Enter")
    agent.locator(".entry.message", has_text="typing over Redis").wait_for()
