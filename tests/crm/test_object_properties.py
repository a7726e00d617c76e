"""Custom properties of companies and tickets (D2, D3): defined in Settings → Properties by CRM
admins, checked by type, edited on the records (and through the API), a ticket's chosen for
"View more" beside the conversation, their values gone with the property."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from samtale.crm import actions
from samtale.crm.models import Company
from samtale.tickets import actions as ticket_actions
from samtale.tickets.models import Ticket
from tests.conftest import PASSWORD, World


def signed_in(email: str) -> Client:
    client = Client()
    assert client.login(username=email, password=PASSWORD)
    return client


def test_companies_keep_custom_properties_checked_by_type(world: World) -> None:
    tier = actions.define_property(world.account, acting_user=world.admin, label="Tier", type="dropdown",
                                   options="gold: Gold\nsilver: Silver", object_type="company")  # fmt: skip
    seats = actions.define_property(world.account, acting_user=world.admin, label="Seats", type="number",
                                    object_type="company")  # fmt: skip
    name_clash = actions.define_property(world.account, acting_user=world.admin, label="Name", type="text",
                                         object_type="company")  # fmt: skip
    assert name_clash.key != "name"  # a field of companies is never a custom key
    with pytest.raises(PermissionDenied):
        actions.define_property(world.account, acting_user=world.agent, label="X", type="text", object_type="company")
    company = actions.create_company(world.account, acting_user=world.agent, name="Fjord AS", domain="fjord.no")
    with pytest.raises(ValidationError) as caught:
        actions.update_company(company, acting_user=world.agent, values={tier.key: "platinum", seats.key: "many",
                                                                       "nonsense": "x"})  # fmt: skip
    assert set(caught.value.message_dict) == {tier.key, seats.key, "nonsense"}
    assert Company.objects.get(pk=company.pk).properties == {}  # all or nothing
    actions.update_company(company, acting_user=world.agent, values={tier.key: "gold", seats.key: "1 200"})
    company.refresh_from_db()
    assert company.properties == {tier.key: "gold", seats.key: "1200"}  # numbers kept exact, as text
    # the record's form, in the browser's way
    agent = signed_in("bob@acme.test")
    page = agent.get(f"/companies/{company.pk}/").content.decode()
    assert f'name="{tier.key}"' in page and '<option value="gold" selected>Gold</option>' in page
    response = agent.post(f"/companies/{company.pk}/update/", {"name": "Fjord AS", tier.key: "silver", seats.key: ""})
    assert response.status_code == 302
    company.refresh_from_db()
    assert company.properties == {tier.key: "silver"}  # an emptied one is cleared
    bad = agent.post(f"/companies/{company.pk}/update/", {seats.key: "-"})
    assert bad.status_code == 400
    # the API: PATCH properties by key, null clears
    token = {"HTTP_AUTHORIZATION": f"Bearer {world.token(world.agent)}"}
    api = Client()
    patched = api.patch(f"/api/v1/companies/{company.pk}", {"properties": {seats.key: 30, tier.key: None}},
                        content_type="application/json", **token)  # fmt: skip
    assert patched.status_code == 200 and patched.json()["properties"] == {seats.key: "30"}
    refused = api.patch(f"/api/v1/companies/{company.pk}", {"properties": {seats.key: "lots"}},
                        content_type="application/json", **token)  # fmt: skip
    assert refused.status_code == 400 and "Seats: not a number." in refused.content.decode()
    # deleting the property takes its values; the settings page lists the companies' ones
    admin = signed_in("alice@acme.test")
    listed = admin.get("/settings/contact-properties/?object=company").content.decode()
    assert "Seats" in listed and "Tier" in listed and 'aria-current="page"' in listed
    assert "Seats" not in admin.get("/settings/contact-properties/").content.decode()  # contacts' tab
    assert admin.post(f"/settings/contact-properties/{seats.pk}/delete/").status_code == 302
    company.refresh_from_db()
    assert company.properties == {}


def test_tickets_keep_custom_properties_shown_in_view_more(world: World) -> None:
    from samtale.tickets.sidebar import ticket_card

    order = actions.define_property(world.account, acting_user=world.admin, label="Order number", type="text",
                                    object_type="ticket")  # fmt: skip
    refund = actions.define_property(world.account, acting_user=world.admin, label="Refund", type="checkbox",
                                     object_type="ticket")  # fmt: skip
    conversation = world.inbound(subject="Where is my order?", sender="kari@fjord.no")
    ticket = ticket_actions.create_ticket(
        world.account, acting_user=world.agent, conversation=conversation, name="Order"
    )
    ticket_actions.update_ticket(ticket, acting_user=world.agent, values={order.key: "1042", refund.key: "yes"})
    ticket.refresh_from_db()
    assert ticket.properties == {order.key: "1042", refund.key: True}
    with pytest.raises(ValidationError) as caught:
        ticket_actions.update_ticket(ticket, acting_user=world.agent, values={refund.key: "perhaps", "bogus": "1"})
    assert set(caught.value.message_dict) == {refund.key, "bogus"}
    # View more: the custom ones can be chosen, and show their values
    agent = signed_in("bob@acme.test")
    chosen = agent.post(f"/c/{conversation.pk}/ticket/details/", {"keys": ["description", f"prop:{refund.key}",
                                                                           "prop:nope"]}, HTTP_HX_REQUEST="true")  # fmt: skip
    assert chosen.status_code == 200, chosen.content
    world.agent.refresh_from_db()
    data = ticket_card(conversation, world.agent)
    assert [(key, str(label), shown) for key, label, shown in data["details"]] == [
        ("description", "Description", ""), (f"prop:{refund.key}", "Refund", "Yes"),
    ]  # fmt: skip
    assert "Refund" in chosen.content.decode() and "Yes" in chosen.content.decode()
    # the record's form and the API
    record = agent.get(f"/tickets/{ticket.pk}/").content.decode()
    assert f'name="{order.key}"' in record and 'value="1042"' in record
    assert agent.post(f"/tickets/{ticket.pk}/update/", {"name": "Order", order.key: "2001"}).status_code == 302
    token = {"HTTP_AUTHORIZATION": f"Bearer {world.token(world.agent)}"}
    got = Client().patch(f"/api/v1/tickets/{ticket.pk}", {"properties": {refund.key: None}},
                         content_type="application/json", **token)  # fmt: skip
    assert got.status_code == 200 and got.json()["properties"] == {order.key: "2001"}
    actions.delete_property(order, acting_user=world.admin)
    assert Ticket.objects.get(pk=ticket.pk).properties == {}


def test_review_fixes_checkbox_false_same_named_companies_clock_changes_and_object_properties(world: World) -> None:
    from samtale.availability import actions as availability_actions
    from samtale.crm import objects
    from samtale.crm.models import CustomRecord, ObjectType

    # false through the API is "No", not "cleared"
    refund = actions.define_property(world.account, acting_user=world.admin, label="Refund", type="checkbox",
                                     object_type="ticket")  # fmt: skip
    conversation = world.inbound(subject="Refund?", sender="per@fjord.no")
    ticket = ticket_actions.create_ticket(world.account, acting_user=world.agent, conversation=conversation, name="R")
    token = {"HTTP_AUTHORIZATION": f"Bearer {world.token(world.agent)}"}
    got = Client().patch(f"/api/v1/tickets/{ticket.pk}", {"properties": {refund.key: False}},
                         content_type="application/json", **token)  # fmt: skip
    assert got.status_code == 200 and got.json()["properties"] == {refund.key: False}
    # two companies of one name: the suggestion names the domain, and saving it picks that one
    first = actions.create_company(world.account, acting_user=world.admin, name="Acme AS", domain="acme.no")
    second = actions.create_company(world.account, acting_user=world.admin, name="Acme AS", domain="acme.com")
    actions.create_company(world.other_account, acting_user=world.outsider, name="Acme Evil", domain="acme.evil")
    agent = signed_in("bob@acme.test")
    options = agent.get("/companies/suggest/?new_company=acm").content.decode()
    assert 'value="Acme AS (acme.com)"' in options and 'value="Acme AS (acme.no)"' in options
    assert "Evil" not in options and agent.get("/companies/suggest/?new_company=").content.decode().strip() == ""
    assert actions.company_named(world.account, acting_user=world.agent, name="Acme AS (acme.com)") == second
    assert actions.company_named(world.account, acting_user=world.agent, name="acme as") == first
    # a time the clocks skip where the owner is: refused, not moved an hour
    availability_actions.set_time_zone(world.agent, acting_user=world.agent, time_zone="Europe/Oslo")
    contact = conversation.contact
    assert contact is not None
    with pytest.raises(ValidationError, match="does not exist"):
        actions.add_task(contact, acting_user=world.agent, title="Ring", due_local="2027-03-28T02:30")
    with pytest.raises(ValidationError, match="Not a date"):
        actions.add_task(contact, acting_user=world.agent, title="Ring", due_local="tomorrow")
    # deleting a custom object's property takes its records' values, and the name it gave them
    kind = objects.define_type(world.account, acting_user=world.admin, singular="Avtale", plural="Avtaler",
                               label="Navn", fields=[("Navn", "text", ""), ("Beløp", "number", "")])  # fmt: skip
    name, amount = objects.definitions(kind)
    record = objects.save_record(kind, acting_user=world.agent, values={name.key: "Gull", amount.key: "10"})
    response = signed_in("alice@acme.test").post(f"/settings/contact-properties/{name.pk}/delete/")
    assert response.status_code == 302
    assert CustomRecord.objects.get(pk=record.pk).properties == {amount.key: "10"}
    assert ObjectType.objects.get(pk=kind.pk).label_key == ""
