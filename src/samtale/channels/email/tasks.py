"""Background jobs of the email channel."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django_tasks import task
from django_tasks.base import Task


@task()
def send_address_verification(channel_id: int) -> str:
    from samtale.channels.email import verification
    from samtale.inbox.models import Channel

    channel = Channel.objects.select_related("inbox").filter(pk=channel_id, verified_at=None).first()
    if channel is None:
        return "nothing to confirm"
    verification.send(channel)
    return "sent"


@task()
def purge_held_mail() -> int:
    """Mail held for an address nobody confirmed is deleted after SAMTALE_TRASH_RETENTION_DAYS."""
    from samtale.channels.email.models import RawEmail
    from samtale.core.clock import now

    since = now() - timedelta(days=settings.SAMTALE_TRASH_RETENTION_DAYS)
    return RawEmail.objects.filter(state=RawEmail.State.HELD, received_at__lt=since).delete()[0]


@task()
def deliver_email(message_id: int) -> str:
    """Send one outbound email (retried with backoff by re-enqueueing itself)."""
    from samtale.channels.email.outbound import deliver

    return deliver(message_id)


@task()
def send_transcript(conversation_id: int, to: str, language: str = "", confirm_link: str = "") -> str:
    """Email a chat transcript (C8, C15), or the link that confirms the address first."""
    from samtale.channels.email.transcript import send

    return send(conversation_id, to, language, confirm_link)


PERIODIC: list[tuple[Task[[], Any], float]] = [(purge_held_mail, 3600.0)]
