"""The Contacts screen and the contact record through HTTP with a signed-in session: search and
filters, editing with errors by field, the timeline following inbox access, merge with its
preview, a new email from the record, and another account's ids as 404."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from samtale.crm import actions
from samtale.crm.models import Contact
from samtale.inbox import actions as inbox_actions
from samtale.inbox.models import Conversation
from tests.conftest import World


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def test_the_contacts_screen_searches_filters_and_pages(world: World, client_for: Any) -> None:
    for n in range(60):
        actions.create_contact(world.account, acting_user=None, name=f"Person {n:02d}", email=f"p{n}@example.com")
    kari = actions.create_contact(world.account, acting_user=None, name="Kari Nordmann", email="kari@fjord.no")
    actions.assign_owner(world.account, acting_user=world.admin, ids=[kari.pk], owner_id=world.agent.pk)
    actions.create_contact(world.other_account, acting_user=None, name="Kari Nordmann Evil")
    client = client_for(world.agent)
    html = page(client, "/contacts/?q=kari+nord")
    assert "Kari Nordmann" in html and "Evil" not in html and "Person 01" not in html
    html = page(client, f"/contacts/?owner={world.agent.pk}")
    assert "Kari Nordmann" in html and "Person" not in html
    first = page(client, "/contacts/?sort=name")
    assert 'id="next-page"' in first and "Kari Nordmann" in first and "Person 59" not in first
    cursor = first.split("after=")[1].split('"')[0]
    second = page(client, f"/contacts/?sort=name&after={cursor}")
    assert "Person 59" in second and "Kari Nordmann" not in second and 'id="next-page"' not in second
    assert page(client, "/contacts/?after=garbage&owner=x&created_after=99999-01-01&sort=nope")  # read, not a 500
    assert "No contact matches" in page(client, "/contacts/?q=zzzzzz")


def test_editing_a_contact_shows_errors_by_field_and_the_history(world: World, client_for: Any) -> None:
    contact = actions.create_contact(world.account, acting_user=None, name="Kari Nordmann")
    client = client_for(world.agent)
    bad = client.post(f"/contacts/{contact.pk}/update/", {"email": "not an address", "job_title": "Sjef"})
    assert bad.status_code == 400 and "email" in json.loads(bad["X-Field-Errors"])
    good = client.post(
        f"/contacts/{contact.pk}/update/",
        {"first_name": "Kari", "last_name": "Nord-Hansen", "email": "kari@fjord.no", "new_company": "Fjord AS",
         "lifecycle_stage": "customer", "owner": str(world.agent2.pk)},
    )  # fmt: skip
    assert good.status_code == 302
    contact.refresh_from_db()
    assert (contact.name, contact.company.name, contact.owner) == ("Kari Nord-Hansen", "Fjord AS", world.agent2)  # type: ignore[union-attr]
    html = page(client, f"/contacts/{contact.pk}/")
    assert "Bob Agent changed Contact owner" in html and "Carol Agent" in html and "kari@fjord.no" in html


def test_another_accounts_contact_is_not_found_anywhere(world: World, client_for: Any) -> None:
    theirs = actions.create_contact(world.other_account, acting_user=None, name="Secret", email="s@evil.test")
    client = client_for(world.agent)
    for url in (f"/contacts/{theirs.pk}/", f"/contacts/{theirs.pk}/merge/", f"/contacts/{theirs.pk}/email/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/contacts/{theirs.pk}/update/", {"job_title": "x"}).status_code == 404
    assert client.post("/contacts/bulk/", {"ids": [theirs.pk], "action": "owner", "owner": ""}).status_code == 302
    admin = client_for(world.admin)
    assert admin.post("/contacts/bulk/", {"ids": [theirs.pk], "action": "delete"}).status_code == 302
    assert Contact.objects.filter(pk=theirs.pk).exists()
    conversation = inbox_actions.receive_inbound(
        world.other_email,
        inbox_actions.InboundMessage(sender_address="x@y.no", sender_name="X", subject="Theirs", text="t"),
    ).conversation
    assert client.get(f"/conversations/{conversation.pk}/").status_code == 404


def test_the_timeline_shows_only_conversations_of_inboxes_one_can_open(world: World, client_for: Any) -> None:
    private = inbox_actions.create_inbox(world.account, acting_user=world.admin, name="Ledelse", members=[world.agent2])
    hidden_channel = inbox_actions.create_channel(
        private, acting_user=world.admin, kind="email", name="Ledelse", address="ledelse@acme.test"
    )
    shared = world.inbound("Faktura 1009", sender="kari@fjord.no")
    secret = inbox_actions.receive_inbound(
        hidden_channel,
        inbox_actions.InboundMessage(sender_address="kari@fjord.no", sender_name="K", subject="Oppsigelse", text="x"),
    ).conversation
    assert shared.contact_id == secret.contact_id
    agent_view = page(client_for(world.agent), f"/contacts/{shared.contact_id}/")
    assert "Faktura 1009" in agent_view and "Oppsigelse" not in agent_view
    assert "Oppsigelse" in page(client_for(world.agent2), f"/contacts/{shared.contact_id}/")
    assert client_for(world.agent).get(f"/conversations/{secret.pk}/").status_code == 404
    opened = client_for(world.agent).get(f"/conversations/{shared.pk}/")
    assert opened.status_code == 302 and opened["Location"].endswith(f"/c/{shared.pk}/")


def test_the_timeline_pages_newest_first(world: World, client_for: Any) -> None:
    for n in range(35):
        world.inbound(f"Sak {n:02d}", sender="mange@example.com")
    contact_id = Conversation.objects.filter(subject="Sak 00").get().contact_id
    client = client_for(world.agent)
    html = page(client, f"/contacts/{contact_id}/")
    assert html.index("Sak 34") < html.index("Sak 10") and "Sak 04" not in html
    older = html.split('hx-get="')[-1].split('"')[0].replace("&amp;", "&")
    rest = page(client, older)
    assert "Sak 04" in rest and "Sak 00" in rest and "Sak 34" not in rest and "timeline-more" not in rest


def test_merging_shows_a_preview_and_needs_crm_admin(world: World, client_for: Any) -> None:
    keep = actions.create_contact(world.account, acting_user=None, name="Kari Nordmann", email="kari@fjord.no",
                                  identities_=[("email", "kari@fjord.no")])  # fmt: skip
    other = actions.create_contact(world.account, acting_user=None, name="K. Nordmann", email="kari@privat.no",
                                   identities_=[("email", "kari@privat.no")])  # fmt: skip
    world.inbound("Gammel sak", sender="kari@privat.no")
    admin = client_for(world.admin)
    search = page(admin, f"/contacts/{keep.pk}/merge/?q=privat")
    assert f"?other={other.pk}" in search
    preview = page(admin, f"/contacts/{keep.pk}/merge/?other={other.pk}")
    assert "kari@privat.no" in preview and "1 conversation move" in preview
    assert client_for(world.agent).post(f"/contacts/{keep.pk}/merge/", {"other": other.pk}).status_code == 403
    done = admin.post(f"/contacts/{keep.pk}/merge/", {"other": other.pk, "take_email": "other"})
    assert done.status_code == 302
    keep.refresh_from_db()
    assert keep.email == "kari@privat.no"  # chosen in the preview
    assert admin.get(f"/contacts/{other.pk}/")["Location"] == f"/contacts/{keep.pk}/"  # the merged one leads here
    assert "Gammel sak" in page(admin, f"/contacts/{keep.pk}/")


def test_a_new_email_from_the_record_starts_a_conversation_on_its_timeline(world: World, client_for: Any) -> None:
    contact = actions.create_contact(world.account, acting_user=None, name="Ny Kunde", email="ny@kunde.no")
    client = client_for(world.agent)
    form = page(client, f"/contacts/{contact.pk}/email/")
    assert "support@acme.test" in form and "Evil" not in form
    sent = client.post(
        f"/contacts/{contact.pk}/email/", {"channel": world.email.pk, "subject": "Tilbud", "text": "Hei"}
    )
    assert sent.status_code == 302
    conversation = Conversation.objects.get(subject="Tilbud")
    assert sent["Location"].endswith(f"/v/sent/c/{conversation.pk}/") and conversation.contact_id == contact.pk
    assert (
        client.post(
            f"/contacts/{contact.pk}/email/", {"channel": world.other_email.pk, "subject": "x", "text": "y"}
        ).status_code
        == 404
    )
    assert "Tilbud" in page(client, f"/contacts/{contact.pk}/")


def test_about_this_contact_in_the_sidebar_edits_in_place_and_remembers_the_choice(
    world: World, client_for: Any, django_assert_max_num_queries: Any
) -> None:
    conversation = world.inbound("Spørsmål", sender="kari@fjord.no", name="Kari Nordmann")
    contact_id = conversation.contact_id
    client = client_for(world.agent)
    html = page(client, f"/inbox/{world.support.pk}/v/all_open/c/{conversation.pk}/")
    assert 'id="sidebar-about"' in html and 'id="about-email"' in html and 'id="about-job_title"' not in html
    # edited in place: the section comes back drawn anew; a bad value names its field
    bad = client.post(f"/contacts/{contact_id}/about/", {"phone": "ring meg"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and "phone" in json.loads(bad["X-Field-Errors"])
    good = client.post(f"/contacts/{contact_id}/about/", {"lifecycle_stage": "customer"}, HTTP_HX_REQUEST="true")
    assert good.status_code == 200 and 'value="customer" selected' in good.content.decode()
    # which properties show is this person's choice, remembered; another's stays the default
    chosen = client.post(f"/contacts/{contact_id}/about/fields/", {"keys": ["job_title", "nonsense", "email"]})
    assert chosen.status_code == 200
    text = chosen.content.decode()
    assert 'id="about-job_title"' in text and 'id="about-phone"' not in text
    world.agent.refresh_from_db()
    assert world.agent.preferences["about_contact_properties"] == ["job_title", "email"]
    assert 'id="about-phone"' in page(client_for(world.agent2), f"/contacts/{contact_id}/about/")
    # a fixed number of queries however much the contact has
    for n in range(20):
        actions.update_contact(
            Contact.objects.get(pk=contact_id), acting_user=world.admin, values={"job_title": f"T{n}"}
        )
    from samtale.crm.sidebar import about_contact

    with django_assert_max_num_queries(4):
        assert about_contact(contact_id, world.agent2) is not None
    theirs = actions.create_contact(world.other_account, acting_user=None, name="X")
    assert client.post(f"/contacts/{theirs.pk}/about/", {"job_title": "x"}).status_code == 404
    assert client.get(f"/contacts/{theirs.pk}/about/").status_code == 404


def test_custom_properties_are_defined_in_settings_by_crm_admins(world: World, client_for: Any) -> None:
    agent, admin = client_for(world.agent), client_for(world.admin)
    assert "needs the permission" in page(agent, "/settings/contact-properties/")
    assert agent.post("/settings/contact-properties/new/", {"label": "Plan", "type": "text"}).status_code == 403
    empty = admin.post("/settings/contact-properties/new/", {"label": "Plan", "type": "dropdown", "options": ""})
    assert empty.status_code == 400 and "at least one option" in empty.content.decode()
    made = admin.post(
        "/settings/contact-properties/new/", {"label": "Plan", "type": "dropdown", "options": "basic: Basic\npro: Pro"}
    )
    assert made.status_code == 302
    html = page(admin, "/settings/contact-properties/")
    assert "<code>plan</code>" in html and "Pro" in html
    contact = actions.create_contact(world.account, acting_user=None, name="Kari")
    record = page(agent, f"/contacts/{contact.pk}/")
    assert 'name="plan"' in record and ">Pro</option>" in record
    assert agent.post(f"/contacts/{contact.pk}/update/", {"plan": "gold"}).status_code == 400
    assert agent.post(f"/contacts/{contact.pk}/update/", {"plan": "pro"}).status_code == 302
    from samtale.crm.models import PropertyDefinition

    definition = PropertyDefinition.objects.get(account=world.account, key="plan")
    outsider = client_for(world.outsider)
    assert outsider.post(f"/settings/contact-properties/{definition.pk}/delete/").status_code == 404
    assert admin.post(f"/settings/contact-properties/{definition.pk}/delete/").status_code == 302
    contact.refresh_from_db()
    assert contact.properties == {} and 'name="plan"' not in page(agent, f"/contacts/{contact.pk}/")


def test_a_conversations_contact_is_removed_or_another_associated_and_its_timeline_line_follows(
    world: World, client_for: Any
) -> None:
    from samtale.crm.models import TimelineEntry

    conversation = world.inbound("Feil avsender", sender="resepsjon@firma.no", name="Resepsjonen")
    wrong = conversation.contact_id
    right = actions.create_contact(world.account, acting_user=None, name="Kari Nordmann", email="kari@firma.no")
    client = client_for(world.agent)
    found = client.get(f"/c/{conversation.pk}/contact/search/?q=kari+nord")
    assert found.status_code == 200 and "Kari Nordmann" in found.content.decode()
    assert "Evil" not in client.get(f"/c/{conversation.pk}/contact/search/?q=evil").content.decode()
    moved = client.post(f"/c/{conversation.pk}/contact/", {"contact": right.pk}, HTTP_HX_REQUEST="true")
    assert moved.status_code == 204 and moved["HX-Refresh"] == "true"
    conversation.refresh_from_db()
    assert conversation.contact_id == right.pk
    line = TimelineEntry.objects.get(subject_type="conversation", subject_id=conversation.pk)
    assert line.contact_id == right.pk and not TimelineEntry.objects.filter(contact_id=wrong).exists()
    assert client.post(f"/c/{conversation.pk}/contact/", {"contact": ""}).status_code == 204
    conversation.refresh_from_db()
    assert conversation.contact_id is None
    assert not TimelineEntry.objects.filter(subject_type="conversation", subject_id=conversation.pk).exists()
    assert client.post(f"/c/{conversation.pk}/contact/", {"contact": right.pk}).status_code == 204
    assert TimelineEntry.objects.get(subject_type="conversation", subject_id=conversation.pk).contact_id == right.pk
    theirs = actions.create_contact(world.other_account, acting_user=None, name="Evil")
    assert client.post(f"/c/{conversation.pk}/contact/", {"contact": theirs.pk}).status_code == 404
    conversation.refresh_from_db()
    assert conversation.contact_id == right.pk
    html = page(client, f"/inbox/{world.support.pk}/v/all_open/c/{conversation.pk}/")
    assert 'id="contact-remove"' in html and "Change contact" in html


def test_notes_and_tasks_on_the_timeline(world: World, client_for: Any) -> None:
    from zoneinfo import ZoneInfo

    from samtale.availability import actions as availability_actions
    from samtale.crm.models import Task

    availability_actions.set_time_zone(world.agent, acting_user=world.agent, time_zone="Europe/Oslo")
    availability_actions.set_time_zone(world.agent2, acting_user=world.agent2, time_zone="America/New_York")
    contact = actions.create_contact(world.account, acting_user=None, name="Kari Nordmann")
    client = client_for(world.agent)
    assert client.post(f"/contacts/{contact.pk}/notes/", {"text": "  "}).status_code == 400
    assert (
        client.post(f"/contacts/{contact.pk}/notes/", {"text": "Ringte om fakturaen.\nVil ha kreditnota."}).status_code
        == 302
    )
    bad = client.post(f"/contacts/{contact.pk}/tasks/", {"title": "Følg opp", "due_at": "2199-01-01T10:00"})
    assert bad.status_code == 400 and "due_at" in json.loads(bad["X-Field-Errors"])
    assert client.post(f"/contacts/{contact.pk}/tasks/", {"title": "Følg opp", "due_at": "2027-01-04T09:30",
                                                          "owner": world.agent2.pk}).status_code == 302  # fmt: skip
    task = Task.objects.get(contact=contact)
    assert task.owner == world.agent2 and task.due_at is not None
    assert (
        task.due_at.astimezone(ZoneInfo("America/New_York")).strftime("%Y-%m-%d %H:%M") == "2027-01-04 09:30"
    )  # 9:30 where Carol, its owner, works
    html = page(client, f"/contacts/{contact.pk}/")
    assert "2027-01-04 09:30 where the owner is, America/New_York" in html  # Bob reads it in Oslo: both said
    assert "where the owner is" not in page(client_for(world.agent2), f"/contacts/{contact.pk}/")  # Carol: hers
    assert "Vil ha kreditnota." in html and "Følg opp" in html and "Carol Agent" in html and "Mark done" in html
    assert client.post(f"/tasks/{task.pk}/done/", {"done": "1"}).status_code == 302
    task.refresh_from_db()
    assert task.done_at is not None and "Reopen" in page(client, f"/contacts/{contact.pk}/")
    outsider = client_for(world.outsider)
    assert outsider.post(f"/tasks/{task.pk}/done/", {"done": "0"}).status_code == 404
    assert outsider.post(f"/contacts/{contact.pk}/notes/", {"text": "x"}).status_code == 404
    task.refresh_from_db()
    assert task.done_at is not None
