"""Chat transcript by email (C8, C15): the conversation's messages, in order, sent to an address.

`request_transcript` is the write path the chat channel calls (permission, audit, delivery through
the worker); `send` renders the templates and sends it through the channel's (or the
installation's) SMTP server.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from samtale.accounts.models import User
from samtale.channels.email.outbound import connection_for, new_message_id
from samtale.core.audit import audit
from samtale.inbox.models import Channel, ChannelKind, Conversation, Message


def _sending_channel(conversation: Conversation) -> Channel:
    """The inbox's email channel sends it (the chat channel has no address)."""
    if conversation.channel.kind == ChannelKind.EMAIL:
        return conversation.channel
    channel = Channel.objects.filter(inbox_id=conversation.inbox_id, kind=ChannelKind.EMAIL).exclude(address="").first()
    if channel is None:
        raise ValidationError(_("This inbox has no email channel to send the transcript from."))
    return channel


def request_transcript(
    conversation: Conversation, *, to: str, acting_user: User | None = None, language: str = ""
) -> None:
    """Send the transcript after the current transaction commits. `acting_user` None: the
    contact asked for it from the chat widget."""
    from samtale.channels.email.tasks import send_transcript
    from samtale.inbox.access import access_conversation

    if acting_user is not None:
        access_conversation(acting_user, conversation.pk)
    validate_email(to)
    _sending_channel(conversation)
    with transaction.atomic():
        audit(conversation.account, acting_user, "conversation.transcript_requested", conversation, to=to)
        pk = conversation.pk
        transaction.on_commit(lambda: send_transcript.enqueue(pk, to, language))


def build(conversation: Conversation, to: str, language: str = "") -> EmailMultiAlternatives:
    channel = _sending_channel(conversation)
    messages = list(
        Message.objects.filter(conversation=conversation, hidden_at=None)
        .select_related("author")
        .order_by("created_at", "id")
    )
    context = {"conversation": conversation, "messages": messages, "inbox": conversation.inbox}
    known = {code for code, _name in settings.LANGUAGES}
    with translation.override(language if language in known else settings.LANGUAGE_CODE):
        subject = render_to_string("mail/transcript_subject.txt", context).strip()
        text = render_to_string("mail/transcript.txt", context)
        html = render_to_string("mail/transcript.html", context)
    mail = EmailMultiAlternatives(
        subject=subject, body=text, from_email=f"{conversation.inbox.name} <{channel.address}>", to=[to],
        headers={"Message-ID": f"<{new_message_id(channel.address)}>", "Auto-Submitted": "auto-generated"},
    )  # fmt: skip
    mail.attach_alternative(html, "text/html")
    return mail


def send(conversation_id: int, to: str, language: str = "") -> str:
    conversation = Conversation.objects.select_related("inbox", "channel", "contact", "account").get(pk=conversation_id)
    mail = build(conversation, to, language)
    mail.connection = connection_for(_sending_channel(conversation))  # type: ignore[assignment]
    mail.send(fail_silently=False)
    return "sent"
