"""Companies (D3) through HTTP with a signed-in session: the list (search by name or domain,
owner, paging), creating one (a bad domain named), the record with its contacts and the
conversations with them that the reader may see, adding and removing a contact by hand, and
deleting (CRM admins)."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from samtale.crm import actions
from samtale.crm.models import Company, Contact
from tests.conftest import World


def test_companies_are_listed_searched_and_paged(world: World, client_for: Any, monkeypatch: Any) -> None:
    from samtale.crm import queries

    monkeypatch.setattr(queries, "PAGE", 10)
    for n in range(14):
        actions.create_company(world.account, acting_user=world.admin, name=f"Firma {n:02d}", domain=f"firma{n}.no")
    fjord = actions.create_company(world.account, acting_user=world.admin, name="Fjord Fisk AS", domain="fjordfisk.no")
    actions.update_company(fjord, acting_user=world.admin, values={"owner": world.agent.pk})
    actions.create_company(world.other_account, acting_user=world.outsider, name="Fjord Evil")
    client: Client = client_for(world.agent2)
    html = client.get("/companies/?q=fjord").content.decode()
    assert "Fjord Fisk AS" in html and "Evil" not in html and "Firma" not in html
    assert "Fjord Fisk AS" in client.get("/companies/?q=fjordfisk.n").content.decode()  # the domain
    assert "Fjord Fisk AS" in client.get("/companies/?q=fisk").content.decode()  # a later word
    assert "Fjord Fisk AS" in client.get(f"/companies/?owner={world.agent.pk}").content.decode()
    first = client.get("/companies/").content.decode()
    assert 'id="next-page"' in first and "Firma 00" in first and "Fjord Fisk AS" not in first
    cursor = first.split("after=")[1].split('"')[0]
    second = client.get(f"/companies/?after={cursor}").content.decode()
    assert "Fjord Fisk AS" in second and "Firma 00" not in second
    assert client.get("/companies/?after=junk&owner=x").status_code == 200


def test_a_company_is_created_edited_and_shows_its_contacts_and_conversations(world: World, client_for: Any) -> None:
    client: Client = client_for(world.agent)
    bad = client.post("/companies/new/", {"name": "Fjord", "domain": "not a domain"})
    assert bad.status_code == 400 and "domain" in json.loads(bad["X-Field-Errors"])
    made = client.post("/companies/new/", {"name": "Fjord AS", "domain": "https://www.Fjord.no/om"})
    assert made.status_code == 302
    company = Company.objects.get(account=world.account)
    assert company.domain == "fjord.no"
    # a new address at its domain joins it; a conversation with them shows on the record
    conversation = world.inbound(subject="Order 77", sender="kari@fjord.no", name="Kari Nordmann")
    assert conversation.contact.company == company  # type: ignore[union-attr]
    html = client.get(f"/companies/{company.pk}/").content.decode()
    assert "Kari Nordmann" in html and "Order 77" in html
    # the conversation only for those who may open its inbox
    from samtale.inbox import actions as inbox_actions

    inbox_actions.remove_inbox_member(world.support, acting_user=world.admin, user=world.noperm)
    assert "Order 77" not in client_for(world.noperm).get(f"/companies/{company.pk}/").content.decode()
    # by hand: add a contact found by search, remove it again
    ola = actions.create_contact(world.account, acting_user=None, name="Ola Gmail", email="ola@gmail.com")
    found = client.get(f"/companies/{company.pk}/contacts/?q=ola").content.decode()
    assert "Ola Gmail" in found and "Kari" not in found
    assert client.post(f"/companies/{company.pk}/contacts/", {"contact": ola.pk}).status_code == 302
    ola.refresh_from_db()
    assert ola.company == company
    assert client.post(f"/companies/{company.pk}/contacts/", {"remove": ola.pk}).status_code == 302
    ola.refresh_from_db()
    assert ola.company is None
    # edited: a name taken by another company's domain is refused, the rest saved
    other = actions.create_company(world.account, acting_user=world.admin, name="Other", domain="other.no")
    clash = client.post(f"/companies/{company.pk}/update/", {"name": "Fjord Fisk", "domain": "other.no"})
    assert clash.status_code == 400 and "domain" in json.loads(clash["X-Field-Errors"])
    assert (
        client.post(f"/companies/{company.pk}/update/", {"name": "Fjord Fisk", "domain": "fjord.no"}).status_code == 302
    )
    company.refresh_from_db()
    assert company.name == "Fjord Fisk" and other.domain == "other.no"


def test_deleting_a_company_needs_crm_admin_and_keeps_its_contacts(world: World, client_for: Any) -> None:
    company = actions.create_company(world.account, acting_user=world.admin, name="Fjord AS", domain="fjord.no")
    contact = actions.create_contact(world.account, acting_user=None, name="Kari", email="kari@fjord.no")
    assert client_for(world.agent).post(f"/companies/{company.pk}/delete/").status_code == 403
    assert client_for(world.admin).post(f"/companies/{company.pk}/delete/").status_code == 302
    assert not Company.objects.filter(pk=company.pk).exists()
    assert Contact.objects.get(pk=contact.pk).company is None


def test_another_accounts_company_is_404(world: World, client_for: Any) -> None:
    theirs = actions.create_company(world.other_account, acting_user=world.outsider, name="Evil AS")
    client: Client = client_for(world.agent)
    assert client.get(f"/companies/{theirs.pk}/").status_code == 404
    for url in ("update/", "delete/", "contacts/"):
        assert client.post(f"/companies/{theirs.pk}/{url}", {"name": "Mine"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Evil AS"
