"""Custom objects and contact imports through the REST API: types with their properties, records
created, listed by cursor, changed and deleted with values checked by type and associations
with contacts and companies; a CSV uploaded, mapped and started; another account's ids 404."""

from __future__ import annotations

from typing import Any

from django.test import Client

from samtale.crm import objects
from samtale.crm.actions import create_company
from samtale.crm.models import ContactImport, CustomRecord
from tests.conftest import World


def bearer(world: World, user: Any) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {world.token(user)}"}


def test_custom_object_records_through_the_api(world: World) -> None:
    kind = objects.define_type(world.account, acting_user=world.admin, singular="Abonnement", plural="Abonnementer",
                               label="Plan", fields=[("Plan", "dropdown", "Basis\nPro"), ("Fornyes", "date", ""),
                                                     ("Brukere", "number", "")])  # fmt: skip
    plan, renews, users = (d.key for d in objects.definitions(kind))
    contact = world.inbound(sender="kari@fjord.no").contact
    company = create_company(world.account, acting_user=world.admin, name="Fjord AS", domain="fjord.no")
    client, agent = Client(), bearer(world, world.agent)
    types = client.get("/api/v1/object-types", **agent).json()
    assert [(t["singular"], t["label_key"], [p["key"] for p in t["properties"]]) for t in types] == [
        ("Abonnement", plan, [plan, renews, users])
    ]
    made = client.post(f"/api/v1/object-types/{kind.pk}/records",
                       {"properties": {plan: "Pro", renews: "2027-01-31", users: 12}, "contact_ids": [contact.pk],
                        "company_ids": [company.pk]}, content_type="application/json", **agent)  # fmt: skip
    assert made.status_code == 201, made.content
    record = made.json()
    assert record["label"] == "Pro" and record["contact_ids"] == [contact.pk] and record["company_ids"] == [company.pk]
    assert record["properties"] == {plan: "Pro", renews: "2027-01-31", users: "12"}
    bad = client.post(f"/api/v1/object-types/{kind.pk}/records", {"properties": {renews: "2301-01-01", "nope": 1}},
                      content_type="application/json", **agent)  # fmt: skip
    assert bad.status_code == 400 and "nope" in bad.content.decode()
    outsider_contact = world.inbound(sender="x@evil.test", channel=world.other_email).contact
    foreign = client.post(f"/api/v1/object-types/{kind.pk}/records", {"contact_ids": [outsider_contact.pk]},
                          content_type="application/json", **agent)  # fmt: skip
    assert foreign.status_code == 400 and CustomRecord.objects.count() == 1
    changed = client.patch(f"/api/v1/records/{record['id']}", {"properties": {users: None}, "contact_ids": []},
                           content_type="application/json", **agent)  # fmt: skip
    assert (
        changed.status_code == 200 and changed.json()["contact_ids"] == [] and users not in changed.json()["properties"]
    )
    for _n in range(55):
        objects.save_record(kind, acting_user=world.agent, values={plan: "Basis"})
    first = client.get(f"/api/v1/object-types/{kind.pk}/records", **agent).json()
    second = client.get(f"/api/v1/object-types/{kind.pk}/records?cursor={first['next_cursor']}", **agent).json()
    assert len(first["items"]) == 50 and len(second["items"]) == 6 and second["next_cursor"] == ""
    assert {r["id"] for r in first["items"]}.isdisjoint({r["id"] for r in second["items"]})
    assert client.delete(f"/api/v1/records/{record['id']}", **agent).status_code == 403  # CRM admins delete
    assert client.delete(f"/api/v1/records/{record['id']}", **bearer(world, world.admin)).status_code == 204
    evil = bearer(world, world.outsider)
    assert client.get(f"/api/v1/object-types/{kind.pk}", **evil).status_code == 404
    assert client.get(f"/api/v1/records/{second['items'][0]['id']}", **evil).status_code == 404
    assert client.get("/api/v1/object-types", **evil).json() == []


def test_a_contact_import_is_uploaded_mapped_and_started_through_the_api(world: World) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client, admin = Client(), bearer(world, world.admin)
    data = "Navn;E-post;Telefon\nKari Import;kari@import.example;+47 412 34 567\nOla;ugyldig;\n".encode("cp1252")
    uploaded = client.post("/api/v1/contact-imports", {"file": SimpleUploadedFile("kunder.csv", data, "text/csv")},
                           **admin)  # fmt: skip
    assert uploaded.status_code == 201, uploaded.content
    body = uploaded.json()
    assert body["header"] == ["Navn", "E-post", "Telefon"] and body["status"] == "uploaded"
    assert body["mapping"] == {"0": "name", "1": "email", "2": "phone"}
    assert body["preview"][0] == ["Kari Import", "kari@import.example", "+47 412 34 567"]
    refused = client.post(f"/api/v1/contact-imports/{body['id']}/start", {"mapping": {"0": "shoe_size"}},
                          content_type="application/json", **admin)  # fmt: skip
    assert refused.status_code == 400
    started = client.post(f"/api/v1/contact-imports/{body['id']}/start", {"mapping": body["mapping"],
                          "duplicates": "skip"}, content_type="application/json", **admin)  # fmt: skip
    assert started.status_code == 200 and started.json()["status"] == "queued"
    assert ContactImport.objects.get(pk=body["id"]).duplicates == "skip"
    agent = bearer(world, world.agent)  # importing needs CRM admin
    assert (
        client.post("/api/v1/contact-imports", {"file": SimpleUploadedFile("a.csv", data)}, **agent).status_code == 403
    )
    binary = client.post("/api/v1/contact-imports", {"file": SimpleUploadedFile("a.csv", b"\x00\x01PK")}, **admin)
    assert binary.status_code == 400 and "binary" in binary.content.decode()
    evil = bearer(world, world.outsider)
    assert client.post(f"/api/v1/contact-imports/{body['id']}/start", {"mapping": {}},
                       content_type="application/json", **evil).status_code == 404  # fmt: skip


def test_record_errors_are_named_as_the_api_names_its_fields(world: World) -> None:
    kind = objects.define_type(world.account, acting_user=world.admin, singular="Avtale", plural="Avtaler",
                               fields=[("Navn", "text", "")])  # fmt: skip
    client, agent = Client(), bearer(world, world.agent)
    refused = client.post(f"/api/v1/object-types/{kind.pk}/records", {"contact_ids": [999999]},
                          content_type="application/json", **agent)  # fmt: skip
    assert refused.status_code == 400 and "No such record" in refused.json()["detail"]
    assert client.get(f"/api/v1/object-types/{kind.pk}/records?cursor=12", **agent).status_code == 400
