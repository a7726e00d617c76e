"""What a teammate does in a conversation that is not a stored write of the inbox itself: typing,
having seen it, a transcript mailed. Each checks access and hands over to the channel's adapter
(or the package providing the service)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from samtale.accounts.models import User
from samtale.inbox import adapters
from samtale.inbox.models import Conversation


def agent_typing(user: User, conversation_id: int, *, on: bool) -> None:
    """The teammate is typing a reply (or stopped): the channel shows it to the contact if it can."""
    from samtale.inbox.access import access_conversation

    conversation = access_conversation(user, conversation_id)
    adapter = adapters.adapter_for(conversation.channel_kind)
    if adapter is not None:
        adapter.typing(conversation, user, on)


def agent_seen(user: User, conversation_id: int, *, up_to: int) -> None:
    """The teammate has the conversation open and has seen its messages up to `up_to`."""
    from samtale.inbox.access import access_conversation

    conversation = access_conversation(user, conversation_id)
    adapter = adapters.adapter_for(conversation.channel_kind)
    if adapter is not None:
        adapter.seen(conversation, user, up_to)


def send_transcript(conversation: Conversation, *, acting_user: User, to: str) -> None:
    """Mail the conversation's messages, in order, to any address (C8: More ▸ Send chat transcript)."""
    send = adapters.transcript_sender()
    if send is None:
        raise ValidationError(_("Transcripts cannot be mailed: no email channel is installed."))
    send(conversation, to=to.strip(), acting_user=acting_user, language=acting_user.language)
