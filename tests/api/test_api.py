from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from samtale.accounts import actions as account_actions
from samtale.inbox import actions
from tests.conftest import World


@pytest.fixture
def api(world: World) -> Client:
    _token, clear = account_actions.create_api_token(world.agent, acting_user=world.agent, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {clear}")


def post(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def test_me_and_inboxes_with_channels(world: World, api: Client) -> None:
    me = api.get("/api/v1/me").json()
    assert me["email"] == "bob@acme.test" and me["permissions"] == ["hide_messages"] and me["seat"] == "service"
    inboxes = api.get("/api/v1/inboxes").json()
    assert [i["name"] for i in inboxes] == ["Support"]
    kinds = {c["kind"]: c for c in inboxes[0]["channels"]}
    assert kinds["email"]["address"] == "support@acme.test" and "chat" in kinds


def test_admin_creates_inbox_and_channel(world: World) -> None:
    _t, clear = account_actions.create_api_token(world.admin, acting_user=world.admin, name="t")
    admin = Client(HTTP_AUTHORIZATION=f"Bearer {clear}")
    r = post(admin, "/api/v1/inboxes", {"name": "Sales", "member_ids": [world.agent.pk]})
    assert r.status_code == 201 and r.json()["member_ids"] == [world.agent.pk]
    inbox_id = r.json()["id"]
    r = post(
        admin, f"/api/v1/inboxes/{inbox_id}/channels", {"kind": "email", "name": "Sales", "address": "sales@acme.test"}
    )
    assert r.status_code == 201 and r.json()["address"] == "sales@acme.test"
    r = post(admin, f"/api/v1/inboxes/{inbox_id}/channels", {"kind": "fax"})
    assert r.status_code == 400


def test_list_with_view_filters_count_and_cursor(world: World, api: Client) -> None:
    for i in range(7):
        world.inbound(f"Invoice {i}", sender=f"c{i}@example.com")
    world.inbound("Other thing", sender="o@example.com")
    url = f"/api/v1/inboxes/{world.support.pk}/conversations"
    page = api.get(url, {"view": "unassigned", "limit": 3}).json()
    assert page["count"] == 8 and len(page["items"]) == 3 and page["next_cursor"]
    seen = [c["id"] for c in page["items"]]
    while page["next_cursor"]:
        page = api.get(url, {"view": "unassigned", "limit": 3, "cursor": page["next_cursor"]}).json()
        seen += [c["id"] for c in page["items"]]
    assert len(seen) == len(set(seen)) == 8
    found = api.get(url, {"q": "invoice", "sort": "oldest"}).json()
    assert found["count"] == 7 and found["items"][0]["subject"] == "Invoice 0"
    assert api.get(url, {"view": "nonsense"}).status_code == 400


def test_thread_reply_comment_assign_close_reopen(world: World, api: Client) -> None:
    c = world.inbound("Help", text="My order is late")
    base = f"/api/v1/conversations/{c.pk}"
    r = post(api, f"{base}/reply", {"text": "On its way!"})
    assert r.status_code == 201 and r.json()["delivery_status"] == "queued"
    r = post(api, f"{base}/comments", {"text": "@Carol Agent fyi"})
    assert r.status_code == 201 and r.json()["mention_ids"] == [world.agent2.pk]
    assert post(api, f"{base}/assign", {"owner_id": world.agent2.pk}).json()["owner_id"] == world.agent2.pk
    assert post(api, f"{base}/assign", {"owner_id": None}).json()["owner_id"] is None
    assert post(api, f"{base}/close").json()["status"] == "closed"
    assert post(api, f"{base}/reopen").json()["status"] == "open"
    detail = api.get(base).json()
    assert [m["text"] for m in detail["messages"]] == ["My order is late", "On its way!"]
    assert detail["comments"][0]["text"] == "@Carol Agent fyi"
    assert post(api, f"{base}/reply", {"text": ""}).status_code == 400


def test_trash_restore_delete_spam_block_hide(world: World, api: Client) -> None:
    c = world.inbound("x", sender="pest@example.com")
    base = f"/api/v1/conversations/{c.pk}"
    assert api.delete(base).status_code == 400  # only from Trash
    assert post(api, f"{base}/trash").json()["trashed"] is True
    assert post(api, f"{base}/restore").json()["trashed"] is False
    assert post(api, f"{base}/spam").json()["spam"] is True
    assert post(api, f"{base}/unspam").json()["spam"] is False
    assert post(api, f"{base}/block").json()["filtered"] is True
    assert post(api, f"{base}/unblock").json() == {"restored": 1}
    m = world.first_message(c)
    hidden = post(api, f"/api/v1/messages/{m.pk}/hide").json()
    assert hidden["hidden"] is True and hidden["text"] == ""
    assert post(api, f"/api/v1/messages/{m.pk}/show").json()["text"] == "Hello"
    post(api, f"{base}/trash")
    assert api.delete(base).status_code == 204
    assert api.get(base).status_code == 404


def test_bulk_views_and_notifications(world: World, api: Client) -> None:
    a, b = world.inbound("a", sender="a@example.com"), world.inbound("b", sender="b@example.com")
    r = post(api, f"/api/v1/inboxes/{world.support.pk}/bulk/close", {"ids": [a.pk, b.pk]})
    assert r.json() == {"updated": 2}
    views = {v["key"]: v for v in api.get(f"/api/v1/inboxes/{world.support.pk}/views").json()}
    assert views["all_closed"]["count"] == 2 and views["all_open"]["count"] == 0
    r = post(
        api, f"/api/v1/inboxes/{world.support.pk}/views", {"name": "Closed ones", "status": "closed", "shared": True}
    )
    assert r.status_code == 201
    key = r.json()["key"]
    listed = api.get(f"/api/v1/inboxes/{world.support.pk}/conversations", {"view": key}).json()
    assert listed["count"] == 2
    assert post(api, f"/api/v1/inboxes/{world.support.pk}/bulk/trash", {"ids": [a.pk]}).json() == {"updated": 1}
    actions.add_comment(a, acting_user=world.agent2, text="@Bob Agent look")
    notes = api.get("/api/v1/notifications").json()
    assert notes[0]["kind"] == "mention" and notes[0]["read"] is False
    assert post(api, "/api/v1/notifications/read").json() == {"updated": 1}


def test_compose_puts_the_email_in_sent(world: World, api: Client) -> None:
    r = post(api, f"/api/v1/inboxes/{world.support.pk}/conversations",
             {"channel_id": world.email.pk, "to": "lead@example.com", "subject": "Offer", "text": "Hello"})  # fmt: skip
    assert r.status_code == 201 and r.json()["awaiting_first_reply"] is True
    sent = api.get(f"/api/v1/inboxes/{world.support.pk}/conversations", {"view": "sent"}).json()
    assert [c["id"] for c in sent["items"]] == [r.json()["id"]]
    bad = post(
        api,
        f"/api/v1/inboxes/{world.support.pk}/conversations",
        {"channel_id": world.chat.pk, "to": "x@example.com", "subject": "s", "text": "t"},
    )
    assert bad.status_code == 400


def test_openapi_document_describes_the_api(world: World) -> None:
    spec = Client().get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "Samtale API"
    assert "/api/v1/inboxes/{inbox_id}/conversations" in spec["paths"]
    assert spec["components"]["securitySchemes"]
