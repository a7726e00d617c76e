"""A channel that fails permanently (its own server refuses the login) is marked broken with the
reason, shown in settings and on the inbox, replies through it are refused, and it is cleared when
it works again (new settings, or a successful delivery)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.core.exceptions import ValidationError
from django.test import override_settings

from samtale.channels.email.actions import configure_mail_server
from samtale.channels.email.outbound import deliver
from samtale.inbox import actions
from samtale.inbox.models import Channel
from tests.conftest import World
from tests.e2e.conftest import free_port


class RefusingServer:
    """A local SMTP server whose AUTH PLAIN accepts only the password "right"."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[bytes] = []
        handler = self

        class Handler:
            async def handle_AUTH(self, server: Any, session: Any, envelope: Any, args: list[str]) -> str:
                _user, _sep, password = (
                    base64.b64decode(args[1] if len(args) > 1 else "").partition(b"\0")[2].partition(b"\0")
                )
                if password == b"right":
                    session.authenticated = True
                    return "235 2.7.0 Authentication successful"
                return "535 5.7.8 Authentication credentials invalid"

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                handler.received.append(envelope.original_content)
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, auth_require_tls=False,
                                     auth_required=False)  # fmt: skip
        self.controller.start()


@pytest.fixture
def smtp_server() -> Any:
    server = RefusingServer()
    with override_settings(SAMTALE_EGRESS_ALLOWED_NETWORKS=["127.0.0.0/8"]):
        yield server
    server.controller.stop()


def test_refused_credentials_mark_the_channel_broken_until_fixed(
    world: World, smtp_server: RefusingServer, client_for: Any
) -> None:
    configure_mail_server(world.email, acting_user=world.admin, smtp_host="127.0.0.1", smtp_port=smtp_server.port,
                          smtp_security="none", smtp_username="support", smtp_password="wrong")  # fmt: skip
    conversation = world.inbound("Hi")
    reply = actions.reply_to_conversation(conversation, acting_user=world.agent, text="Hello")
    assert deliver(reply.pk) == "failed"
    channel = Channel.objects.get(pk=world.email.pk)
    assert "Authentication failed" in channel.broken_reason
    inbox_page = client_for(world.agent).get(f"/inbox/{world.support.pk}/").content.decode()
    assert f'id="broken-channel-{channel.pk}"' in inbox_page
    assert f'id="broken-{channel.pk}"' in client_for(world.admin).get("/settings/inboxes/").content.decode()
    with pytest.raises(ValidationError, match="cannot send"):
        actions.reply_to_conversation(conversation, acting_user=world.agent, text="Again")
    configure_mail_server(world.email, acting_user=world.admin, smtp_password="right")  # fixed
    assert Channel.objects.get(pk=world.email.pk).broken_reason == ""
    again = actions.reply_to_conversation(conversation, acting_user=world.agent, text="Again")
    assert deliver(again.pk) == "sent" and smtp_server.received
