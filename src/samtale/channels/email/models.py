"""Email channel state: raw messages as received (the ingest queue), references for threading,
and per-channel server settings (outgoing SMTP, incoming IMAP)."""

from __future__ import annotations

import io
from typing import IO

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from samtale.core.clock import now

PENDING_INDEX = "rawemail_pending"  # the ingest queue: ids of messages still to process
PARKED_INDEX = "rawemail_parked"  # messages taken out of the queue for an admin to look at


class RawEmail(models.Model):
    """A message exactly as it arrived. It is committed before the sender gets its 250 (or before
    IMAP advances its UID), then parsed by the ingest loop; any message can be parsed again."""

    class Source(models.TextChoices):
        SMTP = "smtp", "SMTP"
        LMTP = "lmtp", "LMTP"
        IMAP = "imap", "IMAP"

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Processed")
        FAILED = "failed", _("Failed")
        PARKED = "parked", _("Parked")  # could not be stored even as an unreadable message; an admin may retry
        HELD = "held", _("Held")  # for an address not yet confirmed: delivered to whoever confirms it

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey("inbox.Channel", on_delete=models.CASCADE, related_name="raw_emails")
    source = models.CharField(max_length=8, choices=Source.choices)
    envelope_from = models.CharField(max_length=998, blank=True)
    envelope_to = models.JSONField(default=list, blank=True)
    data = models.BinaryField(blank=True)  # messages up to SPOOL_MEMORY_BYTES
    file = models.FileField(upload_to="mail/raw/%Y/%m/%d", max_length=255, blank=True)  # larger ones
    size = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(default=now)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    error = models.TextField(blank=True)
    message = models.ForeignKey("inbox.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    attempts = models.PositiveSmallIntegerField(
        default=0, db_default=0
    )  # claims by the ingest queue (each counted first)
    claimed_by = models.CharField(max_length=64, blank=True, default="", db_default="")  # SQLite: pid:start:thread
    parked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["id"], condition=Q(state="pending"), name=PENDING_INDEX),
            models.Index(fields=["account", "id"], condition=Q(state="parked"), name=PARKED_INDEX),
        ]

    def __str__(self) -> str:
        return f"raw email {self.pk} ({self.state})"

    def open(self) -> IO[bytes]:
        """The message as a binary stream, wherever it is kept."""
        if self.file:
            return self.file.storage.open(str(self.file.name), "rb")
        return io.BytesIO(bytes(self.data))

    def read(self) -> bytes:
        with self.open() as handle:
            return handle.read()


class EmailReference(models.Model):
    """A Message-ID a stored message refers to (In-Reply-To and References), so a parent that
    arrives after its reply still finds the reply's conversation."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey("inbox.Message", on_delete=models.CASCADE, related_name="email_references")
    ref = models.CharField(max_length=998)

    class Meta:
        indexes = [models.Index(fields=["account", "ref"])]

    def __str__(self) -> str:
        return self.ref


class Security(models.TextChoices):
    NONE = "none", _("None")
    STARTTLS = "starttls", "STARTTLS"
    TLS = "tls", "SSL/TLS"


class MailServer(models.Model):
    """A channel's own outgoing SMTP server and incoming IMAP mailbox (both optional: without
    SMTP settings mail goes out through the installation's SMTP backend)."""

    channel = models.OneToOneField("inbox.Channel", on_delete=models.CASCADE, related_name="mail_server")
    smtp_host = models.CharField(max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField(default=587)
    smtp_security = models.CharField(max_length=8, choices=Security.choices, default=Security.STARTTLS)
    smtp_username = models.CharField(max_length=255, blank=True)
    smtp_password = models.CharField(max_length=255, blank=True)
    imap_host = models.CharField(max_length=255, blank=True)
    imap_port = models.PositiveIntegerField(default=993)
    imap_security = models.CharField(max_length=8, choices=Security.choices, default=Security.TLS)
    imap_username = models.CharField(max_length=255, blank=True)
    imap_password = models.CharField(max_length=255, blank=True)
    imap_folder = models.CharField(max_length=255, default="INBOX")
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True)
    imap_last_uid = models.BigIntegerField(default=0)
    imap_polled_at = models.DateTimeField(null=True, blank=True)
    imap_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"mail server of channel {self.channel_id}"
