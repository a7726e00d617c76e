"""Chat fixtures: the world's chat widget, allowed on a test site."""

from __future__ import annotations

import pytest

from samtale.channels.chat.actions import configure_widget
from samtale.channels.chat.models import ChatWidget
from tests.channels.email.conftest import outbox  # noqa: F401 -- a real SMTP server that keeps what is sent
from tests.conftest import World

SITE = "https://shop.example"


def widget_of(world: World) -> ChatWidget:
    widget = ChatWidget.objects.select_related("channel", "channel__inbox", "channel__account").get(channel=world.chat)
    return configure_widget(widget, acting_user=world.admin, allowed_origins=[SITE])


@pytest.fixture
def widget(world: World) -> ChatWidget:
    return widget_of(world)


@pytest.fixture
def widget_tx(world_tx: World) -> ChatWidget:
    return widget_of(world_tx)


def everyone_away(world: World) -> None:
    from samtale.availability.actions import set_away

    for user in (world.admin, world.agent, world.agent2, world.noperm):
        set_away(user, acting_user=user)
