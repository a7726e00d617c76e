"""The inbox screen's remaining controls, each through its real endpoint."""

from __future__ import annotations

from typing import Any

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


def _nav_keys(page: str) -> list[str]:
    import re

    nav = page[page.index('id="nav"') : page.index("edit-views")]
    return re.findall(r'data-view="([a-z_0-9-]+)"', nav)


def test_views_can_be_hidden_and_reordered_per_user(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    client: Client = client_for(world.agent)
    arrange = f"/inbox/{world.support.pk}/views/arrange/"
    nav = f"/inbox/{world.support.pk}/nav/?view=unassigned"
    before = _nav_keys(client.get(nav).content.decode())
    assert before[:4] == ["unassigned", "mine", "all_open", "chat"]
    assert client.post(arrange, {"key": "chat", "op": "hide"}).status_code == 200
    assert client.post(arrange, {"key": "all_open", "op": "up"}).status_code == 200
    assert client.post(arrange, {"key": "trash", "op": "hide"}).status_code == 200
    keys = _nav_keys(client.get(nav).content.decode())
    assert keys[:3] == ["unassigned", "all_open", "mine"] and "chat" not in keys and "trash" not in keys
    # a hidden view that is open right now is still listed; the editor lists every view
    assert "trash" in _nav_keys(client.get(f"/inbox/{world.support.pk}/nav/?view=trash").content.decode())
    editor = client.get(f"/inbox/{world.support.pk}/views/edit/").content.decode()
    assert 'data-key="chat"' in editor and "Show Chat" in editor and "Hide Email" in editor
    # someone else's layout is untouched
    assert _nav_keys(client_for(world.agent2).get(nav).content.decode()) == before
    client.post(arrange, {"key": "chat", "op": "show"})
    assert "chat" in _nav_keys(client.get(nav).content.decode())
    for bad in ({"key": "nope", "op": "hide"}, {"key": "chat", "op": "explode"}, {"key": "custom-999", "op": "up"}):
        assert client.post(arrange, bad).status_code == 404


def test_custom_views_are_renamed_edited_and_deleted(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    world.inbound("Refund please", sender="r@example.com")
    world.inbound("Invoice copy", sender="i@example.com")
    owner: Client = client_for(world.agent)
    owner.post(f"/inbox/{world.support.pk}/views/", {"name": "Refunds", "q": "refund", "shared": "1"})
    view = CustomView.objects.get(name="Refunds")
    page = owner.get(f"/inbox/{world.support.pk}/v/custom-{view.pk}/").content.decode()
    assert '<strong class="list-title">Refunds</strong>' in page and "Save changes to Refunds" in page
    r = owner.post(f"/views/{view.pk}/update/", {"name": "Money back", "shared": ""})
    assert r.status_code == 200 and 'value="Money back"' in r.content.decode()
    view.refresh_from_db()
    assert view.name == "Money back" and not view.shared
    assert owner.post(f"/views/{view.pk}/update/", {"name": "  "}).status_code == 400
    r = owner.post(f"/views/{view.pk}/update/", {"filters": "1", "q": "invoice"})
    assert r.status_code == 204
    listed = owner.get(f"/inbox/{world.support.pk}/list/?view=custom-{view.pk}").content.decode()
    assert "Invoice copy" in listed and "Refund please" not in listed
    # not the owner: no changes (the view is private now, so it is not even found)
    other = client_for(world.agent2)
    assert other.post(f"/views/{view.pk}/update/", {"name": "Mine"}).status_code in (403, 404)
    assert client_for(world.outsider).post(f"/views/{view.pk}/update/", {"name": "x"}).status_code == 404
    # arranged and hidden like the default views, deleted from the editor
    owner.post(f"/inbox/{world.support.pk}/views/arrange/", {"key": view.key, "op": "hide"})
    assert view.key not in _nav_keys(owner.get(f"/inbox/{world.support.pk}/nav/").content.decode())
    r = owner.post(f"/views/{view.pk}/delete/", {"editor": "1"})
    assert r.status_code == 200 and "Money back" not in r.content.decode()
    assert not CustomView.objects.filter(pk=view.pk).exists()
    # deleting the view that is on screen leaves it
    owner.post(f"/inbox/{world.support.pk}/views/", {"name": "Again", "q": "invoice"})
    again = CustomView.objects.get(name="Again")
    r = owner.post(f"/views/{again.pk}/delete/", {"editor": "1"},
                   HTTP_HX_CURRENT_URL=f"http://testserver/inbox/{world.support.pk}/v/{again.key}/")  # fmt: skip
    assert r.status_code == 204 and r["HX-Redirect"] == f"/inbox/{world.support.pk}/v/unassigned/"


def test_panels_and_more_are_remembered_per_user(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    c = world.inbound("Panels")
    client: Client = client_for(world.agent)
    url = f"/inbox/{world.support.pk}/v/all_open/c/{c.pk}/"
    page = client.get(url).content.decode()
    assert 'class="app thread-open" id="app"' in page and 'class="thread-wrap" id="thread"' in page
    for name in ("nav_collapsed", "contact_collapsed", "more_views_open"):
        assert client.post("/me/preferences/", {"name": name, "value": "1"}).status_code == 204
    page = client.get(url).content.decode()
    assert 'class="app nav-collapsed thread-open"' in page and 'class="thread-wrap contact-collapsed"' in page
    assert '<details class="more-views" open>' in page
    assert 'class="app thread-open" id="app"' in client_for(world.agent2).get(url).content.decode()  # per user
    client.post("/me/preferences/", {"name": "nav_collapsed", "value": "0"})
    assert 'class="app thread-open" id="app"' in client.get(url).content.decode()
    assert client.post("/me/preferences/", {"name": "is_superuser", "value": "1"}).status_code == 400
    assert client.post("/me/preferences/", {"name": "nav_collapsed", "value": "yes"}).status_code == 400
    world.agent.refresh_from_db()
    assert world.agent.preferences == {"nav_collapsed": False, "contact_collapsed": True, "more_views_open": True}


def test_preferences_are_validated() -> None:
    import pytest
    from django.core.exceptions import PermissionDenied, ValidationError

    from samtale.accounts.actions import set_preferences
    from samtale.accounts.models import User

    a, b = User(pk=1), User(pk=2)
    with pytest.raises(PermissionDenied):
        set_preferences(a, acting_user=b, nav_collapsed=True)
    for bad in ({"hidden_views": ["<script>"]}, {"view_order": "chat"}, {"nav_collapsed": "1"},
                {"view_order": ["chat"] * 201}, {"theme": "dark"}):  # fmt: skip
        with pytest.raises(ValidationError):
            set_preferences(a, acting_user=a, **bad)


def test_the_owner_dropdown_alone_shows_statuses_now(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    from samtale.availability import actions as availability

    c = world.inbound("Owners")
    client: Client = client_for(world.agent)
    before = client.get(f"/c/{c.pk}/owner/").content.decode()
    assert "● Carol Agent</option>" in before and 'id="owner-select"' in before
    availability.set_away(world.agent2, acting_user=world.agent2)
    after = client.get(f"/c/{c.pk}/owner/").content.decode()
    assert "○ Carol Agent (away)</option>" in after
    assert client_for(world.outsider).get(f"/c/{c.pk}/owner/").status_code == 404


def test_a_live_redraw_keeps_the_rows_loaded_with_load_more(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    for i in range(60):
        world.inbound(f"Many {i}", sender=f"m{i}@example.com")
    client: Client = client_for(world.agent)
    base = f"/inbox/{world.support.pk}/list/?view=all_open"
    assert client.get(base, HTTP_HX_REQUEST="true").content.decode().count('class="row ') == 25
    kept = client.get(base + "&shown=50", HTTP_HX_REQUEST="true").content.decode()
    assert kept.count('class="row ') == 50 and "Load more" in kept and "shown=" not in kept
    assert client.get(base + "&shown=9999", HTTP_HX_REQUEST="true").content.decode().count('class="row ') == 60
    assert client.get(base + "&shown=x", HTTP_HX_REQUEST="true").content.decode().count('class="row ') == 25


def test_every_value_a_customer_writes_is_escaped_in_the_list(world: World, client_for: Any) -> None:
    """The list's rows are written by `inbox/templatetags/rows.py`, not the template engine: the
    contact's name, the subject and the preview reach the page as text."""
    evil = '"><img src=x onerror=alert(1)>'
    conversation = world.inbound(
        f"Subject {evil}", text=f"Preview {evil}", sender="kari@example.com", name=f"Kari {evil}"
    )
    page = client_for(world.agent).get(f"/inbox/{world.support.pk}/list/?view=all_open", HTTP_HX_REQUEST="true")
    html = page.content.decode()
    row = html[
        html.index(f'id="row-{conversation.pk}"') : html.index("</li>", html.index(f'id="row-{conversation.pk}"'))
    ]
    assert "<img src=x" not in row
    escaped = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
    for text in (f"Kari {escaped}", f"Subject {escaped}", f"Preview {escaped}"):
        assert text in row
    assert f'href="/inbox/{world.support.pk}/v/all_open/c/{conversation.pk}/"' in row  # nothing to carry
    # a search is carried by the row's link (what differs from the view's filters only), escaped
    searched = client_for(world.agent).get(
        f"/inbox/{world.support.pk}/list/?view=all_open&q=subject+%22%3E&status=&sort=newest&hide_trash=0&hide_trash=1",
        HTTP_HX_REQUEST="true",
    )
    assert (
        f'href="/inbox/{world.support.pk}/v/all_open/c/{conversation.pk}/?q=subject+%22%3E"'
        in searched.content.decode()
    )


def test_a_view_opened_from_the_nav_brings_its_list_and_search_form(world: World, client_for: Any) -> None:
    world.inbound("Refund please", sender="r@example.com")
    world.inbound("Invoice copy", sender="i@example.com")
    client: Client = client_for(world.agent)
    client.post(f"/inbox/{world.support.pk}/views/", {"name": "Refunds", "q": "refund"})
    view = CustomView.objects.get(name="Refunds")
    part = client.get(f"/inbox/{world.support.pk}/v/{view.key}/?part=main", HTTP_HX_REQUEST="true")
    html = part.content.decode()
    assert part.status_code == 200 and "<html" not in html and 'id="nav"' not in html  # the nav stays as it is
    assert html.startswith(f"<title>{world.support.name} · Samtale</title>")
    assert '<strong class="list-title">Refunds</strong>' in html and 'name="q" value="refund"' in html
    assert f'name="view" value="{view.key}"' in html and "Refund please" in html and "Invoice copy" not in html
    assert 'class="empty-thread"' in html
    # the current view, hidden by this agent, is marked so the nav drops it once another is opened
    client.post(f"/inbox/{world.support.pk}/views/arrange/", {"key": "trash", "op": "hide"})
    nav = client.get(f"/inbox/{world.support.pk}/nav/?view=trash").content.decode()
    assert 'data-view="trash" data-hidden="1"' in nav and 'aria-current="page" data-view="trash"' in nav
    # someone else's inbox or view: not found
    assert client_for(world.outsider).get(f"/inbox/{world.support.pk}/v/unassigned/?part=main").status_code == 404
    assert client_for(world.agent2).get(f"/inbox/{world.support.pk}/v/{view.key}/?part=main").status_code == 404
