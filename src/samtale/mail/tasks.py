"""Background jobs of the email channel."""

from __future__ import annotations

from django_tasks import task


@task()
def send_address_verification(channel_id: int) -> str:
    from samtale.inbox.models import Channel
    from samtale.mail import verification

    channel = Channel.objects.select_related("inbox").filter(pk=channel_id, verified_at=None).first()
    if channel is None:
        return "nothing to confirm"
    verification.send(channel)
    return "sent"
