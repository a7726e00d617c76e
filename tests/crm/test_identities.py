"""Contacts are found by identity: one address, number or visitor is one person per account;
merging moves identities, conversations, visitors and timeline; the timeline is written by the
actions that did things."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from samtale.core import batching
from samtale.core.models import AuditLog
from samtale.crm import actions
from samtale.crm.identities import normalize, normalize_phone
from samtale.crm.models import Contact, ContactIdentity, TimelineEntry
from samtale.inbox import actions as inbox_actions
from samtale.inbox.models import Conversation
from tests.conftest import World


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("+47 22 33 44 55", "+4722334455"),
        ("0047 22 33 44 55", "+4722334455"),
        ("22 33 44 55", "+4722334455"),  # no prefix: the default country (47)
        ("(+44) 20-7946.0958", "+442079460958"),
        ("+1 (415) 555-2671", "+14155552671"),
    ],
)
def test_phone_numbers_are_stored_in_e164(typed: str, expected: str) -> None:
    assert normalize_phone(typed) == expected


@pytest.mark.parametrize("typed", ["", "ring meg", "+0 123 456 789", "+47 12", "+47" + "1" * 20, "12a34567"])
def test_what_is_not_a_number_is_refused_with_a_message(typed: str) -> None:
    with pytest.raises(ValidationError) as error:
        normalize_phone(typed)
    assert error.value.code == "phone"


def test_identities_are_normalized_by_kind() -> None:
    assert normalize("email", "  Kari@Example.COM ") == "kari@example.com"
    assert normalize("visitor", "6F1C8E0A-0000-4000-8000-000000000001") == "6f1c8e0a000040008000000000000001"
    assert normalize("messenger", "1234567890") == "1234567890"
    for kind, value in [("email", "no-at"), ("visitor", "x"), ("messenger", "12ab"), ("fax", "1")]:
        with pytest.raises(ValidationError):
            normalize(kind, value)


def test_mail_from_one_address_in_any_case_is_one_contact(world: World) -> None:
    first = world.inbound("One", sender="Kari.Nordmann@Example.com", name="Kari Nordmann")
    second = world.inbound("Two", sender="kari.nordmann@example.COM", name="")
    assert first.contact_id == second.contact_id
    contact = Contact.objects.get(pk=first.contact_id)
    assert (contact.name, contact.email) == ("Kari Nordmann", "kari.nordmann@example.com")
    assert list(contact.identities.values_list("kind", "value")) == [("email", "kari.nordmann@example.com")]


def test_the_same_address_in_another_account_is_another_person(world: World) -> None:
    ours = world.inbound("Ours", sender="kari@example.com")
    theirs = inbox_actions.receive_inbound(
        world.other_email,
        inbox_actions.InboundMessage(sender_address="kari@example.com", sender_name="K", subject="x", text="y"),
    ).conversation
    assert ours.contact_id != theirs.contact_id
    assert Contact.objects.get(pk=theirs.contact_id).account_id == world.other_account.pk
    assert actions.find_contact_by_email(world.account.pk, "kari@example.com").pk == ours.contact_id  # type: ignore[union-attr]


def test_a_sender_that_is_not_an_address_gets_no_contact_and_the_mail_is_kept(world: World) -> None:
    conversation = world.inbound("Broken From", sender="undisclosed-recipients")
    assert conversation.contact_id is None and conversation.messages.count() == 1


def test_an_address_of_another_contact_cannot_be_added_twice(world: World) -> None:
    kari = actions.create_contact(
        world.account, acting_user=world.admin, name="Kari", identities_=[("email", "k@x.no")]
    )
    ola = actions.create_contact(world.account, acting_user=world.admin, name="Ola")
    with pytest.raises(ValidationError) as error:
        actions.add_identity(ola, kind="email", value="K@X.no", acting_user=world.admin)
    assert error.value.code == "identity_taken" and "merge" in str(error.value)
    actions.add_identity(ola, kind="phone", value="+47 900 00 000", acting_user=world.admin)
    assert actions.find_contact(world.account.pk, "phone", "+4790000000") == ola
    assert actions.find_contact(world.account.pk, "email", "k@x.no") == kari
    assert AuditLog.objects.filter(verb="contact.identity_added", object_id=ola.pk).count() == 1


def test_a_lost_race_for_a_new_address_finds_the_winner(world: World, monkeypatch: Any) -> None:
    """Another process created the contact between our lookup and our insert: we use theirs."""
    winner = actions.create_contact(world.account, acting_user=None, identities_=[("email", "race@x.no")])
    real = actions.find_contact
    calls = []

    def blind_once(account_id: int, kind: str, value: str) -> Contact | None:
        calls.append(value)
        return None if len(calls) == 1 else real(account_id, kind, value)

    monkeypatch.setattr(actions, "find_contact", blind_once)
    before = Contact.objects.count()
    found = actions.contact_for_identity(world.account, "email", "race@x.no")
    assert found == winner and len(calls) == 2
    assert Contact.objects.count() == before  # ours was undone with its savepoint
    assert ContactIdentity.objects.filter(value="race@x.no").count() == 1


def test_in_a_batch_a_lost_race_fails_the_batch_instead_of_a_savepoint(world: World, monkeypatch: Any) -> None:
    actions.create_contact(world.account, acting_user=None, identities_=[("email", "race@x.no")])
    monkeypatch.setattr(actions, "find_contact", lambda *args: None)
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic(), batching.batch():
        actions.contact_for_identity(world.account, "email", "race@x.no")


def test_a_batch_looks_each_address_up_once(world: World, django_assert_num_queries: Any) -> None:
    actions.create_contact(world.account, acting_user=None, identities_=[("email", "a@x.no")])
    with batching.batch():
        actions.prefetch_contacts(world.account.pk, ["a@x.no", "b@x.no"])
        with django_assert_num_queries(0):
            assert actions.find_contact(world.account.pk, "email", "a@x.no") is not None
            assert actions.find_contact(world.account.pk, "email", "b@x.no") is None


def test_merging_moves_identities_conversations_visitors_and_timeline(world: World) -> None:
    from samtale.channels.chat.models import ChatWidget, Visitor

    old = world.inbound("Old question", sender="kari@old.no", name="Kari N")
    new = world.inbound("New question", sender="kari@new.no", name="")
    keep, other = Contact.objects.get(pk=new.contact_id), Contact.objects.get(pk=old.contact_id)
    actions.add_identity(other, kind="phone", value="+47 911 11 111", acting_user=world.admin)
    widget = ChatWidget.objects.get(channel=world.chat)
    visitor = Visitor.objects.create(widget=widget, account_id=world.account.pk, contact=other)

    actions.merge_contacts(keep, other, acting_user=world.admin)

    keep.refresh_from_db()
    other.refresh_from_db()
    assert other.merged_into_id == keep.pk
    assert keep.name == "Kari N"  # what the kept one lacked is taken from the other
    assert sorted(keep.identities.values_list("value", flat=True)) == ["+4791111111", "kari@new.no", "kari@old.no"]
    assert set(Conversation.objects.filter(pk__in=[old.pk, new.pk]).values_list("contact_id", flat=True)) == {keep.pk}
    assert Visitor.objects.get(pk=visitor.pk).contact_id == keep.pk
    kinds = list(TimelineEntry.objects.filter(contact=keep).order_by("-at", "-id").values_list("kind", "subject_id"))
    assert kinds[0] == ("contact.merged", other.pk)
    assert {("conversation.started", old.pk), ("conversation.started", new.pk)} <= set(kinds)
    assert not TimelineEntry.objects.filter(contact=other).exists()
    assert AuditLog.objects.filter(verb="contact.merged", object_id=keep.pk).count() == 1
    # mail from the merged contact's address now finds the kept one
    assert world.inbound("Third", sender="kari@old.no").contact_id == keep.pk


def test_merging_refuses_itself_another_account_and_a_contact_merged_already(world: World) -> None:
    a = actions.create_contact(world.account, acting_user=None, name="A")
    b = actions.create_contact(world.account, acting_user=None, name="B")
    c = actions.create_contact(world.account, acting_user=None, name="C")
    foreign = actions.create_contact(world.other_account, acting_user=None, name="F")
    for keep, other in [(a, a), (a, foreign)]:
        with pytest.raises(ValidationError):
            actions.merge_contacts(keep, other, acting_user=world.admin)
    actions.merge_contacts(a, b, acting_user=world.admin)
    with pytest.raises(ValidationError):
        actions.merge_contacts(c, b, acting_user=world.admin)
    assert Contact.objects.get(pk=foreign.pk).merged_into_id is None


def test_a_conversation_starts_a_line_on_its_contacts_timeline_and_deleting_it_forever_removes_it(
    world: World,
) -> None:
    conversation = world.inbound("Faktura 1009", sender="kari@example.com")
    entry = TimelineEntry.objects.get(subject_type="conversation", subject_id=conversation.pk)
    assert (entry.contact_id, entry.kind, entry.title) == (
        conversation.contact_id,
        "conversation.started",
        "Faktura 1009",
    )
    assert entry.data == {"channel_kind": "email", "inbox_id": world.support.pk, "outbound": False}
    # a second message in the thread is not a second line
    inbox_actions.receive_inbound(
        world.email,
        inbox_actions.InboundMessage(
            sender_address="kari@example.com", sender_name="K", subject="Re: Faktura 1009", text="mer",
            conversation=conversation,
        ),
    )  # fmt: skip
    assert TimelineEntry.objects.filter(subject_type="conversation", subject_id=conversation.pk).count() == 1
    inbox_actions.trash_conversation(conversation, acting_user=world.admin)
    inbox_actions.delete_conversation_forever(conversation, acting_user=world.admin)
    assert not TimelineEntry.objects.filter(subject_type="conversation", subject_id=conversation.pk).exists()


def test_a_new_email_from_the_inbox_is_on_the_timeline_with_who_sent_it(world: World) -> None:
    conversation = inbox_actions.compose_conversation(
        world.email, acting_user=world.agent, to="Ny.Kunde@Example.com", subject="Tilbud", text="Hei"
    )
    entry = TimelineEntry.objects.get(subject_type="conversation", subject_id=conversation.pk)
    assert entry.actor == world.agent and entry.data["outbound"] is True
    assert entry.contact.identities.get().value == "ny.kunde@example.com"
    assert conversation.messages.get().recipients == ["ny.kunde@example.com"]
