"""Channel adapters: how the inbox core reaches a channel without naming one.

A channel package (email today; chat, Messenger, forms and calls next) registers an adapter for its
kind in its AppConfig.ready (`register`). Arriving messages are normalized by the package itself
into `inbox.inbound.InboundMessage` and handed to `inbox.actions.receive_inbound`; everything the
core needs to send is asked of the adapter here. A kind without an adapter cannot send: a reply on
it is refused with a clear message instead of waiting "queued" forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from samtale.inbox.models import Channel, Conversation, Message


@dataclass(frozen=True)
class Capabilities:
    """What replies on a channel can carry and which ways of writing it offers."""

    rich_text: bool = False
    attachments: bool = False
    subject: bool = False
    compose: bool = False  # start a new conversation from the inbox
    forward: bool = False  # forward a message to an outside address
    reply_window_hours: int | None = None  # e.g. Messenger's 24-hour rule; None: no window


class ChannelAdapter(Protocol):
    kind: str
    capabilities: Capabilities
    templates: dict[str, str]  # its pieces of shared screens: "status" (a channel's row), "settings"

    confirms_address: bool  # a new channel's address must be proven before it receives or sends

    def clean_address(self, address: str) -> str:
        """The channel's address as stored, or a ValidationError (e.g. not an email address)."""

    def cannot_send(self, channel: Channel) -> str:
        """Why the channel cannot send now ("" when it can): not confirmed, broken, …"""

    def recipients(self, conversation: Conversation) -> list[str]:
        """Where a reply on this channel goes; [] when nowhere (the reply is refused)."""

    def outbound_id(self, channel: Channel) -> str:
        """The id an outbound message gets when it is stored (email: its Message-ID)."""

    def queue(self, message: Message) -> None:
        """Deliver `message` after the storing transaction commits (the adapter's own task)."""


_registry: dict[str, ChannelAdapter] = {}


def register(adapter: ChannelAdapter) -> None:
    _registry[adapter.kind] = adapter


def adapter_for(kind: str) -> ChannelAdapter | None:
    return _registry.get(kind)


def sending_kinds() -> list[str]:
    return sorted(_registry)
