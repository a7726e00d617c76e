"""The feedback survey by email (D3): the question and the numbers 1 to 5 as links to the
comment page, from the conversation's email address, in the conversation's thread (a reply to
it lands in the conversation, never lost)."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from samtale.channels.email.adapter import EmailAdapter
from samtale.channels.email.outbound import CannotSendFrom, connection_for, from_header, new_message_id
from samtale.feedback.delivery import NotDeliverable, Outgoing
from samtale.inbox.models import Conversation, Message


def _threading(conversation: Conversation) -> dict[str, str]:
    parent = (
        Message.objects.filter(conversation=conversation, external_id__contains="@")
        .order_by("-created_at", "-id")
        .values_list("external_id", flat=True)
        .first()
    )
    return {"In-Reply-To": f"<{parent}>", "References": f"<{parent}>"} if parent else {}


def build(outgoing: Outgoing) -> EmailMultiAlternatives:
    from django.core.exceptions import ValidationError

    from samtale.channels.email.transcript import _sending_channel

    conversation = outgoing.survey.conversation
    to = EmailAdapter().recipients(conversation)
    if not to:
        raise NotDeliverable(_("The contact has no email address."))
    try:
        channel = _sending_channel(conversation)
        sender = from_header(channel, conversation.inbox.name)
    except (ValidationError, CannotSendFrom) as why:
        raise NotDeliverable(" ".join(getattr(why, "messages", [str(why)]))) from None
    context = {"outgoing": outgoing, "inbox": conversation.inbox, "conversation": conversation}
    subject = " ".join(render_to_string("mail/survey_subject.txt", context).split())
    mail = EmailMultiAlternatives(
        subject=subject, body=render_to_string("mail/survey.txt", context), from_email=sender, to=to[:1],
        headers={
            "Message-ID": f"<{new_message_id(channel.address)}>", "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All", **_threading(conversation),
        },
    )  # fmt: skip
    mail.attach_alternative(render_to_string("mail/survey.html", context), "text/html")
    mail.connection = connection_for(channel)  # type: ignore[assignment]
    return mail


def send(outgoing: Outgoing) -> None:
    """Called by feedback in the survey's language; an SMTP failure raises (the survey failed)."""
    build(outgoing).send(fail_silently=False)
