"""Reading deals: by id (another account's is a 404), the list with filters and cursor, a
contact's or a company's deals."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from samtale.core.bounds import parse_id
from samtale.crm.models import Pipeline, PipelineKind
from samtale.crm.pipelines import pipelines_of
from samtale.deals.models import Deal

PAGE = 50
SIDEBAR = 5


def deals(account_id: int) -> QuerySet[Deal]:
    return Deal.objects.filter(account_id=account_id).select_related("stage", "pipeline", "owner", "company")


def deal_or_404(account_id: int, deal_id: int) -> Deal:
    deal = deals(account_id).filter(pk=deal_id).first()
    if deal is None:
        raise Http404("No such deal")
    return deal


def pipelines(account_id: int) -> list[Pipeline]:
    return pipelines_of(account_id, PipelineKind.DEAL)


def of_contact(contact_id: int, limit: int = SIDEBAR) -> tuple[list[Deal], bool]:
    """The contact's deals, newest first, and whether there are more (one query)."""
    found = list(
        Deal.objects.filter(contacts__id=contact_id).select_related("stage").order_by("-created_at", "-id")[: limit + 1]
    )
    return found[:limit], len(found) > limit


def of_company(company_id: int, limit: int = 50) -> list[Deal]:
    return list(
        Deal.objects.filter(company_id=company_id).select_related("stage").order_by("-created_at", "-id")[:limit]
    )


def page(account_id: int, query: Any, cursor_id: int | None = None) -> tuple[list[Deal], int | None]:
    """Newest first (by id), filtered by pipeline, stage, owner ("none", an id), open/won/lost."""
    rows = deals(account_id)
    if (pipeline := parse_id(query.get("pipeline"))) is not None:
        rows = rows.filter(pipeline_id=pipeline)
    if (stage := parse_id(query.get("stage"))) is not None:
        rows = rows.filter(stage_id=stage)
    owner = str(query.get("owner", ""))[:12]
    if owner == "none":
        rows = rows.filter(owner__isnull=True)
    elif (owner_id := parse_id(owner)) is not None:
        rows = rows.filter(owner_id=owner_id)
    state = str(query.get("state", ""))
    if state == "open":
        rows = rows.filter(closed_at__isnull=True)
    elif state == "closed":
        rows = rows.filter(closed_at__isnull=False)
    if q := " ".join(str(query.get("q", "")).split())[:100]:
        rows = rows.filter(Q(name__icontains=q) | Q(company__name__istartswith=q))
    if (contact := parse_id(query.get("contact"))) is not None:
        rows = rows.filter(contacts__id=contact)
    if cursor_id is not None:
        rows = rows.filter(pk__lt=cursor_id)
    found = list(rows.order_by("-id")[: PAGE + 1])
    return found[:PAGE], (found[PAGE - 1].pk if len(found) > PAGE else None)
