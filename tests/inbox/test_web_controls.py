"""The inbox screen's remaining controls, each through its real endpoint."""

from __future__ import annotations

from django.test import Client

from samtale.inbox import actions
from samtale.inbox.models import Conversation, CustomView, Notification
from tests.conftest import World


def test_compose_dialog_starts_an_email_in_sent(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    client: Client = client_for(world.agent)
    r = client.post(f"/inbox/{world.support.pk}/compose/",
                    {"channel": world.email.pk, "to": "lead@example.com", "subject": "Hello", "text": "Offer"})  # fmt: skip
    assert r.status_code == 204
    c = Conversation.objects.get(subject="Hello")
    assert c.awaiting_first_reply and f"/v/sent/c/{c.pk}/" in r["HX-Redirect"]
    assert (
        client.post(
            f"/inbox/{world.support.pk}/compose/", {"channel": world.email.pk, "to": "bad", "subject": "x"}
        ).status_code
        == 400
    )
    r = client.post(f"/inbox/{world.support.pk}/compose/",
                    {"channel": world.other_email.pk, "to": "a@example.com", "subject": "x", "text": "y"})  # fmt: skip
    assert r.status_code == 404


def test_save_a_search_as_a_view_and_delete_it(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    world.inbound("Refund please", sender="r@example.com")
    client: Client = client_for(world.agent)
    r = client.post(f"/inbox/{world.support.pk}/views/", {"name": "Refunds", "q": "refund", "shared": "1"})
    assert r.status_code == 204
    view = CustomView.objects.get(name="Refunds")
    assert view.shared and view.filters["q"] == "refund"
    page = client_for(world.agent2).get(f"/inbox/{world.support.pk}/v/custom-{view.pk}/").content.decode()
    assert "Refund please" in page  # shared with the inbox
    assert client_for(world.agent2).post(f"/views/{view.pk}/delete/").status_code == 403
    assert client.post(f"/views/{view.pk}/delete/").status_code == 204
    assert not CustomView.objects.filter(pk=view.pk).exists()
    assert client.post(f"/inbox/{world.support.pk}/views/", {"name": "Empty"}).status_code == 400


def test_bell_lists_and_marks_notifications_read(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    c = world.inbound("x")
    actions.add_comment(c, acting_user=world.agent2, text="@Bob Agent look")
    client: Client = client_for(world.agent)
    assert "Carol Agent mentioned you" in client.get("/notifications/").content.decode()
    client.post("/notifications/read/")
    assert not Notification.objects.filter(user=world.agent, read_at=None).exists()


def test_load_more_continues_the_list(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    for i in range(30):
        world.inbound(f"Item {i}", sender=f"i{i}@example.com")
    client: Client = client_for(world.agent)
    first = client.get(f"/inbox/{world.support.pk}/list/?view=all_open", HTTP_HX_REQUEST="true").content.decode()
    assert first.count('class="row ') == 25 and "Load more" in first
    import re

    cursor = re.search(r"cursor=([\w-]+)", first).group(1)  # type: ignore[union-attr]
    rest = client.get(
        f"/inbox/{world.support.pk}/list/?view=all_open&cursor={cursor}", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert rest.count('class="row ') == 5 and "Load more" not in rest


def test_close_trash_spam_and_block_offer_their_undo(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    import json

    client: Client = client_for(world.agent)
    for action, inverse, field in [("close", "reopen", "status"), ("trash", "restore", "trashed_at"),
                                   ("spam", "unspam", "spam_at"), ("block", "unblock", "filtered_at")]:  # fmt: skip
        c = world.inbound(f"Undo {action}", sender=f"undo-{action}@example.com")
        before = getattr(c, field)
        r = client.post(f"/c/{c.pk}/{action}/", HTTP_HX_REQUEST="true")
        undo = json.loads(r["HX-Trigger"])["samtale:undo"]
        assert undo["url"] == f"/c/{c.pk}/{inverse}/" and undo["conversation"] == c.pk and undo["text"]
        c.refresh_from_db()
        assert getattr(c, field) != before
        assert client.post(undo["url"], {"undo": "1"}, HTTP_HX_REQUEST="true").status_code == 200
        c.refresh_from_db()
        assert getattr(c, field) == before, action


def test_undoing_a_close_keeps_the_owner_even_when_away(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    from samtale.availability import actions as availability
    from samtale.routing.actions import configure_routing

    configure_routing(world.email, acting_user=world.admin, users=[world.agent, world.agent2])
    c = world.inbound("Owned")
    actions.assign_conversation(c, acting_user=world.admin, owner=world.agent2)
    client: Client = client_for(world.agent)
    client.post(f"/c/{c.pk}/close/", HTTP_HX_REQUEST="true")
    availability.set_away(world.agent2, acting_user=world.agent2)
    client.post(f"/c/{c.pk}/reopen/", {"undo": "1"}, HTTP_HX_REQUEST="true")
    c.refresh_from_db()
    assert c.status == "open" and c.owner_id == world.agent2.pk
    # a reopen that is not an undo re-routes (B10): the away owner loses it
    client.post(f"/c/{c.pk}/close/", HTTP_HX_REQUEST="true")
    client.post(f"/c/{c.pk}/reopen/", HTTP_HX_REQUEST="true")
    c.refresh_from_db()
    assert c.status == "open" and c.owner_id == world.agent.pk


def test_bulk_close_and_trash_undo_exactly_what_changed(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    import json

    a, b, closed = (world.inbound(f"Bulk {i}", sender=f"b{i}@example.com") for i in range(3))
    actions.close_conversation(closed, acting_user=world.agent)
    client: Client = client_for(world.agent)
    url = f"/inbox/{world.support.pk}/bulk/"
    r = client.post(url, {"action": "close", "ids": f"{a.pk},{b.pk},{closed.pk}"}, HTTP_HX_REQUEST="true")
    undo = json.loads(r["HX-Trigger"])["samtale:undo"]
    assert undo["action"] == "reopen" and sorted(undo["ids"]) == sorted([a.pk, b.pk])  # not the one closed before
    assert undo["text"] == "2 conversations updated"
    client.post(url, {"action": undo["action"], "ids": ",".join(map(str, undo["ids"]))}, HTTP_HX_REQUEST="true")
    statuses = dict(Conversation.objects.filter(pk__in=[a.pk, b.pk, closed.pk]).values_list("pk", "status"))
    assert statuses == {a.pk: "open", b.pk: "open", closed.pk: "closed"}
    r = client.post(url, {"action": "trash", "ids": f"{a.pk}"}, HTTP_HX_REQUEST="true")
    assert json.loads(r["HX-Trigger"])["samtale:undo"] == {"text": "1 conversation updated", "action": "restore",
                                                            "ids": [a.pk]}  # fmt: skip
    foreign = client.post(url, {"action": "reopen", "ids": "999999"}, HTTP_HX_REQUEST="true")
    assert foreign.status_code == 404
