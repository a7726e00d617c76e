"""The CRM through the REST API with a bearer token: contacts (create with properties, search,
cursor paging, update with errors by field, timeline, notes, tasks, merge, delete), companies,
pipelines, tickets (from a conversation, moved, closed), deals (amounts, stages, contacts),
import status; permissions as on the screens; another account's ids are 404 (the isolation walk
covers every path)."""

from __future__ import annotations

from typing import Any

from django.test import Client

from samtale.crm import actions
from samtale.crm.models import Contact
from tests.conftest import World


def api(world: World, user: Any = None) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {world.token(user or world.admin)}")


def test_contacts_through_the_api(world: World) -> None:
    client = api(world)
    made = client.post("/api/v1/contacts", {"name": "Kari Nordmann", "email": "kari@fjord.no", "phone": "412 34 567",
                                             "properties": {"job_title": "Sjef", "lifecycle_stage": "customer"}},
                       content_type="application/json")  # fmt: skip
    assert made.status_code == 201, made.content
    body = made.json()
    assert (body["first_name"], body["phone"], body["job_title"]) == ("Kari", "+4741234567", "Sjef")
    assert {"kind": "email", "value": "kari@fjord.no"} in body["identities"]
    bad = client.post("/api/v1/contacts", {"name": "X", "properties": {"lifecycle_stage": "god", "nope": 1}},
                      content_type="application/json")  # fmt: skip
    assert bad.status_code == 400 and "Choose one of the options" in bad.json()["detail"]
    assert Contact.objects.filter(account=world.account).count() == 1  # all or nothing
    for n in range(3):
        actions.create_contact(world.account, acting_user=None, name=f"Person {n}")
    first = client.get("/api/v1/contacts?limit=2&sort=name").json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = client.get(f"/api/v1/contacts?limit=2&sort=name&cursor={first['next_cursor']}").json()
    assert [c["name"] for c in first["items"] + rest["items"]] == ["Kari Nordmann", "Person 0", "Person 1", "Person 2"]
    assert [c["name"] for c in client.get("/api/v1/contacts?q=kari+nord").json()["items"]] == ["Kari Nordmann"]
    pk = body["id"]
    patched = client.patch(f"/api/v1/contacts/{pk}", {"properties": {"job_title": None, "language": "nb"}},
                           content_type="application/json")  # fmt: skip
    assert patched.status_code == 200 and (patched.json()["job_title"], patched.json()["language"]) == ("", "nb")
    assert (
        client.post(
            f"/api/v1/contacts/{pk}/notes", {"text": "Foretrekker e-post"}, content_type="application/json"
        ).status_code
        == 201
    )
    assert (
        client.post(f"/api/v1/contacts/{pk}/tasks", {"title": "Ring"}, content_type="application/json").status_code
        == 201
    )
    timeline = client.get(f"/api/v1/contacts/{pk}/timeline").json()
    assert {e["kind"] for e in timeline["items"]} == {"note", "task"}
    other = actions.create_contact(world.account, acting_user=None, name="Kari N", email="kari2@fjord.no")
    agent = api(world, world.agent)
    assert (
        agent.post(f"/api/v1/contacts/{pk}/merge", {"other_id": other.pk}, content_type="application/json").status_code
        == 403
    )
    merged = client.post(f"/api/v1/contacts/{pk}/merge", {"other_id": other.pk}, content_type="application/json")
    assert merged.status_code == 200 and merged.json()["id"] == pk
    assert Contact.objects.get(pk=other.pk).merged_into_id == pk
    assert agent.delete(f"/api/v1/contacts/{pk}").status_code == 403
    assert client.delete(f"/api/v1/contacts/{pk}").status_code == 204
    assert client.get(f"/api/v1/contacts/{pk}").status_code == 404


def test_companies_pipelines_tickets_and_deals_through_the_api(world: World) -> None:
    client = api(world, world.agent)
    company = client.post(
        "/api/v1/companies", {"name": "Fjord AS", "domain": "www.fjord.no"}, content_type="application/json"
    )
    assert company.status_code == 201 and company.json()["domain"] == "fjord.no"
    cid = company.json()["id"]
    assert (
        client.patch(f"/api/v1/companies/{cid}", {"owner_id": world.agent.pk}, content_type="application/json").json()[
            "owner_id"
        ]
        == world.agent.pk
    )
    assert [c["name"] for c in client.get("/api/v1/companies?q=fjo").json()["items"]] == ["Fjord AS"]
    conversation = world.inbound(subject="Help", sender="kari@fjord.no")
    ticket = client.post("/api/v1/tickets", {"name": "Broken export", "conversation_id": conversation.pk,
                                              "priority": "high"}, content_type="application/json")  # fmt: skip
    assert ticket.status_code == 201, ticket.content
    t = ticket.json()
    assert (t["stage"], t["contact_id"], t["priority"]) == ("New", conversation.contact_id, "high")
    again = client.post(
        "/api/v1/tickets", {"name": "Again", "conversation_id": conversation.pk}, content_type="application/json"
    )
    assert again.status_code == 400 and "has a ticket already" in again.json()["detail"]
    pipelines = client.get("/api/v1/pipelines?kind=ticket").json()
    closed = next(st["id"] for st in pipelines[0]["stages"] if st["is_closed"])
    moved = client.patch(f"/api/v1/tickets/{t['id']}", {"stage_id": closed}, content_type="application/json")
    assert moved.json()["closed"] is True
    assert [x["id"] for x in client.get("/api/v1/tickets?state=closed").json()["items"]] == [t["id"]]
    assert client.get("/api/v1/pipelines?kind=nonsense").status_code == 400
    deal = client.post("/api/v1/deals", {"name": "20 lisenser", "conversation_id": conversation.pk,
                                          "amount": "12 500,50"}, content_type="application/json")  # fmt: skip
    assert deal.status_code == 201, deal.content
    d = deal.json()
    assert (d["amount"], d["currency"], d["company_id"], d["contact_ids"]) == (
        "12500.50",
        "NOK",
        cid,
        [conversation.contact_id],
    )
    assert d["probability"] == 20
    bad = client.patch(f"/api/v1/deals/{d['id']}", {"amount": "lots"}, content_type="application/json")
    assert bad.status_code == 400 and "not an amount" in bad.json()["detail"]
    assert (
        client.patch(f"/api/v1/deals/{d['id']}", {"contact_ids": []}, content_type="application/json").json()[
            "contact_ids"
        ]
        == []
    )
    assert [x["name"] for x in client.get("/api/v1/deals?q=lisens").json()["items"]] == ["20 lisenser"]
    assert client.delete(f"/api/v1/deals/{d['id']}").status_code == 403  # CRM admins only
    assert api(world).delete(f"/api/v1/deals/{d['id']}").status_code == 204
