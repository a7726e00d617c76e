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
