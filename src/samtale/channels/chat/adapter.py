"""The chat channel's adapter (`inbox.adapters`): what the inbox core asks of website chat."""

from __future__ import annotations

from django.db import transaction

from samtale.accounts.models import User
from samtale.inbox.adapters import Capabilities, ChannelAdapter, adapter_for
from samtale.inbox.models import Channel, ChannelKind, Conversation, Message


class ChatAdapter(ChannelAdapter):
    kind: str = ChannelKind.CHAT.value
    label = ChannelKind.CHAT.label
    capabilities = Capabilities(attachments=True)
    templates = {
        "status": "chat/channel_status.html",
        "settings": "chat/channel_settings.html",
        "thread": "chat/thread.html",
    }
    confirms_address = False

    def clean_address(self, address: str) -> str:
        return ""  # a chat channel has no address: its widget has a key

    def recipients(self, conversation: Conversation) -> list[str]:
        from samtale.channels.chat.models import ChatSession

        if conversation.channel_kind != self.kind:  # a visitor is reached only in their own chat
            return []
        chat = ChatSession.objects.filter(conversation=conversation).select_related("visitor").first()
        return [f"visitor:{chat.visitor.uid}"] if chat is not None else []

    def queue(self, message: Message) -> None:
        from samtale.channels.chat.actions import deliver

        pk = message.pk
        transaction.on_commit(lambda: deliver(pk), robust=True)

    def hand_over(self, conversation: Conversation) -> str:
        """The visitor has left the site: the reply goes to their email, when one is known and the
        inbox has an email channel that can send (else it waits in the chat for their return)."""
        from samtale.channels.chat.queries import chat_of, is_online

        chat = chat_of(conversation.pk)
        if chat is None or is_online(chat.visitor):
            return ""
        contact = conversation.contact
        if contact is None or not contact.email:
            return ""
        email = adapter_for("email")
        if email is None:
            return ""
        channels = Channel.objects.filter(inbox_id=conversation.inbox_id, kind="email")
        return "email" if any(not email.cannot_send(c) for c in channels) else ""

    def typing(self, conversation: Conversation, user: User, on: bool) -> None:
        from samtale.channels.chat.actions import team_typing

        team_typing(conversation, user, on)

    def seen(self, conversation: Conversation, user: User, up_to: int) -> None:
        from samtale.channels.chat.actions import team_seen

        team_seen(conversation, user, up_to)
