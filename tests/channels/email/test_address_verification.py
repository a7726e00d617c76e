"""Address takeover across accounts: an email address receives nothing until it is proven (its
confirmation link opened, or the confirmation coming back through forwarding); mail meanwhile is
held for whoever proves it; connecting reveals nothing about other accounts; the real owner can
take an address back."""

from __future__ import annotations

import email
import re
from email import policy
from typing import Any

from django.test import Client

from samtale.channels.email import verification
from samtale.channels.email.ingest import process_pending
from samtale.channels.email.models import RawEmail
from samtale.channels.email.smtpd import Listener
from samtale.channels.email.tasks import send_address_verification
from samtale.inbox import actions
from samtale.inbox.models import Channel, Conversation
from tests.channels.email.conftest import Outbox, deliver, mail, send
from tests.conftest import World


def _claim(world: World, user: Any, inbox: Any, address: str = "billing@victim.example") -> Channel:
    return actions.create_channel(inbox, acting_user=user, kind="email", name="billing", address=address)


def test_mail_to_an_unproven_address_is_held_and_delivered_to_whoever_proves_it(
    world_tx: World, listener: Listener, outbox: Outbox
) -> None:
    thief = _claim(world_tx, world_tx.outsider, world_tx.other_inbox)  # Evil Corp connects it first
    deliver(listener, mail("Invoice 17", "Please pay", to="billing@victim.example"), rcpt="billing@victim.example")
    assert RawEmail.objects.get().state == "held"
    assert not Conversation.objects.filter(subject="Invoice 17").exists()  # nobody sees it
    owner = _claim(world_tx, world_tx.admin, world_tx.support)  # Acme (the owner) connects it too: no error
    assert send_address_verification.call(owner.pk) == "sent"
    confirmation = email.message_from_bytes(outbox.messages[-1].data, policy=policy.default)
    assert outbox.messages[-1].rcpt_tos == ["billing@victim.example"]
    link = re.search(r"https?://\S+/verify-address/\d+/\w+/", confirmation.get_body(("plain",)).get_content())
    assert link is not None
    path = "/" + link.group(0).split("/", 3)[3]
    visitor = Client()  # whoever reads the mailbox; no sign-in needed
    assert "Confirm" in visitor.get(path).content.decode()
    assert Channel.objects.get(pk=owner.pk).verified_at is None  # opening the link (a preview) confirms nothing
    assert visitor.post(path).status_code == 200
    assert Channel.objects.get(pk=owner.pk).verified_at is not None
    assert Channel.objects.get(pk=thief.pk).verified_at is None
    assert process_pending(10) == 1
    invoice = Conversation.objects.get(subject="Invoice 17")
    assert invoice.inbox_id == world_tx.support.pk and invoice.account_id == world_tx.account.pk


def test_the_confirmation_coming_back_through_forwarding_confirms(
    world_tx: World, listener: Listener, outbox: Outbox
) -> None:
    channel = _claim(world_tx, world_tx.admin, world_tx.support, "help@acme.test")
    send_address_verification.call(channel.pk)
    send(listener, outbox.messages[-1].data, rcpt="help@acme.test", sender="")  # the address forwards to us
    process_pending(10)
    channel.refresh_from_db()
    assert channel.verified_at is not None
    assert not Conversation.objects.filter(inbox=world_tx.support, subject__icontains="Confirm").exists()


def test_a_forged_confirmation_confirms_nothing(world_tx: World, listener: Listener) -> None:
    thief = _claim(world_tx, world_tx.outsider, world_tx.other_inbox)
    forged = mail("Confirm", "x", to="billing@victim.example", X_Samtale_Verify=f"{thief.pk}-{'0' * 24}")
    deliver(listener, forged, rcpt="billing@victim.example")
    thief.refresh_from_db()
    assert thief.verified_at is None and RawEmail.objects.get().state == "held"
    assert Client().get(f"/verify-address/{thief.pk}/{'0' * 24}/").status_code == 404


def test_connecting_reveals_nothing_about_other_accounts(world_tx: World) -> None:
    token = world_tx.token(world_tx.outsider)
    r = Client().post(
        f"/api/v1/inboxes/{world_tx.other_inbox.pk}/channels",
        {"kind": "email", "name": "x", "address": world_tx.email.address},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201 and r.json()["verified"] is False  # no "already connected" from another account
    again = Client().post(
        f"/api/v1/inboxes/{world_tx.other_inbox.pk}/channels",
        {"kind": "email", "name": "x", "address": world_tx.email.address},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert again.status_code == 400 and "your inboxes" in again.json()["detail"]


def test_the_owner_takes_an_address_back(world_tx: World, listener: Listener) -> None:
    from samtale.channels.email.actions import verify_address

    stolen = _claim(world_tx, world_tx.outsider, world_tx.other_inbox, "shop@acme-shop.example")
    verify_address(stolen, how="(somehow) confirmed by the thief")
    deliver(listener, mail("Before", "x", to="shop@acme-shop.example"), rcpt="shop@acme-shop.example")
    assert Conversation.objects.get(subject="Before").account_id == world_tx.other_account.pk
    mine = _claim(world_tx, world_tx.admin, world_tx.support, "shop@acme-shop.example")
    page = Client()
    page.post(f"/verify-address/{mine.pk}/{verification.token(mine)}/")
    stolen.refresh_from_db()
    assert stolen.verified_at is None
    deliver(listener, mail("After", "x", to="shop@acme-shop.example"), rcpt="shop@acme-shop.example")
    assert Conversation.objects.get(subject="After").account_id == world_tx.account.pk


def test_settings_show_the_state_and_resend(
    world: World, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django_tasks_db.models import DBTaskResult

    with django_capture_on_commit_callbacks(execute=True):
        channel = _claim(world, world.admin, world.support, "new@acme.test")
    sent = DBTaskResult.objects.filter(task_path__endswith="send_address_verification").count()
    assert sent == 1  # a new address is sent its confirmation
    admin = client_for(world.admin)
    page = admin.get("/settings/inboxes/").content.decode()
    assert f'id="unverified-{channel.pk}"' in page
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(f"/settings/channels/{channel.pk}/verification/").status_code == 302
    assert DBTaskResult.objects.filter(task_path__endswith="send_address_verification").count() == 2
    assert client_for(world.noperm).post(f"/settings/channels/{channel.pk}/verification/").status_code == 403
    assert client_for(world.outsider).post(f"/settings/channels/{channel.pk}/verification/").status_code == 404
