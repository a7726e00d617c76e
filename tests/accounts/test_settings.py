from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from samtale.accounts.models import Membership, Team, User
from samtale.inbox import actions
from samtale.inbox.models import Channel, Conversation
from tests.conftest import World


def test_admin_invites_a_user_with_permissions_and_seat(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    admin: Client = client_for(world.admin)
    r = admin.post("/settings/users/new/", {"name": "Nina Ny", "email": "Nina@acme.test", "role": "user",
                                            "seat": "service", "permissions": ["availability_management"], "password": "long enough pw"})  # fmt: skip
    assert r.status_code == 302
    nina = User.objects.get(email="nina@acme.test")
    assert nina.membership.seat == "service" and nina.membership.permissions == ["availability_management"]
    assert nina.check_password("long enough pw")
    assert (
        admin.post("/settings/users/new/", {"name": "Dup", "email": "nina@acme.test", "role": "user"}).status_code
        == 400
    )
    assert (
        admin.post("/settings/users/new/", {"name": "Bad", "email": "not-an-email", "role": "user"}).status_code == 400
    )
    page = admin.get("/settings/")
    assert "Nina Ny" in page.content.decode() and "Eve Outsider" not in page.content.decode()


def test_admin_changes_role_permissions_and_seat(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    admin: Client = client_for(world.admin)
    r = admin.post(
        f"/settings/users/{world.agent2.pk}/", {"role": "user", "seat": "sales", "permissions": ["hide_messages"]}
    )
    assert r.status_code == 302
    m = Membership.objects.get(user=world.agent2)
    assert m.seat == "sales" and m.permissions == ["hide_messages"]
    assert admin.post(f"/settings/users/{world.admin.pk}/", {"role": "user"}).status_code == 400  # not your own role
    assert (
        client_for(world.agent).post(f"/settings/users/{world.agent2.pk}/", {"role": "super_admin"}).status_code == 403
    )


def test_deactivate_keeps_conversations_remove_releases_them(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    admin: Client = client_for(world.admin)
    c = world.inbound("x")
    actions.assign_conversation(c, acting_user=world.admin, owner=world.agent2)
    assert admin.post(f"/settings/users/{world.agent2.pk}/deactivate/").status_code == 302
    assert Conversation.objects.get(pk=c.pk).owner == world.agent2
    assert not Client().login(username="carol@acme.test", password="correct horse battery")
    assert admin.post(f"/settings/users/{world.agent2.pk}/reactivate/").status_code == 302
    assert admin.post(f"/settings/users/{world.agent2.pk}/remove/").status_code == 302
    c.refresh_from_db()
    assert c.owner is None and c.removed_owner == world.agent2
    assert not world.support.members.filter(pk=world.agent2.pk).exists()
    assert admin.post(f"/settings/users/{world.admin.pk}/remove/").status_code == 400


def test_teams_are_created_and_given_members(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    admin: Client = client_for(world.admin)
    assert admin.post("/settings/teams/new/", {"name": "Tier 1"}).status_code == 302
    team = Team.objects.get(account=world.account, name="Tier 1")
    admin.post(f"/settings/teams/{team.pk}/members/", {"members": [world.agent.pk, world.agent2.pk]})
    assert set(team.members.all()) == {world.agent, world.agent2}
    assert admin.post(f"/settings/teams/{team.pk}/members/", {"members": [world.outsider.pk]}).status_code == 404
    assert client_for(world.agent).post("/settings/teams/new/", {"name": "Mine"}).status_code == 403
    assert admin.post(f"/settings/teams/{team.pk}/delete/").status_code == 302
    assert not Team.objects.filter(pk=team.pk).exists()


def test_inbox_members_and_channels_from_settings(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    admin: Client = client_for(world.admin)
    inbox_id = world.support.pk
    assert admin.post(f"/settings/inboxes/{inbox_id}/members/remove/", {"user": world.noperm.pk}).status_code == 302
    assert not world.support.members.filter(pk=world.noperm.pk).exists()
    assert admin.post(f"/settings/inboxes/{inbox_id}/members/add/", {"user": world.noperm.pk}).status_code == 302
    assert world.support.members.filter(pk=world.noperm.pk).exists()
    r = admin.post(f"/settings/inboxes/{inbox_id}/channels/new/", {"kind": "chat", "name": "Second chat"})
    assert r.status_code == 302
    ch = Channel.objects.get(inbox=world.support, kind="chat", name="Second chat")
    assert admin.post(f"/settings/channels/{ch.pk}/delete/").status_code == 302
    assert admin.post(f"/settings/channels/{world.email.pk}/delete/").status_code == 302  # no conversations yet
    world.inbound("x", channel=world.chat)
    assert admin.post(f"/settings/channels/{world.chat.pk}/delete/").status_code == 400  # has conversations
    assert admin.post("/settings/inboxes/new/", {"name": "Billing"}).status_code == 302
    assert "Billing" in admin.get("/settings/inboxes/").content.decode()


def test_api_tokens_in_the_ui(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    agent: Client = client_for(world.agent)
    agent.post("/settings/tokens/new/", {"name": "Zapier"})
    page = agent.get("/settings/tokens/").content.decode()
    import re

    token = re.search(r"<code>(smt_[^<]+)</code>", page).group(1)  # type: ignore[union-attr]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/me").json()["email"] == "bob@acme.test"
    assert token not in agent.get("/settings/tokens/").content.decode()  # shown once
    from samtale.accounts.models import ApiToken

    t = ApiToken.objects.get(user=world.agent)
    agent.post(f"/settings/tokens/{t.pk}/revoke/")
    assert api.get("/api/v1/me").status_code == 401


def test_login_is_rate_limited(world: World, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SAMTALE_LOGIN_RATE = "3/m"
    from django.core.cache import cache

    cache.clear()
    client = Client()
    for _ in range(3):
        r = client.post("/login/", {"username": "bob@acme.test", "password": "wrong"})
        assert "Too many" not in r.content.decode()
    r = client.post("/login/", {"username": "bob@acme.test", "password": "correct horse battery"})
    assert "Too many sign-in attempts" in r.content.decode() and "_auth_user_id" not in client.session
    cache.clear()


def test_only_kinds_whose_package_is_installed_can_be_connected(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    """Messenger, form and call channels have no package yet: offering them made channels that
    took routing rules and never received anything. Old rows of those kinds stay, marked."""
    import re

    from samtale.inbox import actions
    from samtale.routing.actions import configure_routing

    admin: Client = client_for(world.admin)
    page = admin.get("/settings/inboxes/").content.decode()
    offered = re.findall(r'<option value="(\w+)">', page.split('name="kind"')[1].split("</select>")[0])
    assert offered == ["chat", "email"]
    for kind in ("messenger", "form", "call"):
        r = admin.post(f"/settings/inboxes/{world.support.pk}/channels/new/", {"kind": kind, "name": "x"})
        assert r.status_code == 400, kind
        with pytest.raises(ValidationError, match="cannot be connected yet: choose one of Chat, Email"):
            actions.create_channel(world.support, acting_user=world.admin, kind=kind, name="x")
    api = Client(headers={"Authorization": f"Bearer {world.token(world.admin)}"})
    r = api.post(
        f"/api/v1/inboxes/{world.support.pk}/channels",
        {"kind": "messenger", "name": "FB"},
        content_type="application/json",
    )
    assert r.status_code == 400 and "cannot be connected yet" in r.content.decode()
    assert not Channel.objects.filter(kind__in=["messenger", "form", "call"]).exists()

    old = actions.create_channel(
        world.support, acting_user=world.admin, kind="call", name="Old switchboard", history=True
    )
    with pytest.raises(ValidationError, match="receives nothing"):
        configure_routing(old, acting_user=world.admin, users=[world.agent])
    assert (
        admin.post(f"/settings/channels/{old.pk}/routing/", {"enabled": "1", "users": [world.agent.pk]}).status_code
        == 400
    )
    page = admin.get("/settings/inboxes/").content.decode()
    row = page.split("Old switchboard")[1].split("</tr>")[0]
    assert f'id="uninstalled-{old.pk}"' in row and "not installed" in row
    assert f"/settings/channels/{old.pk}/routing/" not in page  # no routing form for it
    assert f"/settings/channels/{world.chat.pk}/routing/" in page
