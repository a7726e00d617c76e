"""Per-channel mail servers: settings page and API, permissions, passwords never shown."""

from __future__ import annotations

from typing import Any

from django.test import Client

from samtale.channels.email.models import MailServer
from tests.conftest import World


def test_an_admin_sets_a_channels_servers_in_settings(world: World, client_for: Any) -> None:
    admin: Client = client_for(world.admin)
    url = f"/settings/channels/{world.email.pk}/mail-server/"
    data = {"smtp_host": "smtp.acme.test", "smtp_port": 587, "smtp_security": "starttls", "smtp_username": "u",
            "smtp_password": "s3cret", "imap_host": "imap.acme.test", "imap_port": 993, "imap_security": "tls",
            "imap_username": "support", "imap_password": "p4ss", "imap_folder": "INBOX"}  # fmt: skip
    assert admin.post(url, data).status_code == 302
    server = MailServer.objects.get(channel=world.email)
    assert (server.smtp_host, server.smtp_password, server.imap_password) == ("smtp.acme.test", "s3cret", "p4ss")
    assert admin.post(url, {**data, "smtp_password": "", "imap_password": ""}).status_code == 302
    server.refresh_from_db()
    assert server.smtp_password == "s3cret"  # an empty password field keeps the stored one
    page = admin.get("/settings/inboxes/").content.decode()
    assert "imap.acme.test" in page and "s3cret" not in page and "p4ss" not in page
    assert admin.post(url, {**data, "smtp_security": "rot13"}).status_code == 400
    chat = f"/settings/channels/{world.chat.pk}/mail-server/"
    assert admin.post(chat, data).status_code == 400  # only email channels


def test_permissions_and_the_api(world: World, client_for: Any) -> None:
    plain: Client = client_for(world.noperm)
    assert plain.post(f"/settings/channels/{world.email.pk}/mail-server/", {"smtp_port": 25, "smtp_security": "none",
                      "imap_port": 143, "imap_security": "none", "imap_folder": "INBOX"}).status_code == 403  # fmt: skip
    admin = {"Authorization": f"Bearer {world.token(world.admin)}"}
    r = Client().put(f"/api/v1/channels/{world.email.pk}/mail-server", {"imap_host": "imap.acme.test",
                     "imap_username": "support", "imap_password": "pw"}, content_type="application/json", headers=admin)  # fmt: skip
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["imap_host"] == "imap.acme.test" and body["imap_password_set"] and "pw" not in r.content.decode()
    agent = {"Authorization": f"Bearer {world.token(world.agent)}"}
    assert Client().get(f"/api/v1/channels/{world.email.pk}/mail-server", headers=agent).status_code == 403
    outsider = {"Authorization": f"Bearer {world.token(world.outsider)}"}
    assert Client().get(f"/api/v1/channels/{world.email.pk}/mail-server", headers=outsider).status_code == 404


def test_a_stored_password_is_dropped_when_its_server_changes(world: World) -> None:
    """Mailbox password theft: an inbox manager who is not a super admin points the channel at
    their own server and leaves the password empty ("keep the stored one")."""
    from samtale.accounts import actions as account_actions
    from samtale.channels.email.actions import configure_mail_server

    manager = account_actions.create_user(
        world.account, acting_user=world.admin, email="manager@acme.test", name="Manny", password="x" * 12,
        permissions=["inbox_settings"],
    )  # fmt: skip
    configure_mail_server(world.email, acting_user=world.admin, smtp_host="smtp.acme.test", smtp_port=587,
                          smtp_username="support", smtp_password="s3cret", imap_host="imap.acme.test",
                          imap_username="support", imap_password="p4ss")  # fmt: skip
    # the same server, password left empty: kept
    configure_mail_server(world.email, acting_user=manager, smtp_host="smtp.acme.test", smtp_port=587,
                          smtp_username="support", smtp_password="")  # fmt: skip
    assert MailServer.objects.get(channel=world.email).smtp_password == "s3cret"
    for change in ({"smtp_host": "smtp.attacker.example"}, {"smtp_port": 2525}, {"smtp_username": "other"},
                   {"smtp_security": "none"}):  # fmt: skip
        configure_mail_server(world.email, acting_user=world.admin, smtp_password="s3cret")
        configure_mail_server(world.email, acting_user=manager, smtp_password="", **change)
        server = MailServer.objects.get(channel=world.email)
        assert server.smtp_password == "", change
        assert server.imap_password == "p4ss"  # the other side was not touched
    # a super admin may keep the secret across a change (they could type it anyway)
    configure_mail_server(world.email, acting_user=world.admin, smtp_password="s3cret")
    configure_mail_server(world.email, acting_user=world.admin, smtp_host="smtp2.acme.test", smtp_password="")
    assert MailServer.objects.get(channel=world.email).smtp_password == "s3cret"
    # a new password with the new host is of course taken
    configure_mail_server(world.email, acting_user=manager, imap_host="imap.other.example", imap_username="x",
                          imap_password="new")  # fmt: skip
    assert MailServer.objects.get(channel=world.email).imap_password == "new"
