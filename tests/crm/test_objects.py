"""Custom objects (D3): a CRM admin defines a type with properties and the one naming its
records; teammates create records (values checked by type), associate contacts, see them on the
contact's record and beside the contact's conversations; another account's ids are 404."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from samtale.crm import objects
from samtale.crm.models import CustomRecord, ObjectType
from tests.conftest import World


def test_a_type_is_defined_and_records_kept_beside_contacts(world: World, client_for: Any) -> None:
    admin = client_for(world.admin)
    bad = admin.post("/settings/custom-objects/", {"singular": "Abonnement", "plural": "Abonnementer",
                                                   "fields": "Plan: colour"})  # fmt: skip
    assert bad.status_code == 400 and "Line 1" in bad.content.decode()
    assert (
        client_for(world.agent).post("/settings/custom-objects/", {"singular": "X", "plural": "Xs"}).status_code == 403
    )
    made = admin.post("/settings/custom-objects/", {
        "singular": "Abonnement", "plural": "Abonnementer", "label": "Plan",
        "fields": "Plan: dropdown: Basis, Pro, Bedrift\nFornyes: date\nSeter: number",
    })  # fmt: skip
    assert made.status_code == 302
    kind = ObjectType.objects.get()
    assert [d.type for d in objects.definitions(kind)] == ["dropdown", "date", "number"]
    conversation = world.inbound(subject="Fornyelse", sender="kari@fjord.no")
    client = client_for(world.agent)
    keys = [d.key for d in objects.definitions(kind)]
    bad = client.post(
        f"/objects/{kind.pk}/", {keys[0]: "Gull", keys[1]: "2027-13-01", "contact": conversation.contact_id}
    )
    assert bad.status_code == 400 and set(keys[:2]) <= set(json.loads(bad["X-Field-Errors"]))
    good = client.post(f"/objects/{kind.pk}/", {keys[0]: "Pro", keys[1]: "2027-03-01", keys[2]: "12",
                                                "contact": conversation.contact_id})  # fmt: skip
    assert good.status_code == 302
    record = CustomRecord.objects.get()
    assert record.label == "Pro" and list(record.contacts.all()) == [conversation.contact]
    thread = client.get(f"/c/{conversation.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="sidebar-records"' in thread and "Abonnement" in thread and "Pro" in thread
    assert "New Abonnement" in client.get(f"/contacts/{conversation.contact_id}/").content.decode()
    assert client.post(f"/objects/records/{record.pk}/update/", {keys[2]: "many"}).status_code == 400
    assert (
        client.post(f"/objects/records/{record.pk}/update/", {"remove_contact": conversation.contact_id}).status_code
        == 302
    )
    assert not record.contacts.exists()
    assert 'id="sidebar-records"' not in client.get(f"/c/{conversation.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert client.post(f"/objects/records/{record.pk}/delete/").status_code == 403
    assert admin.post(f"/objects/records/{record.pk}/delete/").status_code == 302


def test_bounds_and_isolation(world: World, client_for: Any) -> None:
    with pytest.raises(PermissionDenied):
        objects.define_type(world.account, acting_user=world.agent, singular="A", plural="As")
    with pytest.raises(ValidationError):
        objects.define_type(world.account, acting_user=world.admin, singular="", plural="x" * 61)
    theirs = objects.define_type(world.other_account, acting_user=world.outsider, singular="Top secret",
                                 plural="Top secrets", fields=[("Name", "text", "")])  # fmt: skip
    record = objects.save_record(
        theirs, acting_user=world.outsider, values={objects.definitions(theirs)[0].key: "Top secret"}
    )
    client = client_for(world.admin)
    assert client.get(f"/objects/{theirs.pk}/").status_code == 404
    assert client.get(f"/objects/records/{record.pk}/").status_code == 404
    assert client.post(f"/objects/records/{record.pk}/update/", {"add_contact": "1"}).status_code == 404
    mine = objects.define_type(world.account, acting_user=world.admin, singular="Ting", plural="Ting")
    outsider_contact = world.inbound(channel=world.other_email, sender="x@evil.test").contact
    with pytest.raises(ValidationError, match="No such record"):
        objects.save_record(mine, acting_user=world.admin, values={}, contact_ids=[outsider_contact.pk])  # type: ignore[union-attr]
