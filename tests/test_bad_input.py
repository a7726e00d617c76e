"""Every kind of bad input named in the hardening review is a clear 4xx, never a 500: huge ids,
dates in year 9999, cursors that are not ours, capacities beyond a bigint, non-numeric form ids,
a saved view without any filter, a host label of 300 characters, `..` in static paths (see
test_fuzz_web), CR/LF in a subject."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import World

HUGE = "99999999999999999999999999"
BIGINT = str(2**63)


def api(world: World, method: str, path: str, **kw: Any) -> Any:
    token = world.token(world.admin)
    return getattr(Client(raise_request_exception=False), method)(
        f"/api/v1{path}", content_type="application/json", headers={"Authorization": f"Bearer {token}"}, **kw
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/inboxes/{inbox}/conversations?contact=" + HUGE, None),
        ("get", "/inboxes/{inbox}/conversations?assignee=" + HUGE, None),
        ("get", "/inboxes/{inbox}/conversations?date_to=9999-12-31", None),
        ("get", "/inboxes/{inbox}/conversations?date_from=0001-01-01", None),
        ("get", "/inboxes/{inbox}/conversations?cursor=OTk5OS0xMi0zMXwxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMw", None),
        ("get", "/inboxes/{inbox}/conversations?cursor=" + "A" * 5000, None),
        ("get", "/inboxes/{inbox}/conversations?limit=" + HUGE, None),
        ("get", "/inboxes/" + HUGE, None),
        ("get", "/users/{agent}/availability?at=9999-12-31T23:59:59%2B14:00", None),
        ("get", "/users/{agent}/availability?at=0001-01-01T00:00:00%2B00:00", None),
        ("post", "/inboxes/{inbox}/bulk/close", {"ids": [int(HUGE), 1]}),
        ("post", "/conversations/{conversation}/assign", {"owner_id": int(HUGE)}),
        ("put", "/channels/{channel}/routing", {"capacity": int(BIGINT), "user_ids": []}),
        ("put", "/channels/{channel}/routing", {"capacity": 1, "user_ids": [int(BIGINT)]}),
        ("post", "/inboxes/{inbox}/conversations", {"channel_id": int(HUGE), "to": "a@example.com", "subject": "x"}),
        ("put", "/users/{agent}/calendar", {"url": "http://" + "a" * 300 + ".example/x.ics"}),
        ("put", "/channels/{channel}/mail-server", {"smtp_host": "x", "smtp_port": 70000}),
    ],
)
def test_the_api_answers_bad_values_with_a_clear_4xx(world: World, method: str, path: str, body: Any) -> None:
    conversation = world.inbound("Target")
    url = path.format(
        inbox=world.support.pk, agent=world.agent.pk, conversation=conversation.pk, channel=world.email.pk
    )
    r = api(world, method, url, **({"data": body} if body is not None else {}))
    assert 400 <= r.status_code < 500, (url, r.status_code, r.content[:300])
    assert r.json().get("detail"), r.content  # says what is wrong


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/settings/users/{agent}/availability/ooo-remove/", {"id": "abc"}),
        ("/settings/users/{agent}/availability/hours-remove/", {"id": HUGE}),
        ("/settings/users/{agent}/availability/calendar/", {"url": "http://" + "a" * 300 + ".example/x.ics"}),
        ("/settings/users/{agent}/availability/calendar/", {"url": "http://" + "a" * 63 + "." + "b" * 300 + "/x.ics"}),
        (
            "/settings/users/{agent}/availability/ooo/",
            {"start_date": "2026-12-01", "start_time": "09:00", "end_date": "9999-12-31", "end_time": "23:59"},
        ),
        ("/settings/channels/{channel}/routing/", {"capacity": BIGINT, "enabled": "1"}),
        ("/settings/channels/{channel}/routing/", {"users": [HUGE], "enabled": "1"}),
        ("/inbox/{inbox}/views/", {"name": "Nothing to save", "q": ""}),
        ("/inbox/{inbox}/bulk/", {"action": "close", "ids": HUGE}),
        ("/c/{conversation}/assign/", {"owner": HUGE}),
    ],
)
def test_forms_answer_bad_values_with_a_clear_4xx(world: World, path: str, data: dict[str, Any]) -> None:
    conversation = world.inbound("Target")
    client = Client(raise_request_exception=False)
    client.force_login(world.admin)
    url = path.format(
        inbox=world.support.pk, agent=world.agent.pk, conversation=conversation.pk, channel=world.email.pk
    )
    r = client.post(url, data)
    assert 400 <= r.status_code < 500, (url, r.status_code, r.content[:300])


@pytest.mark.parametrize(
    "url",
    [
        "/inbox/{inbox}/v/custom-" + HUGE + "/",
        "/inbox/{inbox}/list/?view=custom-" + HUGE,
        "/inbox/{inbox}/list/?date_to=9999-12-31&q=x",
        "/inbox/{inbox}/list/?contact=" + HUGE,
        "/inbox/{inbox}/list/?assignee=" + HUGE,
        "/inbox/{inbox}/list/?cursor=OTk5OS0xMi0zMXwxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMw",
        "/inbox/" + HUGE + "/",
        "/m/" + HUGE + "/source/",
    ],
)
def test_screens_never_fail_on_bad_query_values(world: World, url: str) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(world.admin)
    r = client.get(url.format(inbox=world.support.pk))
    assert r.status_code in (200, 400, 404), (url, r.status_code)


def test_a_custom_view_with_its_search_cleared_shows_the_whole_inbox(world: World, client_for: Any) -> None:
    from samtale.inbox import actions
    from samtale.inbox.queries import Filters

    world.inbound("Invoice question")
    world.inbound("Delivery question")
    view = actions.create_custom_view(
        world.support, acting_user=world.admin, name="Invoices", filters=Filters(q="invoice"), shared=False
    )
    client = client_for(world.admin)
    inbox = world.support.pk
    assert "Delivery question" not in client.get(f"/inbox/{inbox}/list/?view=custom-{view.pk}").content.decode()
    for url in (f"/inbox/{inbox}/list/?view=custom-{view.pk}&q=", f"/inbox/{inbox}/v/custom-{view.pk}/?q="):
        r = client.get(url)
        assert (
            r.status_code == 200
            and "Delivery question" in r.content.decode()
            and "Invoice question" in r.content.decode()
        )
