"""Reads of feedback: a contact's past answers (the sidebar, one query), the answers of an
account (the API, keyset paged) and the counts per inbox and per agent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Avg, Case, Count, Q, QuerySet, Value, When, Window

from samtale.feedback.models import State, Survey

PAST_SHOWN = 5


def past_feedback(contact_id: int, conversation_id: int) -> dict[str, Any]:
    """The contact's latest answers (this conversation's first when it has one), how many they
    gave and their average: one query (the figures as window functions over all of them)."""
    this_first = Case(When(conversation_id=conversation_id, then=Value(0)), default=Value(1))
    rows = list(
        Survey.objects.filter(contact_id=contact_id)
        .exclude(score=None)
        .select_related("conversation")
        .annotate(total=Window(Count("pk")), mean=Window(Avg("score")))  # over all of them, before the limit
        .order_by(this_first, "-answered_at", "-id")[: PAST_SHOWN + 1]
    )
    this = rows[0] if rows and rows[0].conversation_id == conversation_id else None
    others = [s for s in rows if s is not this][:PAST_SHOWN]
    count, average = (rows[0].total, rows[0].mean) if rows else (0, None)
    return {"this": this, "others": others, "count": count, "average": average}


def answers(account_id: int) -> QuerySet[Survey]:
    """Answered surveys, newest first (keyset on answered_at, id)."""
    return (
        Survey.objects.filter(account_id=account_id)
        .exclude(score=None)
        .select_related("inbox", "agent", "contact")
        .order_by("-answered_at", "-id")
    )


def _figures(rows: QuerySet[Survey], key: str) -> list[dict[str, Any]]:
    scores = {f"score_{n}": Count("pk", filter=Q(score=n)) for n in range(1, 6)}
    grouped = rows.values(key).annotate(
        sent=Count("pk"),
        answered=Count("pk", filter=Q(score__isnull=False)),
        average=Avg("score"),
        **scores,
    )
    out = []
    for row in grouped.order_by(key):
        out.append(
            {
                "id": row[key],
                "sent": row["sent"],
                "answered": row["answered"],
                "average": round(row["average"], 2) if row["average"] is not None else None,
                "scores": {str(n): row[f"score_{n}"] for n in range(1, 6)},
            }
        )
    return out


def summary(
    account_id: int, *, since: datetime | None, until: datetime | None, inbox_id: int | None = None
) -> dict[str, Any]:
    """Sent and answered surveys, the average and how many of each score, per inbox and per
    agent (who owned the conversation when it closed), for surveys sent in [since, until)."""
    rows = Survey.objects.filter(account_id=account_id, state=State.SENT)
    if since is not None:
        rows = rows.filter(sent_at__gte=since)
    if until is not None:
        rows = rows.filter(sent_at__lt=until)
    if inbox_id is not None:
        rows = rows.filter(inbox_id=inbox_id)
    total = rows.aggregate(sent=Count("pk"), answered=Count("pk", filter=Q(score__isnull=False)), average=Avg("score"))
    return {
        "sent": total["sent"],
        "answered": total["answered"],
        "average": round(total["average"], 2) if total["average"] is not None else None,
        "inboxes": _figures(rows, "inbox_id"),
        "agents": _figures(rows, "agent_id"),
    }
