"""Fuzzing the screens: every URL of the web app, with hostile path values, query parameters and
form fields (huge ids, another account's ids, non-numbers, year 9999, control characters, very
long strings), as a super admin and as a user without permissions. Nothing may answer 5xx."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samtale.web import urls as web_urls
from tests.conftest import World

HOSTILE = [
    "", "0", "-1", "1", "2", "99999999999999999999999999", "9223372036854775808", "abc", "1e309", "0x10",
    "9999-12-31", "0001-01-01", "2026-13-45", "25:61", "\x00", "../../etc/passwd", "<script>alert(1)</script>",
    "x" * 5000, "custom-99999999999999999999", "bot:", "me", "none", "Europe/Oslo", "localtime", "true",
    "http://127.0.0.1:22/", "http://" + "a" * 300 + ".example/x.ics", "Re: \r\nBcc: x@evil.test", "ÆØÅ", " ",
]  # fmt: skip
FIELDS = [
    "q", "status", "channel", "contact", "assignee", "date_from", "date_to", "sort", "cursor", "view", "open",
    "part", "inline", "text", "html", "owner", "ids", "action", "to", "subject", "note", "id", "capacity", "users",
    "teams", "members", "url", "keywords", "name", "email", "password", "role", "permissions", "seat",
    "time_zone", "weekday", "start", "end", "start_date", "start_time", "end_date", "end_time", "title", "preset",
    "until", "next", "language", "method", "enabled", "reroute", "kind", "address", "smtp_host", "smtp_port",
    "imap_host", "imap_port", "smtp_password", "imap_password", "inbox", "team", "clear", "shared",
]  # fmt: skip
value = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40))
form = st.dictionaries(st.sampled_from(FIELDS), st.one_of(value, st.lists(value, max_size=3)), max_size=8)


def _patterns(patterns: Any = None, prefix: str = "") -> list[str]:
    """Every screen's URL pattern, those of channel packages (included) too; sign-in left out."""
    out = []
    for p in web_urls.urlpatterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            out += _patterns(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern) and "login" not in str(p.pattern):
            out.append(prefix + str(p.pattern))
    return out


def _fill(pattern: str, values: dict[str, str]) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m.group(1), "1"), pattern)


segment = st.one_of(
    st.sampled_from(["1", "2", "3", "999999999999999999", "0", "unassigned", "all_open", "close", "custom-1"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_.0123456789", min_size=1, max_size=30),
)


@pytest.fixture
def real_ids(world: World) -> list[str]:
    """Ids that exist, so the screens get past their 404s. Read once per test, before Hypothesis
    runs its examples: what the examples do (delete a view, add a conversation) must not change
    what the strategy draws from."""
    return [str(pk) for pk in _real_ids(world)]


def _real_ids(world: World) -> list[Any]:
    from samtale.inbox import actions
    from samtale.inbox.models import Conversation, CustomView, Message
    from samtale.inbox.queries import Filters

    if not CustomView.objects.filter(inbox=world.support).exists():
        world.inbound("Target", text="a message to act on")
        actions.create_custom_view(
            world.support, acting_user=world.admin, name="Saved", filters=Filters(q="target"), shared=True
        )
    view = CustomView.objects.filter(inbox=world.support).first()
    assert view is not None
    return [
        world.support.pk,
        world.email.pk,
        world.agent.pk,
        view.pk,
        f"custom-{view.pk}",
        *Conversation.objects.filter(inbox=world.support).values_list("pk", flat=True),
        *Message.objects.filter(conversation__inbox=world.support).values_list("pk", flat=True),
    ]


@pytest.mark.parametrize("pattern", _patterns())
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_no_screen_answers_a_server_error(pattern: str, data: Any, world: World, real_ids: list[str]) -> None:
    names = re.findall(r"<(?:\w+:)?(\w+)>", pattern)
    url = _fill(pattern, {n: data.draw(st.one_of(segment, st.sampled_from(real_ids)), label=n) for n in names})
    who = data.draw(st.sampled_from([world.admin, world.noperm, world.outsider]), label="user")
    client = Client(raise_request_exception=False)
    client.force_login(who)
    query = data.draw(form, label="query")
    body = data.draw(form, label="form")
    for method, response in (
        ("GET", lambda: client.get(url, query)),
        (
            "GET cleared",
            lambda: client.get(url, dict.fromkeys(FIELDS, "")),
        ),  # a form submitted with every field emptied
        ("POST", lambda: client.post(url, body)),
        ("POST htmx", lambda: client.post(url, body, headers={"HX-Request": "true"})),
    ):
        status = response().status_code
        assert status < 500, (
            f"{method} {url} as {who.email} with {query if method.startswith('GET') else body} → {status}"
        )


def test_static_paths_that_escape_or_carry_nul_bytes_are_404() -> None:
    from samtale.asgi import application

    async def get(path: str) -> int:
        from asgiref.testing import ApplicationCommunicator

        scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode("latin-1", "replace"),
                 "query_string": b"", "headers": [(b"host", b"127.0.0.1")], "http_version": "1.1",
                 "scheme": "http", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000)}  # fmt: skip
        app = ApplicationCommunicator(application, scope)
        await app.send_input({"type": "http.request", "body": b""})
        start = await app.receive_output(10)
        await app.wait(10)
        return int(start["status"])

    def status(path: str) -> int:  # on a thread of its own: an earlier test may leave a loop running here
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, get(path)).result()

    for path in (
        "/static/../settings.py",
        "/static/web/../../../../etc/passwd",
        "/static/web/app.css\x00.txt",
        "/static/%2e%2e/x",
    ):
        assert status(path) == 404, path
    assert status("/static/web/app.css") == 200


def test_every_screen_with_real_objects_and_emptied_forms(world: World) -> None:
    """Deterministic companion of the fuzz: every URL filled with objects that exist (a saved
    custom view, a conversation, a message, a team…), opened plain and with every form field
    emptied, and posted empty — as a super admin, who gets past every permission check."""
    import itertools

    from samtale.accounts import actions as account_actions
    from samtale.inbox.models import Conversation, CustomView, Message

    _real_ids(world)
    view = CustomView.objects.get(inbox=world.support)
    conversation = Conversation.objects.filter(inbox=world.support).first()
    message = Message.objects.filter(conversation=conversation).first()
    team = account_actions.create_team(world.account, acting_user=world.admin, name="Fuzzers", members=[world.agent])
    token, _clear = account_actions.create_api_token(world.admin, acting_user=world.admin, name="fuzz")
    assert conversation is not None and message is not None
    values = {
        "inbox_id": [world.support.pk], "view": ["unassigned", "trash", f"custom-{view.pk}"],
        "conversation_id": [conversation.pk], "message_id": [message.pk], "user_id": [world.agent.pk],
        "channel_id": [world.email.pk], "view_id": [view.pk], "team_id": [team.pk], "token_id": [token.pk],
        "attachment_id": [1], "raw_id": [1], "action": ["close", "reopen", "hide", "show", "assign", "calendar", "x"],
        "token": ["x"],
    }  # fmt: skip
    client = Client(raise_request_exception=False)
    client.force_login(world.admin)
    failures = []
    for pattern in _patterns():
        names = re.findall(r"<(?:\w+:)?(\w+)>", pattern)
        for combo in itertools.product(*(values.get(n, ["1"]) for n in names)):
            url = _fill(pattern, {n: str(v) for n, v in zip(names, combo, strict=True)})
            if url.endswith("/logout/"):
                continue
            for method, call in (
                ("GET", lambda: client.get(url)),  # noqa: B023 -- called at once, in this iteration
                ("GET emptied", lambda: client.get(url, dict.fromkeys(FIELDS, ""))),  # noqa: B023
                ("POST empty", lambda: client.post(url, {})),  # noqa: B023
            ):
                status = call().status_code
                if status >= 500:
                    failures.append(f"{method} {url} → {status}")
    assert not failures, failures
