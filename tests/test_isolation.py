"""Every page, fragment and API endpoint answers 404 for another account's ids."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from samtale.accounts import actions as account_actions
from samtale.accounts.models import ApiToken
from samtale.crm.models import Contact
from samtale.inbox import actions
from tests.conftest import World

STR_VALUES = {"view": ["all_open", "custom-{custom}"], "action": ["close", "hide", "remove", "add", "deactivate"]}


def _patterns(resolver: URLResolver | None = None, prefix: str = "") -> list[tuple[str, Any]]:
    resolver = resolver or get_resolver()
    out = []
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            out += _patterns(p, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            out.append((prefix + str(p.pattern), p))
    return out


@pytest.fixture
def acme_ids(world: World) -> dict[str, int]:
    c = world.inbound("Secret", text="Top secret")
    actions.trash_conversation(world.inbound("Trashed", sender="t@example.com"), acting_user=world.agent)
    view = actions.create_custom_view(
        world.support,
        acting_user=world.agent,
        name="Mine",
        filters=__import__("samtale.inbox.queries", fromlist=["Filters"]).Filters(q="x"),
        shared=True,
    )
    team = account_actions.create_team(world.account, acting_user=world.admin, name="Team A")
    token, _ = account_actions.create_api_token(world.agent, acting_user=world.agent, name="t")
    from samtale.channels.chat.actions import save_chatflow
    from samtale.channels.chat.models import ChatWidget

    flow = save_chatflow(ChatWidget.objects.get(channel=world.chat), None, acting_user=world.admin, name="Bot",
                         steps=[{"type": "message", "text": "Top secret"}])  # fmt: skip
    from samtale.tickets.actions import create_ticket

    ticket = create_ticket(world.account, acting_user=world.admin, conversation=c, name="Top secret")
    company = __import__("samtale.crm.actions", fromlist=["x"]).create_company(
        world.account, acting_user=world.admin, name="Top secret", domain="secret.example"
    )
    deal = __import__("samtale.deals.actions", fromlist=["x"]).create_deal(
        world.account, acting_user=world.admin, conversation=c, name="Top secret"
    )
    import io

    from samtale.crm import imports

    pending = imports.upload(world.account, acting_user=world.admin, name="Top secret.csv",
                             stream=io.BytesIO(b"name\nTop secret\n"), size=16)  # fmt: skip
    from samtale.crm import objects

    kind = objects.define_type(world.account, acting_user=world.admin, singular="Top secret", plural="Top secrets",
                               fields=[("Name", "text", "")])  # fmt: skip
    record = objects.save_record(kind, acting_user=world.admin, values={objects.definitions(kind)[0].key: "Top secret"})
    return {
        "type_id": kind.pk,
        "record_id": record.pk,
        "import_id": pending.pk,
        "deal_id": deal.pk,
        "company_id": company.pk,
        "ticket_id": ticket.pk,
        "pipeline_id": ticket.pipeline_id,
        "inbox_id": world.support.pk,
        "conversation_id": c.pk,
        "message_id": world.first_message(c).pk,
        "view_id": view.pk,
        "user_id": world.agent.pk,
        "team_id": team.pk,
        "channel_id": world.email.pk,
        "token_id": token.pk,
        "custom": view.pk,
        "flow_id": flow.pk,
        "contact_id": c.contact_id,  # type: ignore[dict-item]
        "task_id": __import__("samtale.crm.actions", fromlist=["x"])
        .add_task(Contact.objects.get(pk=c.contact_id), acting_user=world.admin, title="Top secret")
        .pk,
        "property_id": __import__("samtale.crm.actions", fromlist=["x"])
        .define_property(world.account, acting_user=world.admin, label="Secret", type="text")
        .pk,
    }


def _fill(route: str, ids: dict[str, int]) -> list[str]:
    urls = [route]
    for name in re.findall(r"<(?:\w+:)?(\w+)>", route):
        expanded = []
        for url in urls:
            if name in ids:
                expanded.append(re.sub(rf"<(?:\w+:)?{name}>", str(ids[name]), url))
            else:
                for value in STR_VALUES.get(name, ["x"]):
                    expanded.append(re.sub(rf"<(?:\w+:)?{name}>", value.format(**ids), url))
        urls = expanded
    return ["/" + u.lstrip("^").rstrip("$") for u in urls]


def test_every_web_url_with_ids_is_404_for_the_outsider(world: World, acme_ids: dict[str, int], client_for) -> None:  # type: ignore[no-untyped-def]
    client: Client = client_for(world.outsider)
    checked = 0
    for route, _pattern in _patterns():
        if route.startswith("api/") or not re.search(r"<(?:int|id):", route):
            continue
        for url in _fill(route, acme_ids):
            for method in ("get", "post"):
                response = getattr(client, method)(url, HTTP_HX_REQUEST="true")
                if response.status_code == 405:
                    continue
                assert response.status_code == 404, f"{method.upper()} {url} -> {response.status_code}"
                assert b"Top secret" not in response.content
                checked += 1
    assert checked > 30


def test_every_api_endpoint_with_ids_is_404_for_the_outsider(world: World, acme_ids: dict[str, int]) -> None:
    _token, clear = account_actions.create_api_token(world.outsider, acting_user=world.outsider, name="evil")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {clear}")
    spec = client.get("/api/v1/openapi.json").json()
    checked = 0
    for path, operations in spec["paths"].items():
        if "{" not in path:
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: str(acme_ids[m.group(1)]), path)
        for method in operations:
            body = {"text": "x", "owner_id": None, "ids": [acme_ids["conversation_id"]], "kind": "chat", "name": "x",
                    "channel_id": acme_ids["channel_id"], "to": "a@b.example", "subject": "s", "q": "x", "action": "away", "ics": "x",
                    "steps": [{"type": "message", "text": "x"}], "other_id": acme_ids["contact_id"], "properties": {"job_title": "x"}, "title": "x",
                    "enabled": False, "mapping": {}}  # fmt: skip
            response = client.generic(
                method.upper(), url, data=__import__("json").dumps(body), content_type="application/json"
            )
            assert response.status_code == 404, (
                f"{method.upper()} {url} -> {response.status_code} {response.content[:200]!r}"
            )
            checked += 1
    assert checked >= 20
    assert ApiToken.objects.filter(user=world.outsider).exists()


def test_api_without_a_token_is_401(world: World) -> None:
    assert Client().get("/api/v1/me").status_code == 401
    assert Client(HTTP_AUTHORIZATION="Bearer smt_nope").get("/api/v1/me").status_code == 401


def test_pages_need_sign_in(world: World) -> None:
    response = Client().get(f"/inbox/{world.support.pk}/v/all_open/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_missing_permissions_are_403(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    c = world.inbound("x")
    m = world.first_message(c)
    plain = client_for(world.noperm)
    assert plain.post(f"/m/{m.pk}/hide/").status_code == 403
    client_for(world.agent).post(f"/m/{m.pk}/hide/")
    assert client_for(world.agent2).post(f"/m/{m.pk}/show/").status_code == 403  # not the hider, not admin
    assert (
        plain.post(f"/settings/inboxes/{world.support.pk}/channels/new/", {"kind": "chat", "name": "x"}).status_code
        == 403
    )
    assert plain.post("/settings/users/new/", {"name": "X", "email": "x@acme.test", "role": "user"}).status_code == 403
    _t, clear = account_actions.create_api_token(world.noperm, acting_user=world.noperm, name="t")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {clear}")
    assert api.post(f"/api/v1/messages/{m.pk}/hide").status_code == 403
    assert (
        api.post(
            f"/api/v1/inboxes/{world.support.pk}/channels", {"kind": "chat"}, content_type="application/json"
        ).status_code
        == 403
    )
