"""The widget's WebSocket against a real server, with real WebSocket clients: the protocol, nothing
lost or doubled, hostile frames, other sites, isolation between widgets."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from typing import Any

import pytest
import websockets

from tests.e2e.chat import Visitor, allow
from tests.e2e.conftest import Server
from tests.e2e.test_realtime import run, session_cookie

pytestmark = pytest.mark.e2e
SITE = "http://shop.test:8080"


@pytest.fixture(scope="module")
def key(server: Server) -> str:
    return str(allow(server, server.seed["chat_channel"], [SITE])["key"])


def messages(server: Server, conversation_id: int) -> list[dict[str, Any]]:
    detail = server.api("GET", f"/api/v1/conversations/{conversation_id}", server.seed["tokens"]["agent"])
    return list(detail["messages"])


def conversation_of(server: Server, message_id: int) -> int:
    """The conversation holding a message (found through the agent's API, like an agent would)."""
    page = server.api("GET", f"/api/v1/inboxes/{server.seed['chat_inbox']}/conversations?view=all_open&channel=chat&limit=100",
                      server.seed["tokens"]["agent"])  # fmt: skip
    for item in page["items"]:
        if any(m["id"] == message_id for m in messages(server, item["id"])):
            return int(item["id"])
    raise AssertionError(f"message {message_id} is in no open chat")


def test_a_visitor_talks_with_an_agent_both_ways(server: Server, key: str) -> None:
    cookie = session_cookie(server, "bob@acme.test")

    async def scenario() -> None:
        agent_url = server.base_url.replace("http://", "ws://") + "/ws/agent/"
        async with (
            Visitor(server, key, SITE) as visitor,
            websockets.connect(agent_url, additional_headers={"Cookie": cookie, "Origin": server.base_url}) as agent,
        ):
            assert json.loads(await agent.recv())["event"] == "hello"
            welcome = await visitor.hello()
            assert welcome["messages"] == [] and welcome["token"] == "" and welcome["available"] is True
            ack = await visitor.say("Hei! Har dere den i blått?")
            assert ack["id"] > 0 and ack["token"] and ack["message"]["text"] == "Hei! Har dere den i blått?"
            conversation = await asyncio.to_thread(conversation_of, server, ack["id"])
            # the agent's socket hears of it
            while True:
                event = json.loads(await asyncio.wait_for(agent.recv(), 5))
                if event.get("event") == "conversation.changed" and event.get("conversation_id") == conversation:
                    break
            # the visitor types: the agent sees it; the agent types: the visitor sees it
            await visitor.send({"type": "typing", "on": True})
            while True:
                event = json.loads(await asyncio.wait_for(agent.recv(), 5))
                if event.get("event") == "chat.typing":
                    assert event["conversation_id"] == conversation and event["on"] is True
                    break
            await agent.send(json.dumps({"type": "typing", "conversation": conversation, "on": True}))
            typing = await visitor.until("typing")
            assert typing["on"] is True and typing["name"] == "Bob"
            reply = await asyncio.to_thread(
                server.api, "POST", f"/api/v1/conversations/{conversation}/reply", server.seed["tokens"]["agent"],
                {"text": "Ja, i alle størrelser."},
            )  # fmt: skip
            got = await visitor.until("message")
            assert got["message"]["id"] == reply["id"] and got["message"]["dir"] == "out"
            assert got["message"]["text"] == "Ja, i alle størrelser." and got["message"]["author"] == "Bob"
            # read state: the visitor has seen it, the agent's thread says so
            await visitor.send({"type": "read", "up_to": reply["id"]})
            while True:
                event = json.loads(await asyncio.wait_for(agent.recv(), 5))
                if event.get("event") == "chat.read":
                    assert event["up_to"] == reply["id"]
                    break
            await agent.send(json.dumps({"type": "seen", "conversation": conversation, "up_to": ack["id"]}))
            assert (await visitor.until("read"))["up_to"] == ack["id"]

    run(scenario())


def test_a_resent_message_is_stored_once_and_a_reconnect_gets_what_it_missed(server: Server, key: str) -> None:
    async def scenario() -> None:
        async with Visitor(server, key, SITE) as first:
            await first.hello()
            ack = await first.say("one", client_id="c-one")
            token = first.token
        # the team answers while the visitor is between pages
        conversation = await asyncio.to_thread(conversation_of, server, ack["id"])
        await asyncio.to_thread(
            server.api, "POST", f"/api/v1/conversations/{conversation}/reply", server.seed["tokens"]["agent"],
            {"text": "answered while you were away"},
        )  # fmt: skip
        async with Visitor(server, key, SITE, token=token) as again:
            welcome = await again.hello(after=ack["id"])
            assert [m["text"] for m in welcome["messages"]] == ["answered while you were away"]
            repeat = await again.say("one", client_id="c-one")  # not acknowledged the first time, say
            assert repeat["id"] == ack["id"]
            full = await again.hello()
            assert [m["text"] for m in full["messages"]] == ["one", "answered while you were away"]
        texts = [m["text"] for m in await asyncio.to_thread(messages, server, conversation)]
        assert texts.count("one") == 1

    run(scenario())


def test_two_tabs_of_one_visitor_see_each_others_messages(server: Server, key: str) -> None:
    async def scenario() -> None:
        async with Visitor(server, key, SITE) as tab1:
            await tab1.hello()
            first = await tab1.say("from tab one")
            # the first message's socket listened for the new visitor before it was stored: its own echo
            own = await tab1.until("message")
            assert own["message"]["id"] == first["id"]
            async with Visitor(server, key, SITE, token=tab1.token) as tab2:
                await tab2.hello()
                ack = await tab2.say("from tab two")
                echo = await tab1.until("message")
                assert echo["message"]["id"] == ack["id"] and echo["message"]["client_id"] == ack["client_id"]

    run(scenario())


@pytest.mark.parametrize(
    ("frame", "code"),
    [("not json", "bad_frame"), ('["a list"]', "bad_frame"), ('{"type": "launch_missiles"}', "bad_frame"),
     ('{"type": "message", "client_id": "x", "text": "before hello"}', "bad_frame"), ("x" * 20000, "bad_frame"),
     ("[" * 5000 + "]" * 5000, "bad_frame")],
)  # fmt: skip
def test_a_malformed_or_oversize_frame_gets_a_clear_error_and_the_socket_closes(
    server: Server, key: str, frame: str, code: str
) -> None:
    async def scenario() -> None:
        async with Visitor(server, key, SITE) as visitor:
            await visitor.ws.send(frame)
            error = await visitor.recv()
            assert error["type"] == "error" and error["code"] == code and error["message"]
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(visitor.ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400

    run(scenario())


def test_an_invalid_message_is_refused_but_the_socket_stays(server: Server, key: str) -> None:
    async def scenario() -> None:
        async with Visitor(server, key, SITE) as visitor:
            await visitor.hello()
            await visitor.send({"type": "message", "client_id": "ok-1", "text": "x" * 6000})
            error = await visitor.until("error")
            assert error["code"] == "invalid" and error["client_id"] == "ok-1" and "too long" in error["message"]
            assert (await visitor.say("short"))["id"] > 0
        async with Visitor(server, key, SITE) as norwegian:
            await norwegian.hello(lang="nb")
            await norwegian.send({"type": "message", "client_id": "nb-1", "text": "x" * 6000})
            error = await norwegian.until("error")
            assert "for lang" in error["message"]  # told in the visitor's language

    run(scenario())


def test_numbers_past_what_an_id_can_be_get_a_clear_error_and_the_socket_stays(server: Server, key: str) -> None:
    """(No message is stored: a new chat would push the seeded conversations off the shared
    server's first page for the other browser tests.)"""

    async def scenario() -> None:
        async with Visitor(server, key, SITE) as visitor:
            await visitor.send({"type": "hello", "after": 10**30})
            error = await visitor.until("error")
            assert error["code"] == "invalid" and "whole numbers from 0 to" in error["message"]
            await visitor.hello()
            for frame in (
                {"type": "read", "up_to": 10**30},
                {"type": "read", "up_to": 2**63},
                {"type": "read", "up_to": -1},
                {"type": "read", "up_to": 1.5},
                {"type": "message", "client_id": "n-1", "text": "x", "flow": 2**64},
            ):
                await visitor.send(frame)
                error = await visitor.until("error")
                assert error["code"] == "invalid" and str(2**63 - 1) in error["message"], (frame, error)
            await visitor.send({"type": "read", "up_to": 2**63 - 1})  # the largest id is a number like any other
            await visitor.send({"type": "ping"})
            assert (await visitor.until("pong"))["type"] == "pong"  # no server_error before it, the socket open
            assert not [f for f in visitor.inbox if f.get("code") == "server_error"], visitor.inbox

    run(scenario())


def test_twelve_visitors_from_one_address_cannot_mail_twelve_strangers(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A new visitor per socket, each asking for its chat to another outside address: only a link
    goes (nothing a visitor wrote), and only five an hour from one client address, whichever of
    the server's two web processes each socket reached. (A server of its own: the address's
    allowance is spent here, and other tests' visitors come from the same address.) Each visitor's
    own send limit is 3 a minute there: twelve new visitors' first messages are twelve visitors'
    (they once shared one key, and the fourth new visitor of a minute was told to slow down)."""
    import os

    from tests.e2e.conftest import prepare_database, start_server

    tmp = tmp_path_factory.mktemp("transcripts")
    env, seed = prepare_database(tmp, f"transcripts_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")
    env["SAMTALE_CHAT_SEND_RATE"] = "3/m"
    server = start_server(env, tmp / "server.log", "--web-processes", "2", "--no-smtp")
    server.seed = seed
    try:
        key = str(allow(server, seed["chat_channel"], [SITE])["key"])
        _twelve_visitors(server, key)
    finally:
        server.stop()


def _twelve_visitors(server: Server, key: str) -> None:

    async def one(n: int) -> dict[str, Any]:
        async with Visitor(server, key, SITE) as visitor:
            await visitor.hello()
            await visitor.say("Cheap watches at http://evil.example/")
            await visitor.send({"type": "transcript", "email": f"stranger{n}@example.org"})
            while True:
                frame = await visitor.recv()
                if frame["type"] in ("transcript_confirm", "transcript_sent", "error"):
                    return frame

    async def scenario() -> list[dict[str, Any]]:
        return [await one(n) for n in range(12)]

    import time

    if (to_next_hour := 3600 - time.time() % 3600) < 60:  # (the limit's window is the clock hour)
        time.sleep(to_next_hour + 1)
    answers = run(scenario())
    kinds = [a["type"] if a["type"] != "error" else a["code"] for a in answers]
    assert kinds == ["transcript_confirm"] * 5 + ["rate_limited"] * 7, kinds


def test_another_site_and_an_unknown_widget_are_refused(server: Server, key: str) -> None:
    async def attempt(path_key: str, origin: str) -> tuple[dict[str, Any], int]:
        async with Visitor(server, path_key, origin) as visitor:
            error = await visitor.recv()
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(visitor.ws.recv(), 5)
            assert closed.value.rcvd is not None
            return error, closed.value.rcvd.code

    error, code = run(attempt(key, "https://evil.example"))
    assert error["code"] == "origin_refused" and code == 4403
    error, code = run(attempt("no-such-widget", SITE))
    assert error["code"] == "unknown_widget" and code == 4404


def test_sending_too_fast_is_refused_without_losing_the_socket(server: Server, key: str) -> None:
    async def scenario() -> None:
        async with Visitor(server, key, SITE) as visitor:
            await visitor.hello()
            refused = 0
            for n in range(45):  # the visitor limit is 30 a minute
                await visitor.send({"type": "message", "client_id": f"burst-{n}", "text": f"burst {n}"})
            for _n in range(45):
                frame = await visitor.recv()
                while frame["type"] not in ("ack", "error"):
                    frame = await visitor.recv()
                refused += frame["type"] == "error" and frame["code"] == "rate_limited"
            assert refused >= 10
            await visitor.send({"type": "ping"})
            assert (await visitor.until("pong"))["type"] == "pong"

    run(scenario())


def test_a_token_of_one_widget_reads_nothing_through_another(server: Server, key: str) -> None:
    token = server.seed["tokens"]["admin"]
    inbox = server.api("POST", "/api/v1/inboxes", token, {"name": "Second shop"})
    other = server.api("POST", f"/api/v1/inboxes/{inbox['id']}/channels", token, {"kind": "chat", "name": "Shop 2"})
    other_key = allow(server, other["id"], [SITE])["key"]

    async def scenario() -> None:
        async with Visitor(server, key, SITE) as visitor:
            await visitor.hello()
            await visitor.say("secret order number 4711")
            stolen = visitor.token
        async with Visitor(server, other_key, SITE, token=stolen) as thief:
            welcome = await thief.hello()
            assert welcome["messages"] == [] and welcome["token"] == "" and welcome["chat"] is False
            assert "4711" not in json.dumps(thief.inbox)

    run(scenario())
    # the widget script says nothing about visitors, and has no secret in it
    with urllib.request.urlopen(server.base_url + f"/widget/{key}.js", timeout=5) as response:
        body = response.read().decode()
    assert "4711" not in body and "identity_secret" not in body


def test_a_closed_chat_offers_its_survey_in_the_widget(server: Server, key: str) -> None:
    """The survey arrives live when the chat is closed, again in `welcome` when the visitor comes
    back, is answered by a frame (another visitor cannot use its token) and counts in the API."""
    admin, agent = server.seed["tokens"]["admin"], server.seed["tokens"]["agent"]
    inbox = server.seed["chat_inbox"]
    server.api("PUT", f"/api/v1/inboxes/{inbox}/survey", admin, {"enabled": True, "delay_minutes": 0,
               "second_en": "What could we do better?"})  # fmt: skip
    try:

        async def scenario() -> None:
            async with Visitor(server, key, SITE) as visitor:
                await visitor.hello()
                ack = await visitor.say("Can I change my delivery address?")
                conversation = await asyncio.to_thread(conversation_of, server, ack["id"])
                await asyncio.to_thread(server.api, "POST", f"/api/v1/conversations/{conversation}/reply", agent,
                                        {"text": "Yes, it is changed now."})  # fmt: skip
                await visitor.until("message")
                await asyncio.to_thread(server.api, "POST", f"/api/v1/conversations/{conversation}/close", agent)
                await visitor.until("ended")
                offered = (await visitor.until("survey", timeout=15))["survey"]
                async with Visitor(server, key, SITE, token=visitor.token) as other_tab:  # unanswered: on return too
                    assert (await other_tab.hello())["survey"]["token"] == offered["token"]
                assert offered["question"] == "How would you rate the help you got?"
                assert offered["second_question"] == "What could we do better?" and offered["score"] is None
                async with Visitor(server, key, SITE) as stranger:  # someone else with the token
                    await stranger.hello()
                    await stranger.send({"type": "feedback", "token": offered["token"], "score": 1})
                    refused = await stranger.until("error")
                    assert refused["code"] == "invalid" and "not valid" in refused["message"]
                await visitor.send({"type": "feedback", "token": offered["token"], "score": 7})
                assert "1 to 5" in (await visitor.until("error"))["message"]
                await visitor.send({"type": "feedback", "token": offered["token"], "score": 4, "comment": "Fast!",
                                    "second_answer": "Nothing"})  # fmt: skip
                assert (await visitor.until("feedback_saved"))["score"] == 4
                token = visitor.token
            async with Visitor(server, key, SITE, token=token) as back:  # comes back: answered, not asked again
                welcome = await back.hello()
                assert welcome["survey"] is None
            answers = await asyncio.to_thread(server.api, "GET", "/api/v1/feedback", agent)
            mine = [a for a in answers["items"] if a["conversation_id"] == conversation]
            assert [(a["score"], a["comment"], a["channel_kind"]) for a in mine] == [(4, "Fast!", "chat")]

        run(scenario())
    finally:
        server.api("PUT", f"/api/v1/inboxes/{inbox}/survey", admin, {"enabled": False})
