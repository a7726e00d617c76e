"""Reading tickets: a ticket by id (another account's is a 404), the list with its filters and
cursor, the board of a pipeline (columns by stage, each paged), a conversation's ticket and a
contact's other tickets."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, IntegerField, Q, QuerySet, When
from django.http import Http404, QueryDict

from samtale.core.bounds import parse_id
from samtale.core.models import AuditLog
from samtale.crm.models import Pipeline, PipelineKind, Stage
from samtale.crm.pipelines import pipelines_of
from samtale.tickets.models import Priority, Ticket

PAGE = 50
COLUMN_PAGE = 25


def tickets(account_id: int) -> QuerySet[Ticket]:
    return Ticket.objects.filter(account_id=account_id).select_related("stage", "pipeline", "owner", "contact")


def ticket_or_404(account_id: int, ticket_id: int) -> Ticket:
    ticket = tickets(account_id).filter(pk=ticket_id).first()
    if ticket is None:
        raise Http404("No such ticket")
    return ticket


OTHERS = 5


def _of_conversation(conversation: Any) -> tuple[Ticket | None, list[Ticket], bool]:
    """The conversation's ticket and its contact's other tickets (five, and whether there are
    more), read in one query and once per conversation object: the screen's pieces share it."""
    cached = getattr(conversation, "_samtale_tickets", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    wanted = Q(conversation_id=conversation.pk)
    if conversation.contact_id is not None:
        wanted |= Q(contact_id=conversation.contact_id)
    rows: list[Ticket] = list(
        tickets(conversation.account_id)
        .filter(wanted)
        .annotate(own=Case(When(conversation_id=conversation.pk, then=0), default=1, output_field=IntegerField()))
        .order_by("own", "-created_at", "-id")[: OTHERS + 2]
    )
    own = rows[0] if rows and rows[0].conversation_id == conversation.pk else None
    others = [t for t in rows if t is not own]
    result = (own, others[:OTHERS], len(others) > OTHERS)
    conversation._samtale_tickets = result
    return result


def ticket_of(conversation: Any) -> Ticket | None:
    return _of_conversation(conversation)[0]


def other_tickets_of(conversation: Any) -> tuple[list[Ticket], bool]:
    _own, others, more = _of_conversation(conversation)
    return others, more


def pipelines(account_id: int) -> list[Pipeline]:
    """The account's ticket pipelines with their stages (one query)."""
    return pipelines_of(account_id, PipelineKind.TICKET)


def _day(value: str) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
    return day if 1900 <= day.year <= 2100 else None


@dataclass
class TicketFilters:
    pipeline: int | None = None
    stage: int | None = None
    owner: str = ""  # a teammate's id, "me" or "none"
    priority: str = ""
    state: str = ""  # "open", "closed" or "" (both)
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    q: str = ""
    contact: int | None = None

    @classmethod
    def from_query(cls, query: QueryDict) -> TicketFilters:
        owner = str(query.get("owner", ""))[:12]
        return cls(
            pipeline=parse_id(query.get("pipeline")),
            stage=parse_id(query.get("stage")),
            owner=owner if owner in ("me", "none") or parse_id(owner) else "",
            priority=p if (p := str(query.get("priority", ""))) in Priority.values else "",
            state=s if (s := str(query.get("state", ""))) in ("open", "closed") else "",
            created_from=_day(str(query.get("created_from", ""))),
            created_to=_day(str(query.get("created_to", ""))),
            q=" ".join(str(query.get("q", "")).split())[:100],
            contact=parse_id(query.get("contact")),
        )

    @property
    def active(self) -> bool:
        return any([self.pipeline, self.stage, self.owner, self.priority, self.state, self.created_from,
                    self.created_to, self.q, self.contact])  # fmt: skip


def filtered(account_id: int, filters: TicketFilters, user_id: int) -> QuerySet[Ticket]:
    rows = tickets(account_id)
    if filters.pipeline:
        rows = rows.filter(pipeline_id=filters.pipeline)
    if filters.stage:
        rows = rows.filter(stage_id=filters.stage)
    if filters.owner == "me":
        rows = rows.filter(owner_id=user_id)
    elif filters.owner == "none":
        rows = rows.filter(owner__isnull=True)
    elif filters.owner:
        rows = rows.filter(owner_id=int(filters.owner))
    if filters.priority:
        rows = rows.filter(priority=filters.priority)
    if filters.state == "open":
        rows = rows.filter(closed_at__isnull=True)
    elif filters.state == "closed":
        rows = rows.filter(closed_at__isnull=False)
    if filters.created_from:
        rows = rows.filter(created_at__gte=_start(filters.created_from))
    if filters.created_to:
        rows = rows.filter(created_at__lt=_start(filters.created_to + dt.timedelta(days=1)))
    if filters.q:
        rows = rows.filter(name__icontains=filters.q)
    if filters.contact:
        rows = rows.filter(contact_id=filters.contact)
    return rows


def _start(day: dt.date) -> dt.datetime:
    from django.utils import timezone

    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def _encode(at: dt.datetime, pk: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([at.isoformat(), pk]).encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[dt.datetime, int] | None:
    if not cursor or len(cursor) > 200:
        return None
    try:
        at, pk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return dt.datetime.fromisoformat(at), int(pk)
    except (ValueError, TypeError):
        return None


@dataclass
class TicketPage:
    rows: list[Ticket]
    next_cursor: str = ""


def ticket_page(
    account_id: int, filters: TicketFilters, user_id: int, cursor: str = "", size: int = PAGE
) -> TicketPage:
    """Newest first, by a cursor on (created, id): a page costs the same however deep."""
    return TicketPage(*_keyset(filtered(account_id, filters, user_id), "created_at", cursor, size))


def _keyset(rows: QuerySet[Ticket], moment: str, cursor: str, size: int) -> tuple[list[Ticket], str]:
    """A page of `rows` newest first by (`moment`, id) after `cursor`, and the next page's cursor."""
    rows = rows.order_by(f"-{moment}", "-id")
    after = _decode(cursor)
    if after is not None:
        at, pk = after
        rows = rows.filter(Q(**{f"{moment}__lt": at}) | Q(**{moment: at, "id__lt": pk}))
    found = list(rows[: size + 1])
    more = len(found) > size
    found = found[:size]
    return found, _encode(getattr(found[-1], moment), found[-1].pk) if more and found else ""


@dataclass
class Column:
    stage: Stage
    count: int
    rows: list[Ticket] = field(default_factory=list)
    next_cursor: str = ""


def column_page(stage: Stage, filters: TicketFilters, user_id: int, account_id: int, cursor: str = "") -> Column:
    """One column of the board: the stage's tickets most recently changed first, a page at a time."""
    found, next_cursor = _keyset(filtered(account_id, filters, user_id).filter(stage=stage), "updated_at", cursor,
                                 COLUMN_PAGE)  # fmt: skip
    return Column(stage, 0, found, next_cursor)


def board(pipeline: Pipeline, filters: TicketFilters, user_id: int) -> list[Column]:
    """Every stage of the pipeline with its count (one grouped query) and its first page."""
    stages = list(pipeline.stages.all())
    counts = dict(
        filtered(pipeline.account_id, filters, user_id)
        .filter(pipeline=pipeline)
        .values_list("stage_id")
        .annotate(n=Count("id"))
        .values_list("stage_id", "n")
    )
    columns = []
    for stage in stages:
        column = column_page(stage, filters, user_id, pipeline.account_id)
        column.count = counts.get(stage.pk, 0)
        columns.append(column)
    return columns


def history(ticket: Ticket, limit: int = 50) -> list[AuditLog]:
    """Who did what to the ticket, newest first (its audit rows)."""
    return list(
        AuditLog.objects.filter(account_id=ticket.account_id, object_type="ticket", object_id=ticket.pk)
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )
