"""The email channel's adapter (`inbox.adapters`): what the inbox core asks of email."""

from __future__ import annotations

from django.utils.translation import gettext as _

from samtale.inbox.adapters import Capabilities, ChannelAdapter
from samtale.inbox.models import Channel, ChannelKind, Conversation, Message


class EmailAdapter(ChannelAdapter):
    kind: str = ChannelKind.EMAIL.value
    label = ChannelKind.EMAIL.label
    identity_kind = "email"
    capabilities = Capabilities(rich_text=True, attachments=True, subject=True, compose=True, forward=True)
    templates = {"status": "mail/channel_status.html", "settings": "mail/channel_settings.html"}

    confirms_address = True

    def clean_address(self, address: str) -> str:
        from django.core.validators import validate_email

        address = address.strip().lower()
        validate_email(address)
        return address

    def cannot_send(self, channel: Channel) -> str:
        from samtale.channels.email.outbound import unproven

        if reason := unproven(channel):
            return reason
        if channel.broken_reason:
            return _("This channel cannot send: %(reason)s") % {"reason": channel.broken_reason}
        return ""

    def recipients(self, conversation: Conversation) -> list[str]:
        """The contact, or the Reply-To of the latest message they wrote, when it asked for one."""
        from samtale.channels.email.queries import reply_address

        asked = reply_address(conversation)
        if asked:
            return [asked]
        contact = conversation.contact
        return [contact.email] if contact is not None and contact.email else []

    def outbound_id(self, channel: Channel) -> str:
        """Outbound email gets its Message-ID when it is stored, so replies thread before it is sent."""
        from samtale.channels.email.outbound import new_message_id

        return new_message_id(channel.address)

    def queue(self, message: Message) -> None:
        from samtale.channels.email.outbound import queue

        queue(message)
