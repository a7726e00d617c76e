"""Tickets (D2, C1, C8): created from a conversation (prefilled, one per conversation), moved
through the pipeline, closed together with the conversation and reopened with it, deleted with
the conversation (C1) or a blocked sender (C8), on the contact's timeline, and through HTTP: the
sidebar card, the list, the board and the record, with another account's ids as 404."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from samtale.crm import actions as crm_actions
from samtale.crm.models import PipelineKind, Stage, TimelineEntry
from samtale.crm.pipelines import create_pipeline, default_pipeline
from samtale.inbox import actions as inbox_actions
from samtale.inbox.models import Status
from samtale.tickets import actions
from samtale.tickets.models import Ticket
from tests.conftest import World


def stage(world: World, name: str) -> Stage:
    return default_pipeline(world.account, PipelineKind.TICKET).stages.get(name=name)


def test_a_ticket_from_a_conversation_is_prefilled_and_one_per_conversation(
    world: World, published: Any, django_capture_on_commit_callbacks: Any
) -> None:
    conversation = world.inbound(subject="Printer on fire", sender="kari@fjord.no", name="Kari Nordmann")
    inbox_actions.assign_conversation(conversation, acting_user=world.admin, owner=world.agent2)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = actions.create_ticket(
            world.account, acting_user=world.agent, conversation=conversation, name="Printer"
        )
    assert ticket.contact == conversation.contact and ticket.owner == world.agent2  # the conversation's
    assert [s.name for s in ticket.pipeline.stages.all()] == ["New", "Waiting on contact", "Waiting on us", "Closed"]
    assert ticket.stage.name == "New" and ticket.priority == "medium" and not ticket.is_closed
    with pytest.raises(ValidationError, match="has a ticket already"):
        actions.create_ticket(world.account, acting_user=world.agent, conversation=conversation, name="Again")
    line = TimelineEntry.objects.get(contact=conversation.contact, subject_type="ticket")
    assert (line.kind, line.title, line.data["stage"]) == ("ticket.created", "Printer", "New")
    assert any(e.type == "ticket.changed" for e in published)
    assert any(e.type == "conversation.changed" and e.data.get("change") == "ticket" for e in published)


def test_bad_values_are_named_by_field(world: World) -> None:
    conversation = world.inbound()
    other_stage = default_pipeline(world.other_account, PipelineKind.TICKET).stages.first()
    with pytest.raises(ValidationError) as caught:
        actions.create_ticket(
            world.account, acting_user=world.agent, conversation=conversation, name="x" * 201, priority="huge",
            category="nope", owner=world.outsider.pk, stage=other_stage.pk,  # type: ignore[union-attr]
        )  # fmt: skip
    assert {"stage"} <= set(caught.value.message_dict)
    with pytest.raises(ValidationError) as caught:
        actions.create_ticket(
            world.account, acting_user=world.agent, conversation=conversation, name="x" * 201, priority="huge",
            category="nope", owner=world.outsider.pk,
        )  # fmt: skip
    assert {"name", "priority", "category", "owner"} <= set(caught.value.message_dict)
    assert not Ticket.objects.exists()


def test_closing_with_the_ticket_and_reopening_takes_it_out_of_closed(world: World) -> None:
    conversation = world.inbound()
    ticket = actions.create_ticket(world.account, acting_user=world.agent, conversation=conversation, name="T")
    actions.move_ticket(ticket, acting_user=world.agent, stage=stage(world, "Waiting on us").pk)
    actions.close_conversation(conversation, acting_user=world.agent, close_ticket=True)
    ticket.refresh_from_db()
    conversation.refresh_from_db()
    assert conversation.status == Status.CLOSED and ticket.is_closed and ticket.stage.name == "Closed"
    inbox_actions.reopen_conversation(conversation, acting_user=world.agent)
    ticket.refresh_from_db()
    assert not ticket.is_closed and ticket.stage.name == "Waiting on us"  # where it was
    # only the conversation: the ticket stays as it is
    actions.close_conversation(conversation, acting_user=world.agent, close_ticket=False)
    ticket.refresh_from_db()
    assert not ticket.is_closed


def test_a_customer_reply_reopens_the_conversation_and_its_ticket(world: World) -> None:
    conversation = world.inbound(subject="Help", sender="kari@fjord.no")
    ticket = actions.create_ticket(world.account, acting_user=world.agent, conversation=conversation, name="T")
    actions.close_conversation(conversation, acting_user=world.agent, close_ticket=True)
    world.inbound(subject="Re: Help", sender="kari@fjord.no", conversation=conversation)
    ticket.refresh_from_db()
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN and not ticket.is_closed and ticket.stage.name == "New"


def test_deleting_the_conversation_forever_or_blocking_the_sender_deletes_the_ticket(world: World) -> None:
    first = world.inbound(subject="One", sender="a@example.com")
    second = world.inbound(subject="Two", sender="b@example.com")
    third = world.inbound(subject="Three", sender="c@example.com")
    for c in (first, second, third):
        actions.create_ticket(world.account, acting_user=world.agent, conversation=c, name=c.subject)
    inbox_actions.trash_conversation(first, acting_user=world.agent)
    inbox_actions.delete_conversation_forever(first, acting_user=world.agent)  # C1
    inbox_actions.block_sender(second, acting_user=world.agent)  # C8
    assert list(Ticket.objects.values_list("name", flat=True)) == ["Three"]
    assert not TimelineEntry.objects.filter(subject_type="ticket", title__in=["One", "Two"]).exists()
    inbox_actions.trash_conversation(third, acting_user=world.agent)
    inbox_actions.bulk_delete_forever(world.support, acting_user=world.agent, ids=[third.pk])
    assert not Ticket.objects.exists()


def test_deleting_a_ticket_by_hand_needs_crm_admin(world: World) -> None:
    ticket = actions.create_ticket(world.account, acting_user=world.agent, conversation=world.inbound(), name="T")
    with pytest.raises(PermissionDenied):
        actions.delete_tickets([ticket], acting_user=world.agent)
    actions.delete_tickets([ticket], acting_user=world.admin)
    assert not Ticket.objects.exists()


def test_merging_contacts_moves_their_tickets(world: World) -> None:
    a = world.inbound(sender="a@example.com")
    b = world.inbound(sender="b@example.com")
    ticket = actions.create_ticket(world.account, acting_user=world.agent, conversation=b, name="T")
    crm_actions.merge_contacts(a.contact, b.contact, acting_user=world.admin)  # type: ignore[arg-type]
    ticket.refresh_from_db()
    assert ticket.contact_id == a.contact_id


def test_pipelines_are_defined_by_crm_admins_with_valid_stages(world: World) -> None:
    with pytest.raises(PermissionDenied):
        create_pipeline(world.account, acting_user=world.agent, kind="ticket", name="P", stages=[("A", False, None)])
    with pytest.raises(ValidationError, match="not closed"):
        create_pipeline(world.account, acting_user=world.admin, kind="ticket", name="P", stages=[("Done", True, None)])
    with pytest.raises(ValidationError, match="Two stages"):
        create_pipeline(world.account, acting_user=world.admin, kind="ticket", name="P",
                        stages=[("A", False, None), ("a", False, None)])  # fmt: skip
    billing = create_pipeline(world.account, acting_user=world.admin, kind="ticket", name="Billing",
                              stages=[("Open", False, None), ("Paid", True, None)])  # fmt: skip
    names = [p.name for p in billing.__class__.objects.filter(account=world.account)]
    assert names == ["Support", "Billing"]  # the default made first, so it stays first
    ticket = actions.create_ticket(world.account, acting_user=world.agent, conversation=world.inbound(), name="T")
    # a stage of another pipeline moves the ticket to that pipeline
    paid = billing.stages.get(name="Paid")
    actions.update_ticket(ticket, acting_user=world.agent, values={"stage": paid.pk})
    ticket.refresh_from_db()
    assert (ticket.pipeline, ticket.is_closed) == (billing, True)


def test_the_sidebar_card_creates_and_edits_the_ticket(world: World, client_for: Any) -> None:
    conversation = world.inbound(subject="Invoice question", sender="kari@fjord.no")
    client: Client = client_for(world.agent)
    card = client.get(f"/c/{conversation.pk}/ticket/").content.decode()
    assert 'id="ticket-create-form"' in card and 'value="Invoice question"' in card
    bad = client.post(f"/c/{conversation.pk}/ticket/", {"name": "", "priority": "huge"})
    assert bad.status_code == 400 and {"name", "priority"} <= set(json.loads(bad["X-Field-Errors"]))
    made = client.post(
        f"/c/{conversation.pk}/ticket/", {"name": "Invoice 42", "priority": "high", "category": "billing"}
    )
    assert made.status_code == 200 and "Invoice 42" in made.content.decode()
    assert json.loads(made["HX-Trigger"])["samtale:redraw"] is True
    ticket = Ticket.objects.get()
    assert (ticket.priority, ticket.category, ticket.owner) == ("high", "billing", world.agent)
    thread = client.get(f"/c/{conversation.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="thread-ticket-link"' in thread and 'id="close-both-btn"' in thread
    moved = client.post(
        f"/tickets/{ticket.pk}/update/", {"from": "card", "stage": stage(world, "Waiting on contact").pk}
    )
    assert moved.status_code == 200 and "Waiting on contact" in moved.content.decode()
    shown = client.post(f"/c/{conversation.pk}/ticket/details/", {"keys": ["created_by", "nonsense"]})
    assert shown.status_code == 200 and "Created by" in shown.content.decode()
    world.agent.refresh_from_db()
    assert world.agent.preferences["ticket_detail_properties"] == ["created_by"]
    closed = client.post(f"/c/{conversation.pk}/close-with-ticket/", {"ticket": "1"})
    assert closed.status_code == 204 and "reopen" in json.loads(closed["HX-Trigger"])["samtale:undo"]["url"]
    ticket.refresh_from_db()
    assert ticket.is_closed


def test_the_list_board_and_record_filter_page_and_move(world: World, client_for: Any, monkeypatch: Any) -> None:
    from samtale.tickets import queries

    monkeypatch.setattr(queries, "PAGE", 20)
    conversations = [world.inbound(subject=f"Case {n:02d}", sender=f"c{n}@example.com") for n in range(30)]
    tickets = [actions.create_ticket(world.account, acting_user=world.agent, conversation=c, name=c.subject)
               for c in conversations]  # fmt: skip
    actions.update_ticket(tickets[0], acting_user=world.agent, values={"priority": "urgent"})
    client: Client = client_for(world.agent2)
    html = client.get("/tickets/?priority=urgent").content.decode()
    assert "Case 00" in html and "Case 01" not in html
    first = client.get("/tickets/").content.decode()
    assert 'id="next-page"' in first and "Case 29" in first and "Case 00" not in first
    cursor = first.split("after=")[1].split('"')[0]
    assert "Case 00" in client.get(f"/tickets/?after={cursor}").content.decode()
    assert client.get("/tickets/?after=junk&created_from=99999-1-1&owner=x&stage=-1").status_code == 200
    board = client.get("/tickets/board/")
    assert board.status_code == 302
    html = client.get(board["Location"]).content.decode()
    assert html.count('class="board-column"') == 4 and "data-count>30<" in html.replace(" ", "")
    assert "Show more" in html  # 25 a column
    waiting = stage(world, "Waiting on us")
    moved = client.post(f"/tickets/{tickets[3].pk}/move/", {"stage": waiting.pk})
    assert moved.status_code == 200 and f'id="ticket-card-{tickets[3].pk}"' in moved.content.decode()
    assert client.post(f"/tickets/{tickets[3].pk}/move/", {"stage": "999999"}).status_code == 400
    record = client.get(f"/tickets/{tickets[3].pk}/").content.decode()
    assert "moved it to Waiting on us" in record and "Carol Agent" in record


def test_another_accounts_tickets_are_404(world: World, client_for: Any) -> None:
    theirs = actions.create_ticket(
        world.other_account, acting_user=world.outsider, conversation=world.inbound(channel=world.other_email), name="X"
    )
    client: Client = client_for(world.agent)
    for url in (f"/tickets/{theirs.pk}/", f"/tickets/board/{theirs.pipeline_id}/"):
        assert client.get(url).status_code == 404, url
    for url in (f"/tickets/{theirs.pk}/update/", f"/tickets/{theirs.pk}/move/", f"/tickets/{theirs.pk}/delete/"):
        assert client.post(url, {"name": "mine", "stage": theirs.stage_id}).status_code == 404, url
    theirs.refresh_from_db()
    assert theirs.name == "X"


def test_the_tickets_pieces_of_the_conversation_cost_the_same_however_many_tickets(world: World) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from samtale.core.sidebar import sections_for
    from samtale.inbox.models import Conversation

    conversation = world.inbound(subject="Mine", sender="kari@fjord.no")

    def measure() -> tuple[int, str]:
        fresh = Conversation.objects.get(pk=conversation.pk)
        with CaptureQueriesContext(connection) as ctx:
            shown = [s for place in ("sidebar", "head", "close") for s in sections_for(fresh, world.agent, place)]
        tickets = [s for s in shown if s.section.key in ("ticket", "ticket-head", "ticket-close", "other-tickets")]
        return len(ctx.captured_queries), ",".join(sorted(s.section.key for s in tickets))

    before, keys = measure()
    assert keys == "other-tickets,ticket"
    actions.create_ticket(world.account, acting_user=world.agent, conversation=conversation, name="Mine")
    for n in range(8):
        other = world.inbound(subject=f"Old {n}", sender="kari@fjord.no", conversation=None)
        if other.pk != conversation.pk:
            actions.create_ticket(world.account, acting_user=world.agent, conversation=other, name=f"Old {n}")
    assert Ticket.objects.filter(contact=conversation.contact).count() == 9
    after, keys = measure()
    assert keys == "other-tickets,ticket,ticket-close,ticket-head"
    assert after == before, (before, after)


def test_pipelines_are_defined_in_settings(world: World, client_for: Any) -> None:
    admin = client_for(world.admin)
    page = admin.get("/settings/pipelines/").content.decode()
    assert "Support" in page and "Sales" in page and "Waiting on us" in page
    bad = admin.post("/settings/pipelines/", {"kind": "ticket", "name": "Billing", "stages": "Open\nPaid: maybe"})
    assert bad.status_code == 400 and "Line 2" in bad.content.decode()
    made = admin.post(
        "/settings/pipelines/", {"kind": "ticket", "name": "Billing", "stages": "Open\nSent: 30\nPaid: closed"}
    )
    assert made.status_code == 302
    from samtale.crm.models import Pipeline

    billing = Pipeline.objects.get(name="Billing")
    assert [(s.name, s.is_closed, s.probability) for s in billing.stages.all()] == [
        ("Open", False, None), ("Sent", False, 30), ("Paid", True, None)]  # fmt: skip
    assert admin.post("/settings/pipelines/", {"pipeline": billing.pk, "stage": "Refunded: closed"}).status_code == 302
    assert billing.stages.count() == 4
    assert (
        client_for(world.agent).post("/settings/pipelines/", {"kind": "deal", "name": "X", "stages": "A"}).status_code
        == 403
    )
    theirs = default_pipeline(world.other_account, PipelineKind.TICKET)
    assert admin.post("/settings/pipelines/", {"pipeline": theirs.pk, "stage": "Mine"}).status_code == 404
