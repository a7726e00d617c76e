"""Chat transcript by email (C8, C15): the conversation's messages, in order, sent to an address.

`request_transcript` is the write path the chat channel calls (permission, audit, delivery through
the worker); `send` renders the templates and sends it through the channel's (or the
installation's) SMTP server.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from samtale.accounts.models import User
from samtale.channels.email.outbound import CannotSendFrom, connection_for, from_header, new_message_id, unproven
from samtale.core.audit import audit
from samtale.inbox.models import Channel, ChannelKind, Conversation, Message

log = logging.getLogger(__name__)


def _sending_channel(conversation: Conversation) -> Channel:
    """The conversation's own email channel, else the inbox's: one whose address the account has
    proven (the chat channel has no address; an unproven one is never a sender, `from_header`)."""
    candidates = [conversation.channel] if conversation.channel.kind == ChannelKind.EMAIL else []
    candidates += Channel.objects.filter(inbox_id=conversation.inbox_id, kind=ChannelKind.EMAIL).exclude(address="").exclude(verified_at=None).order_by("pk")  # fmt: skip
    for channel in candidates:
        if not unproven(channel):
            return channel
    raise ValidationError(_("This inbox has no confirmed email address to send the transcript from."))


def request_transcript(
    conversation: Conversation, *, to: str, acting_user: User | None = None, language: str = "", confirm_link: str = ""
) -> None:
    """Send the transcript after the current transaction commits. `acting_user` None: the
    contact asked for it from the chat widget. `confirm_link`: the address is not proven yet, so
    what goes is a mail asking to open that link (the chat package's), with none of the
    conversation's text in it; the transcript follows only from there."""
    from samtale.channels.email.tasks import send_transcript
    from samtale.inbox.access import access_conversation

    if acting_user is not None:
        access_conversation(acting_user, conversation.pk)
    validate_email(to)
    _sending_channel(conversation)
    with transaction.atomic():
        what = "conversation.transcript_confirmation_requested" if confirm_link else "conversation.transcript_requested"
        audit(conversation.account, acting_user, what, conversation, to=to)
        pk = conversation.pk
        transaction.on_commit(lambda: send_transcript.enqueue(pk, to, language, confirm_link))


def _language(language: str) -> str:
    known = {code for code, _name in settings.LANGUAGES}
    return language if language in known else settings.LANGUAGE_CODE


def build(conversation: Conversation, to: str, language: str = "") -> EmailMultiAlternatives:
    channel = _sending_channel(conversation)
    messages = list(
        Message.objects.filter(conversation=conversation, hidden_at=None)
        .select_related("author")
        .order_by("created_at", "id")
    )
    context = {"conversation": conversation, "messages": messages, "inbox": conversation.inbox}
    with translation.override(_language(language)):
        subject = render_to_string("mail/transcript_subject.txt", context).strip()
        text = render_to_string("mail/transcript.txt", context)
        html = render_to_string("mail/transcript.html", context)
    mail = EmailMultiAlternatives(
        subject=subject, body=text, from_email=from_header(channel, conversation.inbox.name), to=[to],
        headers={"Message-ID": f"<{new_message_id(channel.address)}>", "Auto-Submitted": "auto-generated"},
    )  # fmt: skip
    mail.attach_alternative(html, "text/html")
    return mail


def build_confirmation(conversation: Conversation, to: str, link: str, language: str = "") -> EmailMultiAlternatives:
    """ "Open this link to get the transcript": the inbox's words and the link, nothing a visitor wrote."""
    channel = _sending_channel(conversation)
    context = {"inbox": conversation.inbox, "link": link}
    with translation.override(_language(language)):
        subject = render_to_string("mail/transcript_confirm_subject.txt", context).strip()
        text = render_to_string("mail/transcript_confirm.txt", context)
    return EmailMultiAlternatives(
        subject=subject, body=text, from_email=from_header(channel, conversation.inbox.name), to=[to],
        headers={"Message-ID": f"<{new_message_id(channel.address)}>", "Auto-Submitted": "auto-generated"},
    )  # fmt: skip


def send(conversation_id: int, to: str, language: str = "", confirm_link: str = "") -> str:
    conversation = Conversation.objects.select_related("inbox", "channel", "contact", "account").get(pk=conversation_id)
    try:
        if confirm_link:
            mail = build_confirmation(conversation, to, confirm_link, language)
        else:
            mail = build(conversation, to, language)
    except (ValidationError, CannotSendFrom) as error:  # the address lost its proof since it was asked for
        log.warning("transcript of conversation %s not sent: %s", conversation_id, error)
        return "not sent"
    mail.connection = connection_for(_sending_channel(conversation))  # type: ignore[assignment]
    mail.send(fail_silently=False)
    return "confirmation sent" if confirm_link else "sent"
