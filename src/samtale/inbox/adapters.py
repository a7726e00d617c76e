"""Channel adapters: how the inbox core reaches a channel without naming one.

A channel package (email today; chat, Messenger, forms and calls next) registers an adapter for its
kind in its AppConfig.ready (`register`). Arriving messages are normalized by the package itself
into `inbox.inbound.InboundMessage` and handed to `inbox.actions.receive_inbound`; everything the
core needs to send is asked of the adapter here. A kind without an adapter cannot send: a reply on
it is refused with a clear message instead of waiting "queued" forever.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from samtale.accounts.models import User
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


class ChannelAdapter(ABC):
    """What the inbox core asks of a channel. A channel package subclasses it; the defaults are
    what a channel without the feature does."""

    kind: str = ""
    label: Any = ""  # what people call the kind ("Email"), translated when shown
    # what the channel's addresses are as contacts' identities (crm.identities: "email", "phone"…);
    # "" when the channel finds its contacts itself (a chat visitor)
    identity_kind: str = ""
    capabilities: Capabilities = Capabilities()
    templates: dict[str, str] = {}  # its pieces of shared screens: "status", "settings", "thread"

    confirms_address: bool = False  # a new channel's address must be proven before it receives or sends

    def clean_address(self, address: str) -> str:
        """The channel's address as stored, or a ValidationError (e.g. not an email address)."""
        return address.strip()

    def cannot_send(self, channel: Channel) -> str:
        """Why the channel cannot send now ("" when it can): not confirmed, broken, …"""
        return channel.broken_reason

    def recipients(self, conversation: Conversation) -> list[str]:
        """Where a reply on this channel goes; [] when nowhere (the reply is refused)."""
        return []

    def outbound_id(self, channel: Channel) -> str:
        """The id an outbound message gets when it is stored (email: its Message-ID)."""
        return ""

    @abstractmethod
    def queue(self, message: Message) -> None:
        """Deliver `message` after the storing transaction commits (the adapter's own task)."""

    def hand_over(self, conversation: Conversation) -> str:
        """Another kind a reply goes out as instead, now ("" : this one). A chat whose visitor has
        left is answered by email."""
        return ""

    def typing(self, conversation: Conversation, user: User, on: bool) -> None:
        """A teammate is typing a reply (shown to the contact where the channel can)."""
        return None  # optional: a channel that cannot show it ignores it

    def seen(self, conversation: Conversation, user: User, up_to: int) -> None:
        """A teammate has seen the conversation's messages up to the id `up_to`."""
        return None  # optional, as `typing`


_registry: dict[str, ChannelAdapter] = {}


def register(adapter: ChannelAdapter) -> None:
    _registry[adapter.kind] = adapter


def adapter_for(kind: str) -> ChannelAdapter | None:
    return _registry.get(kind)


def sending_kinds() -> list[str]:
    return sorted(_registry)


def kind_choices() -> list[tuple[str, str]]:
    """The kinds a channel can be connected as: those whose package is installed (its adapter
    registered). A kind named in old rows without a package receives and sends nothing."""
    return [(kind, str(_registry[kind].label or kind)) for kind in sorted(_registry)]


def installed(kind: str) -> bool:
    return kind in _registry


# Ports to services a channel package provides to the others (channels never import each other).
_transcript_sender: list[Callable[..., Any]] = []


def provide_transcripts(send: Callable[..., Any]) -> None:
    """`send(conversation, *, to, acting_user, language)`: mails a conversation's transcript (the
    email package provides it; chat uses it when a chat ends, C15, and the More menu, C8)."""
    _transcript_sender[:] = [send]


def transcript_sender() -> Callable[..., Any] | None:
    return _transcript_sender[0] if _transcript_sender else None
