"""A hidden message is hidden on every path (C12): the thread, the list preview, search, the API,
"View original" and its attachments; showing it again brings all of it back."""

from __future__ import annotations

from typing import Any

from django.test import Client

from samtale.channels.email.smtpd import Listener
from samtale.inbox import actions
from samtale.inbox.models import Attachment, Conversation, Message
from tests.channels.email.conftest import deliver, mail
from tests.conftest import World


def _paths(world: World, conversation: Conversation, message: Message, attachment: Attachment) -> dict[str, str]:
    inbox = world.support.pk
    return {
        "source": f"/m/{message.pk}/source/",
        "attachment": f"/attachments/{attachment.pk}/",
        "list": f"/inbox/{inbox}/list/?view=all_open",
        "search": f"/inbox/{inbox}/list/?view=all_open&q=zebrafinch",
        "api list": f"/api/v1/inboxes/{inbox}/conversations?view=all_open",
        "api search": f"/api/v1/inboxes/{inbox}/conversations?view=all_open&q=zebrafinch",
        "api detail": f"/api/v1/conversations/{conversation.pk}",
        "thread": f"/inbox/{inbox}/v/all_open/c/{conversation.pk}/",
    }


def _seen(client: Client, api: Client, paths: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, path in paths.items():
        response = (api if name.startswith("api") else client).get(path)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        out[name] = (response.status_code, b"Zebrafinch" in body or b"zebrafinch" in body.lower())
    return out


def test_hiding_covers_every_path_and_showing_restores_it(world_tx: World, listener: Listener) -> None:
    m = mail("Private matter", "My card number is Zebrafinch 4242.")
    m.add_attachment(b"Zebrafinch secret scan", maintype="application", subtype="pdf", filename="scan.pdf")
    deliver(listener, m)
    message = Message.objects.get()
    conversation = message.conversation
    attachment = Attachment.objects.get(message=message)
    client, api = Client(), Client(headers={"Authorization": f"Bearer {world_tx.token(world_tx.admin)}"})
    client.force_login(world_tx.admin)  # a super admin: sees everything that is not hidden
    paths = _paths(world_tx, conversation, message, attachment)

    before = _seen(client, api, paths)
    assert all(status == 200 and found for status, found in before.values()), before

    actions.hide_message(message, acting_user=world_tx.agent)
    hidden = _seen(client, api, paths)
    assert hidden["source"][0] == 404 and hidden["attachment"][0] == 404
    assert not any(found for _status, found in hidden.values()), hidden
    assert "This message is hidden" in client.get(paths["thread"]).content.decode()
    assert Conversation.objects.get(pk=conversation.pk).preview == ""

    actions.show_message(message, acting_user=world_tx.agent)
    assert _seen(client, api, paths) == before
