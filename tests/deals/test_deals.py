"""Deals (D3): created from a conversation (prefilled: its contact, their company, its owner; the
default Sales pipeline with probabilities), amounts in NOK by default and written the Norwegian way,
bounded values named by field, won/lost closing it, on each contact's timeline and on the company
record, merged and erased with contacts, and through HTTP with another account's ids as 404."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from samtale.crm import actions as crm_actions
from samtale.crm.models import PipelineKind, TimelineEntry
from samtale.crm.pipelines import default_pipeline
from samtale.deals import actions
from samtale.deals.models import Deal
from tests.conftest import World


def test_a_deal_from_a_conversation_is_prefilled(world: World) -> None:
    company = crm_actions.create_company(world.account, acting_user=world.admin, name="Fjord AS", domain="fjord.no")
    conversation = world.inbound(subject="20 licences?", sender="kari@fjord.no", name="Kari Nordmann")
    deal = actions.create_deal(world.account, acting_user=world.agent, conversation=conversation, name="20 lisenser",
                               amount="12 500,50")  # fmt: skip
    assert list(deal.contacts.all()) == [conversation.contact] and deal.company == company
    assert (deal.amount, deal.currency, deal.owner) == (Decimal("12500.50"), "NOK", world.agent)
    sales = default_pipeline(world.account, PipelineKind.DEAL)
    assert [(s.name, s.probability) for s in sales.stages.all()][:2] == [("Qualified", 20), ("Proposal sent", 50)]
    assert deal.stage.name == "Qualified" and deal.probability == 20 and deal.closed_at is None
    line = TimelineEntry.objects.get(subject_type="deal")
    assert (line.kind, line.contact_id, line.data["amount"]) == ("deal.created", conversation.contact_id, "12500.50")
    won = sales.stages.get(name="Won")
    actions.update_deal(deal, acting_user=world.agent2, values={"stage": won.pk, "close_date": "2027-01-15"})
    deal.refresh_from_db()
    assert deal.closed_at is not None and deal.probability == 100
    assert TimelineEntry.objects.filter(subject_type="deal", kind="deal.stage").count() == 1


def test_bad_values_are_named(world: World) -> None:
    with pytest.raises(ValidationError) as caught:
        actions.create_deal(world.account, acting_user=world.agent, name="", amount="-5", currency="BTC",
                            close_date="2999-01-01", owner=world.outsider.pk, contacts=["x"])  # fmt: skip
    assert {"name", "amount", "currency", "close_date", "owner", "contacts"} <= set(caught.value.message_dict)
    theirs = crm_actions.create_contact(world.other_account, acting_user=None, name="Evil")
    with pytest.raises(ValidationError, match="No such contact"):
        actions.create_deal(world.account, acting_user=world.agent, name="D", contacts=[theirs.pk])
    for amount in ("1e400", "NaN", "Infinity", "1" * 40):
        with pytest.raises(ValidationError):
            actions.create_deal(world.account, acting_user=world.agent, name="D", amount=amount)
    assert not Deal.objects.exists()


def test_deals_follow_merges_and_erasure_and_deletion_needs_crm_admin(world: World) -> None:
    a = crm_actions.create_contact(world.account, acting_user=None, name="A", email="a@x.no")
    b = crm_actions.create_contact(world.account, acting_user=None, name="B", email="b@x.no")
    deal = actions.create_deal(world.account, acting_user=world.agent, name="D", contacts=[b.pk])
    crm_actions.merge_contacts(a, b, acting_user=world.admin)
    assert list(deal.contacts.all()) == [a]
    from samtale.crm.privacy import erase_contact

    erase_contact(a, acting_user=world.admin)
    assert Deal.objects.filter(pk=deal.pk).exists() and not deal.contacts.exists()  # the business stays
    with pytest.raises(PermissionDenied):
        actions.delete_deals([deal], acting_user=world.agent)
    actions.delete_deals([deal], acting_user=world.admin)
    assert not Deal.objects.exists()


def test_deals_through_http(world: World, client_for: Any) -> None:
    company = crm_actions.create_company(world.account, acting_user=world.admin, name="Fjord AS", domain="fjord.no")
    conversation = world.inbound(subject="Offer", sender="kari@fjord.no")
    client: Client = client_for(world.agent)
    section = client.get(f"/c/{conversation.pk}/deals/").content.decode()
    assert 'id="deal-create-form"' in section and "No deals with this contact" in section
    bad = client.post(f"/c/{conversation.pk}/deals/", {"name": "Big", "amount": "lots"})
    assert bad.status_code == 400 and "amount" in json.loads(bad["X-Field-Errors"])
    made = client.post(f"/c/{conversation.pk}/deals/", {"name": "Big", "amount": "1000", "currency": "EUR"})
    assert made.status_code == 200 and "Big" in made.content.decode()
    deal = Deal.objects.get()
    thread = client.get(f"/c/{conversation.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "sidebar-deals" in thread and "Big" in thread
    assert "Big" in client.get("/deals/").content.decode()
    assert "Big" in client.get(f"/deals/?contact={conversation.contact_id}").content.decode()
    assert "Big" in client.get(f"/companies/{company.pk}/").content.decode()
    assert "Big" in client.get(f"/contacts/{conversation.contact_id}/").content.decode()
    assert client.post(f"/deals/{deal.pk}/update/", {"amount": "2 000,00", "name": "Bigger"}).status_code == 302
    deal.refresh_from_db()
    assert (deal.name, deal.amount) == ("Bigger", Decimal("2000.00"))
    assert "Bigger" in client.get(f"/deals/{deal.pk}/").content.decode()
    assert client.get("/deals/?stage=x&owner=-1&before=zz&state=open").status_code == 200


def test_another_accounts_deal_is_404(world: World, client_for: Any) -> None:
    theirs = actions.create_deal(world.other_account, acting_user=world.outsider, name="Top secret")
    client: Client = client_for(world.admin)
    assert client.get(f"/deals/{theirs.pk}/").status_code == 404
    for url in ("update/", "delete/"):
        assert client.post(f"/deals/{theirs.pk}/{url}", {"name": "Mine"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Top secret"


def test_the_section_of_a_conversation_without_a_contact_is_empty(world: World, client_for: Any) -> None:
    from samtale.inbox import actions as inbox_actions

    conversation = world.inbound()
    inbox_actions.change_contact(conversation, contact=None, acting_user=world.agent)
    response = client_for(world.agent).get(f"/c/{conversation.pk}/deals/")
    assert response.status_code == 200 and "deal-create-form" not in response.content.decode()
