"""The write path of the email channel's own state: its servers (outgoing SMTP, incoming IMAP), and
the messages the ingest queue parked."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from samtale.accounts.access import require_permission
from samtale.accounts.models import User
from samtale.channels.email import events
from samtale.channels.email.models import MailServer, RawEmail, Security
from samtale.core import egress
from samtale.core.audit import audit
from samtale.core.clock import now
from samtale.core.events import publish_on_commit
from samtale.inbox import actions as inbox_actions
from samtale.inbox.models import Channel, ChannelKind

FIELDS = (
    "smtp_host", "smtp_port", "smtp_security", "smtp_username", "smtp_password",
    "imap_host", "imap_port", "imap_security", "imap_username", "imap_password", "imap_folder",
)  # fmt: skip
SECRETS = ("smtp_password", "imap_password")
# What a stored password was given for: changing any of these drops it (unless a new one is given).
BOUND_TO_SECRET = {
    "smtp": ("smtp_host", "smtp_port", "smtp_security", "smtp_username"),
    "imap": ("imap_host", "imap_port", "imap_security", "imap_username"),
}


def configure_mail_server(channel: Channel, *, acting_user: User, **values: Any) -> MailServer:
    """Save the channel's servers. An empty password keeps the stored one only while the server
    it was given for stays the same (host, port, security, username): a stored secret is dropped
    when any of them changes, so nobody can point the channel at their own server and receive
    it. Super admins may keep it across a change (they could set it anyway). An empty host turns
    that side off (the installation's SMTP server sends; no IMAP polling). Hosts are checked
    against the egress policy (`core.egress`)."""
    membership = require_permission(acting_user, "inbox_settings")
    if channel.kind != ChannelKind.EMAIL:
        raise ValidationError(_("Only email channels have mail servers."))
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ValidationError(f"Unknown fields: {', '.join(sorted(unknown))}")
    for side in ("smtp", "imap"):
        security = values.get(f"{side}_security")
        if security is not None and security not in Security.values:
            raise ValidationError(_("Unknown security setting."))
        port = values.get(f"{side}_port")
        if port is not None and not (0 < int(port) < 65536):
            raise ValidationError(_("A port is a number from 1 to 65535."))
        host = values.get(f"{side}_host")
        if host:
            try:
                egress.check_destination(str(host))
            except egress.EgressError as exc:
                raise ValidationError(str(exc)) from None
    if values.get("imap_host") and not values.get("imap_username"):
        raise ValidationError(_("IMAP needs a username."))
    dropped: list[str] = []
    with transaction.atomic():
        server, _created = MailServer.objects.select_for_update().get_or_create(channel=channel)
        for side in ("smtp", "imap"):
            secret = f"{side}_password"
            if values.get(secret) or not getattr(server, secret) or membership.is_super_admin:
                continue
            moved = [n for n in BOUND_TO_SECRET[side] if n in values and str(values[n]) != str(getattr(server, n))]
            if moved:
                setattr(server, secret, "")
                dropped.append(side)
        for name, value in values.items():
            if name in SECRETS and not value:
                continue
            setattr(server, name, value)
        if "imap_host" in values or "imap_username" in values or "imap_folder" in values:
            server.imap_error = ""
        server.save()
        audit(channel.inbox.account, acting_user, "channel.mail_server", channel,
              smtp=bool(server.smtp_host), imap=bool(server.imap_host), passwords_dropped=dropped)  # fmt: skip
        inbox_actions.mark_channel_working(channel, acting_user=acting_user)  # new settings: try again
    return server


def park_raw_email(raw: RawEmail, *, reason: str) -> RawEmail:
    """Take a message out of the ingest queue (by the queue itself, never a user): it could not be
    stored even as an unreadable message, or it took its worker down too often."""
    with transaction.atomic():
        raw.state = RawEmail.State.PARKED
        raw.error = reason[:2000]
        raw.claimed_by = ""
        raw.parked_at = now()
        raw.save(update_fields=["state", "error", "claimed_by", "parked_at"])
        audit(raw.channel.account, None, "mail.parked", raw, reason=raw.error[:500], attempts=raw.attempts)
        publish_on_commit(events.intake_changed(raw.account_id))
    return raw


def retry_raw_email(raw: RawEmail, *, acting_user: User) -> RawEmail:
    """Put a parked message back in the queue with fresh attempts (after a fix was deployed)."""
    membership = require_permission(acting_user, "inbox_settings")
    if raw.account_id != membership.account_id:
        raise PermissionDenied(_("Not a message of your account."))
    if raw.state != RawEmail.State.PARKED:
        raise ValidationError(_("This message is not parked."))
    with transaction.atomic():
        raw.state = RawEmail.State.PENDING
        raw.attempts = 0
        raw.parked_at = None
        raw.save(update_fields=["state", "attempts", "parked_at"])
        audit(membership.account, acting_user, "mail.retried", raw)
        publish_on_commit(events.intake_changed(raw.account_id))
    from samtale.channels.email.store import wake

    transaction.on_commit(wake)
    return raw


def verify_address(channel: Channel, *, how: str, acting_user: User | None = None) -> Channel:
    """The address is proven (its confirmation link was opened, its confirmation came back through
    the listener, or the system set it up): the channel receives its mail from now on, with what
    was held for the address meanwhile. Another account holding the address loses it."""
    if channel.kind != ChannelKind.EMAIL:
        raise ValidationError(_("Only email addresses are confirmed this way."))
    given = channel
    with transaction.atomic():
        channel = Channel.objects.select_for_update().get(pk=channel.pk)
        if channel.verified_at is not None:
            given.verified_at = channel.verified_at
            return channel
        for other in Channel.objects.select_for_update().filter(kind=ChannelKind.EMAIL, address=channel.address).exclude(pk=channel.pk).exclude(verified_at=None):  # fmt: skip
            other.verified_at = None
            other.save(update_fields=["verified_at"])
            audit(other.account, None, "channel.address_taken_back", other, address=other.address)
            publish_on_commit(events.intake_changed(other.account_id))
        channel.verified_at = given.verified_at = now()
        channel.save(update_fields=["verified_at"])
        held = RawEmail.objects.filter(
            state=RawEmail.State.HELD, channel__kind=ChannelKind.EMAIL, channel__address=channel.address
        )
        released = held.update(state=RawEmail.State.PENDING, channel=channel, account_id=channel.account_id, attempts=0)
        audit(channel.account, acting_user, "channel.address_verified", channel, how=how, released=released)
        publish_on_commit(events.intake_changed(channel.account_id))
    from samtale.channels.email.store import wake

    transaction.on_commit(wake)
    return channel


def request_verification(channel: Channel, *, acting_user: User | None) -> None:
    """Mail (again) the confirmation of an unverified address; the worker sends it."""
    if acting_user is not None:
        require_permission(acting_user, "inbox_settings")
    if channel.kind != ChannelKind.EMAIL:
        raise ValidationError(_("Only email addresses are confirmed this way."))
    if channel.verified_at is not None:
        raise ValidationError(_("This address is already confirmed."))
    from samtale.channels.email.tasks import send_address_verification

    pk = channel.pk
    transaction.on_commit(lambda: send_address_verification.enqueue(pk))
    if acting_user is not None:
        audit(channel.account, acting_user, "channel.verification_sent", channel)


def confirm_new_address(channel: Channel) -> None:
    """A new email channel: mail its address the confirmation (after the creating commit)."""
    if channel.kind == ChannelKind.EMAIL and channel.verified_at is None:
        request_verification(channel, acting_user=None)
