"""Reads of the email channel's state: the health of mail intake (the queue and its loops)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import compat32

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from prometheus_client.core import GaugeMetricFamily, Metric

from samtale.channels.email.models import PENDING_INDEX, RawEmail
from samtale.core.clock import now
from samtale.core.loops import silent
from samtale.core.metrics import loops
from samtale.inbox.models import ChannelKind, Conversation, Direction, Message


@dataclass
class IntakeHealth:
    parked: int = 0  # of the account
    oldest_pending_at: datetime | None = None  # of the whole installation
    dead_loops: list[str] = field(default_factory=list)

    @property
    def lag(self) -> timedelta:
        return now() - self.oldest_pending_at if self.oldest_pending_at else timedelta(0)

    @property
    def problem(self) -> bool:
        return bool(self.parked or self.dead_loops or self.lag > timedelta(minutes=10))


def parked_messages(account_id: int) -> QuerySet[RawEmail]:
    return (
        RawEmail.objects.filter(account_id=account_id, state=RawEmail.State.PARKED)
        .select_related("channel")
        .defer("data")
        .order_by("-id")
    )


@dataclass
class ParkedRow:
    raw: RawEmail
    subject: str
    sender: str


def parked_rows(account_id: int, limit: int = 200) -> list[ParkedRow]:
    """Parked messages with the subject and sender read from the start of each (at most 16 KB:
    the message could not be parsed once already)."""
    rows = []
    for raw in parked_messages(account_id)[:limit]:
        with raw.open() as handle:
            head = handle.read(16 * 1024).partition(b"\r\n\r\n")[0]
        try:
            headers = BytesHeaderParser(policy=compat32).parsebytes(head)
            subject, sender = (header_text(headers.get(name)) for name in ("Subject", "From"))
        except Exception:
            subject, sender = "", ""
        rows.append(ParkedRow(raw, subject[:300], (sender or raw.envelope_from)[:300]))
    return rows


def header_text(value: object) -> str:
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value))))
    except Exception:
        return str(value)


def pending_ids(limit: int) -> list[int]:
    """The oldest messages waiting in the ingest queue, through its partial index."""
    if connection.vendor == "sqlite":
        # The index, named: SQLite's planner cannot use a partial index for a bound parameter and,
        # with young statistics, walked another index and read every row (40 ms at 2,400 stored).
        table = connection.ops.quote_name(RawEmail._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {table} INDEXED BY {PENDING_INDEX} WHERE state = 'pending' ORDER BY id LIMIT %s",  # noqa: S608 -- names from the model
                [limit],
            )
            return [row[0] for row in cursor.fetchall()]
    pending = RawEmail.objects.filter(state=RawEmail.State.PENDING).order_by("id")
    return list(pending.values_list("id", flat=True)[:limit])


def pending_count() -> int:
    return RawEmail.objects.filter(state=RawEmail.State.PENDING).count()


def oldest_pending_at() -> datetime | None:
    """When the oldest message still waiting to be processed arrived."""
    first = pending_ids(1)
    return RawEmail.objects.filter(pk__in=first).values_list("received_at", flat=True).first() if first else None


def dead_loops() -> list[str]:
    return silent(loops())


def intake_health(account_id: int) -> IntakeHealth:
    return IntakeHealth(
        parked=RawEmail.objects.filter(account_id=account_id, state=RawEmail.State.PARKED).count(),
        oldest_pending_at=oldest_pending_at(),
        dead_loops=dead_loops(),
    )


def gauges() -> Iterator[Metric]:
    """Mail intake for /metrics (core.metrics)."""
    oldest = oldest_pending_at()
    yield GaugeMetricFamily(
        "samtale_mail_ingest_lag_seconds", "Age of the oldest stored mail not yet processed",
        value=(now() - oldest).total_seconds() if oldest else 0.0,
    )  # fmt: skip
    yield GaugeMetricFamily("samtale_mail_pending", "Stored mail waiting to be processed", value=pending_count())
    yield GaugeMetricFamily(
        "samtale_mail_parked", "Mail the ingest queue parked for an admin",
        value=RawEmail.objects.filter(state=RawEmail.State.PARKED).count(),
    )  # fmt: skip


def readiness() -> tuple[str, float, bool]:
    """For /readyz: stored mail waits less than SAMTALE_READY_MAX_LAG_SECONDS."""
    oldest = oldest_pending_at()
    lag = (now() - oldest).total_seconds() if oldest else 0.0
    return "mail_ingest_lag_seconds", round(lag, 1), lag <= settings.SAMTALE_READY_MAX_LAG_SECONDS


def reply_address(conversation: Conversation) -> str:
    """The Reply-To of the contact's latest email in the conversation ("" when it had none): a
    reply answers that message. Auto-replies don't count (a vacation notice's Reply-To is not
    where the conversation goes on)."""
    latest = (
        Message.objects.filter(conversation=conversation, direction=Direction.INBOUND, channel_kind=ChannelKind.EMAIL)
        .exclude(auto_reply=True)
        .order_by("-created_at", "-id")
        .values_list("reply_to", flat=True)
        .first()
    )
    return latest or ""
