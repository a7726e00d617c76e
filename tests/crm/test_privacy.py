"""A contact's data protection rights: everything held about them exported in one archive (their
conversations with hidden messages marked, comments, files, tickets, notes, tasks, identities,
history), and deleted for good with their conversations, messages, files, tickets and search
entries; CRM admins only; the audit row keeps no personal data. Also: a conversation deleted
forever takes its files from storage."""

from __future__ import annotations

import io
import json
import zipfile
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage

from samtale.core.models import AuditLog
from samtale.crm import actions
from samtale.crm.models import Contact, TimelineEntry
from samtale.crm.privacy import erase_contact
from samtale.inbox import actions as inbox_actions
from samtale.inbox.models import Attachment, Conversation, ConversationSearch, Message
from samtale.inbox.search import matching
from samtale.tickets.actions import create_ticket
from samtale.tickets.models import Ticket
from tests.conftest import World


def _with_file(world: World, sender: str, text: str) -> Conversation:
    part = SimpleNamespace(filename="kvittering.pdf", content_type="application/pdf", payload=b"%PDF-1.4 secret",
                           content_id="", inline=False, path=None)  # fmt: skip
    return world.inbound(subject="Refusjon", text=text, sender=sender, attachments=[part])


def test_the_export_holds_everything_about_the_person(world: World, client_for: Any) -> None:
    conversation = _with_file(world, "kari@fjord.no", "Kontonummer 1234.56.78901")
    contact = conversation.contact
    assert contact is not None
    inbox_actions.add_comment(conversation, acting_user=world.agent, text="Ring henne i morgen")
    inbox_actions.hide_message(world.first_message(conversation), acting_user=world.agent)
    create_ticket(world.account, acting_user=world.agent, conversation=conversation, name="Refusjon 42")
    actions.add_note(contact, acting_user=world.agent, text="Foretrekker e-post")
    from samtale.crm import objects

    kind = objects.define_type(world.account, acting_user=world.admin, singular="Abonnement", plural="Abonnementer",
                               fields=[("Plan", "text", "")])  # fmt: skip
    objects.save_record(kind, acting_user=world.agent, values={objects.definitions(kind)[0].key: "Pro"},
                        contact_ids=[contact.pk])  # fmt: skip
    assert client_for(world.agent).get(f"/contacts/{contact.pk}/data.zip").status_code == 403
    response = client_for(world.admin).get(f"/contacts/{contact.pk}/data.zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    document = json.loads(archive.read("contact.json"))
    assert document["contact"]["email"] == "kari@fjord.no"
    assert {"kind": "email", "value": "kari@fjord.no"}.items() <= document["contact"]["identities"][0].items()
    assert document["contact"]["notes"][0]["text"] == "Foretrekker e-post"
    (held,) = document["conversations"]
    message = held["messages"][0]
    assert message["text"].startswith("Kontonummer") and message["hidden"] is True
    assert held["comments"][0]["text"] == "Ring henne i morgen"
    assert document["tickets"][0]["name"] == "Refusjon 42"
    assert document["contact"]["records"][0]["label"] == "Pro"
    inside = message["attachments"][0]["in_archive"]
    assert archive.read(inside) == b"%PDF-1.4 secret"


def test_erasing_deletes_the_person_their_conversations_files_tickets_and_search(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    conversation = _with_file(world, "kari@fjord.no", "Zebrafinken min er syk")
    other = world.inbound(subject="Someone else", text="Zebrafinken", sender="ola@example.com")
    contact = conversation.contact
    assert contact is not None
    create_ticket(world.account, acting_user=world.agent, conversation=conversation, name="Refusjon 42")
    create_ticket(world.account, acting_user=world.agent, contact=contact, name="Without a conversation")
    stored = Attachment.objects.get().file.name
    assert default_storage.exists(stored)
    with pytest.raises(PermissionDenied):
        erase_contact(contact, acting_user=world.agent)
    contact_id = contact.pk
    with django_capture_on_commit_callbacks(execute=True):
        counts = erase_contact(contact, acting_user=world.admin)
    assert counts == {"conversations": 1, "tickets": 1, "deals": 0, "feedback": 0}
    assert not Contact.objects.filter(pk=contact_id).exists()
    assert (
        not Conversation.objects.filter(pk=conversation.pk).exists()
        and not Message.objects.filter(conversation_id=conversation.pk).exists()
    )
    assert not ConversationSearch.objects.filter(conversation_id=conversation.pk).exists()
    assert not Ticket.objects.exists() and not TimelineEntry.objects.filter(contact_id=contact_id).exists()
    assert not default_storage.exists(stored)
    found = matching(Conversation.objects.filter(account=world.account), "zebrafinken")
    assert list(found.values_list("pk", flat=True)) == [other.pk]  # the other person's stays
    entry = AuditLog.objects.get(verb="contact.erased")
    assert entry.data == {"contact_id": contact_id, "conversations": 1, "tickets": 1, "deals": 0, "feedback": 0}
    assert "kari" not in json.dumps([e.data for e in AuditLog.objects.filter(verb__startswith="contact.")])


def test_a_conversation_deleted_forever_takes_its_files_from_storage(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    conversation = _with_file(world, "kari@fjord.no", "Her er filen")
    stored = Attachment.objects.get().file.name
    inbox_actions.trash_conversation(conversation, acting_user=world.agent)
    with django_capture_on_commit_callbacks(execute=True):
        inbox_actions.delete_conversation_forever(conversation, acting_user=world.agent)
    assert not default_storage.exists(stored)


def test_another_accounts_contact_cannot_be_exported_or_erased(world: World, client_for: Any) -> None:
    theirs = actions.create_contact(world.other_account, acting_user=None, name="Evil", email="x@evil.test")
    client = client_for(world.admin)
    assert client.get(f"/contacts/{theirs.pk}/data.zip").status_code == 404
    assert client.post(f"/contacts/{theirs.pk}/erase/").status_code == 404
    assert Contact.objects.filter(pk=theirs.pk).exists()
