from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from samtale.core.models import AuditLog
from samtale.inbox import actions
from samtale.inbox.models import Conversation, Message, Notification
from tests.conftest import World


def test_comment_mentions_notify_the_teammate_and_publish_to_them(
    world: World, published, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    c = world.inbound("Help")
    with django_capture_on_commit_callbacks(execute=True):
        comment = actions.add_comment(c, acting_user=world.agent, text="@Carol Agent can you check? cc @nobody")
    assert list(comment.mentions.all()) == [world.agent2]
    note = Notification.objects.get(user=world.agent2)
    assert note.kind == "mention" and note.comment == comment and note.actor == world.agent
    types = [(e.type, e.groups) for e in published]
    assert ("notification.created", (f"user.{world.agent2.pk}",)) in types
    assert ("conversation.changed", (f"inbox.{world.support.pk}",)) in types
    assert not Message.objects.filter(conversation=c, text__contains="Carol").exists()  # never sent to the contact


def test_mentions_match_longest_names_and_only_inbox_members(world: World) -> None:
    found = actions.find_mentions("@Bob Agent and @Eve Outsider", [world.agent, world.agent2])
    assert found == [world.agent]
    c = world.inbound("x")
    comment = actions.add_comment(c, acting_user=world.agent, text="@Eve Outsider look")
    assert list(comment.mentions.all()) == []


def test_assigning_notifies_the_new_owner_and_audits(world: World) -> None:
    c = world.inbound("Assign me")
    actions.assign_conversation(c, acting_user=world.agent, owner=world.agent2)
    assert Conversation.objects.get(pk=c.pk).owner == world.agent2
    assert Notification.objects.filter(user=world.agent2, kind="assignment").count() == 1
    assert AuditLog.objects.filter(verb="conversation.assigned", object_id=c.pk, actor=world.agent).exists()


def test_cannot_assign_to_someone_outside_the_inbox(world: World) -> None:
    c = world.inbound("x")
    with pytest.raises(ValidationError):
        actions.assign_conversation(c, acting_user=world.agent, owner=world.outsider)


def test_close_and_reopen(world: World) -> None:
    c = world.inbound("x")
    actions.close_conversation(c, acting_user=world.agent)
    assert Conversation.objects.get(pk=c.pk).status == "closed"
    actions.reopen_conversation(c, acting_user=world.agent)
    assert Conversation.objects.get(pk=c.pk).status == "open"


def test_a_new_inbound_message_reopens_a_closed_conversation(world: World) -> None:
    c = world.inbound("x")
    actions.close_conversation(c, acting_user=world.agent)
    actions.receive_inbound(
        world.email, actions.InboundMessage(sender_address="kunde@example.com", text="Still broken", conversation=c)
    )
    assert Conversation.objects.get(pk=c.pk).status == "open"


def test_reply_is_stored_queued_and_searchable(world: World) -> None:
    c = world.inbound("x")
    m = actions.reply_to_conversation(
        c, acting_user=world.agent, html="<p>Hi <b>there</b><script>alert(1)</script></p>"
    )
    assert m.delivery_status == "queued" and m.direction == "out"
    assert "<script" not in m.html and "<b>there</b>" in m.html
    assert m.text == "Hi there"
    with pytest.raises(ValidationError):
        actions.reply_to_conversation(c, acting_user=world.agent, html="<p> </p>")


def test_inbound_html_is_sanitized(world: World) -> None:
    c = world.inbound(
        "x",
        text="",
        html='<p onclick="x()">Hi<img src="https://tracker.example/p.gif" onerror="alert(1)"><a href="javascript:alert(1)">l</a></p>',
    )
    html = world.first_message(c).html
    assert "onclick" not in html and "onerror" not in html and "javascript:" not in html
    assert " src=" not in html and 'data-src="https://tracker.example/p.gif"' in html  # nothing loads until asked


def test_trash_restore_and_delete_forever(world: World) -> None:
    c = world.inbound("x")
    with pytest.raises(ValidationError):
        actions.delete_conversation_forever(c, acting_user=world.agent)
    actions.trash_conversation(c, acting_user=world.agent)
    actions.restore_conversation(c, acting_user=world.agent)
    assert Conversation.objects.get(pk=c.pk).trashed_at is None
    actions.trash_conversation(c, acting_user=world.agent)
    actions.delete_conversation_forever(c, acting_user=world.agent)
    assert not Conversation.objects.filter(pk=c.pk).exists()
    assert not Message.objects.filter(conversation_id=c.pk).exists()


def test_hiding_needs_the_permission_and_showing_needs_admin_or_hider(world: World) -> None:
    c = world.inbound("x")
    m = world.first_message(c)
    with pytest.raises(PermissionDenied):
        actions.hide_message(m, acting_user=world.agent2)
    actions.hide_message(m, acting_user=world.agent)
    assert Message.objects.get(pk=m.pk).hidden_by == world.agent
    with pytest.raises(PermissionDenied):
        actions.show_message(m, acting_user=world.agent2)
    actions.show_message(m, acting_user=world.admin)
    assert Message.objects.get(pk=m.pk).hidden_at is None
    actions.hide_message(m, acting_user=world.admin)
    with pytest.raises(PermissionDenied):
        actions.show_message(m, acting_user=world.agent)  # hidden by someone else


def test_bulk_close_and_trash_reject_foreign_ids(world: World) -> None:
    a, b = world.inbound("a", sender="a@example.com"), world.inbound("b", sender="b@example.com")
    assert sorted(actions.bulk_close(world.support, acting_user=world.agent, ids=[a.pk, b.pk])) == sorted([a.pk, b.pk])
    assert set(Conversation.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True)) == {"closed"}
    foreign = actions.receive_inbound(
        world.other_email, actions.InboundMessage(sender_address="z@example.com", text="z")
    ).conversation
    from django.http import Http404

    with pytest.raises(Http404):
        actions.bulk_trash(world.support, acting_user=world.agent, ids=[a.pk, foreign.pk])
    assert Conversation.objects.get(pk=a.pk).trashed_at is None
    assert actions.bulk_trash(world.support, acting_user=world.agent, ids=[a.pk]) == [a.pk]


def test_bulk_restore_and_delete_forever_act_on_trash_only(world: World) -> None:
    from samtale.inbox import queries

    a, b, c = (world.inbound(s, sender=f"{s}@example.com") for s in ("ta", "tb", "tc"))
    assert len(actions.bulk_trash(world.support, acting_user=world.agent, ids=[a.pk, b.pk])) == 2
    # restore: only what is in Trash (c never was)
    assert actions.bulk_restore(world.support, acting_user=world.agent, ids=[a.pk, c.pk]) == [a.pk]
    assert Conversation.objects.get(pk=a.pk).trashed_at is None
    # delete forever: only what is in Trash; the open one is left alone
    assert actions.bulk_delete_forever(world.support, acting_user=world.agent, ids=[b.pk, c.pk]) == 1
    assert not Conversation.objects.filter(pk=b.pk).exists() and Conversation.objects.filter(pk=c.pk).exists()
    for user in (world.agent, world.admin):
        assert queries.view_counts(world.support, user) == queries.view_counts_exact(world.support, user)
    foreign = actions.receive_inbound(
        world.other_email, actions.InboundMessage(sender_address="z@example.com", text="z")
    ).conversation
    from django.http import Http404

    with pytest.raises(Http404):
        actions.bulk_delete_forever(world.support, acting_user=world.agent, ids=[foreign.pk])
    with pytest.raises(Http404):
        actions.bulk_restore(world.support, acting_user=world.agent, ids=[foreign.pk])
    assert Conversation.objects.filter(pk=foreign.pk).exists()


def test_duplicate_external_ids_are_stored_once(world: World) -> None:
    first = actions.receive_inbound(
        world.email, actions.InboundMessage(sender_address="d@example.com", text="x", external_id="<abc@x>")
    )
    again = actions.receive_inbound(
        world.email, actions.InboundMessage(sender_address="d@example.com", text="x", external_id="<abc@x>")
    )
    assert first.pk == again.pk and Message.objects.filter(external_id="<abc@x>").count() == 1


def test_members_without_inbox_access_cannot_act(world: World) -> None:
    from django.http import Http404

    c = world.inbound("x")
    with pytest.raises(Http404):
        actions.close_conversation(c, acting_user=world.outsider)


def test_inbox_settings_need_the_permission(world: World) -> None:
    with pytest.raises(PermissionDenied):
        actions.create_inbox(world.account, acting_user=world.noperm, name="Mine")
    with pytest.raises(PermissionDenied):
        actions.create_channel(world.support, acting_user=world.agent, kind="chat", name="x")
    inbox = actions.create_inbox(world.account, acting_user=world.admin, name="Second")
    actions.add_inbox_member(inbox, acting_user=world.admin, user=world.agent)
    assert list(inbox.members.all()) == [world.agent]
    with pytest.raises(PermissionDenied):
        actions.add_inbox_member(inbox, acting_user=world.admin, user=world.outsider)
    channel = actions.create_channel(
        inbox, acting_user=world.admin, kind="email", name="Sales", address="Sales@Acme.test"
    )
    assert channel.address == "sales@acme.test"
    with pytest.raises(ValidationError):
        actions.create_channel(inbox, acting_user=world.admin, kind="email", name="dup", address="sales@acme.test")


def test_a_bot_conversation_closes_only_after_thirty_quiet_minutes(world: World) -> None:
    from datetime import timedelta

    import time_machine

    c = world.inbound("Bot chat", channel=world.chat, bot="Welcome bot")
    with pytest.raises(ValidationError):
        actions.close_conversation(c, acting_user=world.agent)
    assert actions.bulk_close(world.support, acting_user=world.agent, ids=[c.pk]) == []
    with time_machine.travel(timedelta(minutes=31)):
        actions.close_conversation(c, acting_user=world.agent)
    assert Conversation.objects.get(pk=c.pk).status == "closed"
    handed = world.inbound("Handed over", channel=world.chat, bot="Welcome bot", sender="h@example.com")
    actions.assign_conversation(handed, acting_user=world.agent, owner=world.agent)
    actions.close_conversation(handed, acting_user=world.agent)  # a person owns it now
