"""Reads of feedback: a contact's past answers beside a conversation (one query), the answers of
the inboxes a person may open (the API, keyset paged) and the counts per inbox and per agent.
Answers are conversation-bound: a person sees those of inboxes they have access to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Avg, Case, Count, IntegerField, Q, QuerySet, Sum, Value, When, Window

from samtale.accounts.models import User
from samtale.feedback.models import State, Survey
from samtale.inbox.access import accessible_inboxes

PAST_SHOWN = 5


def _readable(user: User) -> Q:
    """The surveys of inboxes this person may open (a subquery: no query of its own)."""
    return Q(inbox_id__in=accessible_inboxes(user).values("pk"))


def past_feedback(user: User, contact_id: int, conversation_id: int) -> dict[str, Any]:
    """This conversation's survey first (answered or not: the agent sees whether it went), then
    the contact's latest answers elsewhere, how many they gave and their average, in one query
    (the figures as window functions over all the rows, before the limit)."""
    answered = Q(score__isnull=False)
    this_first = Case(When(conversation_id=conversation_id, then=Value(0)), default=Value(1))
    rows = list(
        Survey.objects.filter(
            Q(contact_id=contact_id) & _readable(user) & (answered | Q(conversation_id=conversation_id))
        )
        .select_related("conversation")
        .annotate(
            total=Window(Sum(Case(When(answered, then=Value(1)), default=Value(0), output_field=IntegerField()))),
            mean=Window(Avg("score")),
        )
        .order_by(this_first, "-answered_at", "-id")[: PAST_SHOWN + 1]
    )
    this = rows[0] if rows and rows[0].conversation_id == conversation_id else None
    others = [s for s in rows if s is not this][:PAST_SHOWN]
    count, average = (rows[0].total or 0, rows[0].mean) if rows else (0, None)
    return {"this": this, "others": others, "count": count, "average": average}


def answers(user: User) -> QuerySet[Survey]:
    """Answered surveys of the inboxes this person may open, newest first (keyset on answered_at, id)."""
    from samtale.accounts.access import membership_of

    return (
        Survey.objects.filter(_readable(user), account_id=membership_of(user).account_id)
        .exclude(score=None)
        .select_related("inbox", "agent", "contact")
        .order_by("-answered_at", "-id")
    )


def _figures(rows: QuerySet[Survey], key: str) -> list[dict[str, Any]]:
    scores = {f"score_{n}": Count("pk", filter=Q(score=n)) for n in range(1, 6)}
    grouped = rows.values(key).annotate(
        sent=Count("pk"), answered=Count("pk", filter=Q(score__isnull=False)), average=Avg("score"), **scores
    )
    return [
        {
            "id": row[key],
            "sent": row["sent"],
            "answered": row["answered"],
            "average": round(row["average"], 2) if row["average"] is not None else None,
            "scores": {str(n): row[f"score_{n}"] for n in range(1, 6)},
        }
        for row in grouped.order_by(key)
    ]


def summary(
    user: User, *, since: datetime | None, until: datetime | None, inbox_id: int | None = None
) -> dict[str, Any]:
    """Sent and answered surveys, the average and how many of each score, per inbox and per
    agent (who owned the conversation when it closed), for surveys sent in [since, until), of
    the inboxes this person may open."""
    from samtale.accounts.access import membership_of

    rows = Survey.objects.filter(_readable(user), account_id=membership_of(user).account_id, state=State.SENT)
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
