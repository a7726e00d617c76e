"""Deals' screens (D3): the list, a deal's record, and the section beside a conversation."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from samtale.accounts.access import membership_of
from samtale.accounts.http import acting, action_view, member_required
from samtale.core.bounds import parse_id
from samtale.crm.queries import active_teammates, companies_of, contact_or_404
from samtale.deals import actions, queries, sidebar
from samtale.deals.models import CURRENCIES
from samtale.inbox.access import access_conversation

FIELDS = ("name", "amount", "currency", "close_date", "owner", "company", "stage")


def _section(request: HttpRequest, conversation: Any) -> HttpResponse:
    data = sidebar.deals_section(conversation, acting(request))
    if data is None:  # no contact: the section is not shown
        return HttpResponse('<section class="sidebar-section" id="sidebar-deals"></section>')
    return render(request, "deals/sidebar_deals.html", {"section": sidebar.DEALS, "data": data})


@member_required
def conversation_deals(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """GET: the Deals section (a live redraw); POST: a deal from the conversation."""
    conversation = access_conversation(acting(request), conversation_id)
    if request.method == "POST":
        return _create(request, conversation)
    return _section(request, conversation)


@action_view
def _create(request: HttpRequest, conversation: Any) -> HttpResponse:
    user = acting(request)
    values = {k: request.POST.get(k, "") for k in FIELDS if k in request.POST}
    actions.create_deal(membership_of(user).account, acting_user=user, conversation=conversation, **values)
    response = _section(request, conversation)
    response["HX-Trigger"] = json.dumps({"samtale:toast": _("Deal created.")})
    return response


@require_GET
@member_required
def deals_page(request: HttpRequest) -> HttpResponse:
    user = acting(request)
    membership = membership_of(user)
    contact = None
    if (contact_id := parse_id(request.GET.get("contact"))) is not None:
        contact = contact_or_404(membership.account_id, contact_id)
    rows, next_id = queries.page(membership.account_id, request.GET, parse_id(request.GET.get("before")))
    keep = request.GET.copy()
    keep.pop("before", None)
    return render(request, "deals/deals.html", {
        "section": "deals", "deals": rows, "next_id": next_id, "query": keep.urlencode(),
        "pipelines": queries.pipelines(membership.account_id), "members": active_teammates(membership.account_id),
        "filters": request.GET, "contact": contact, "first_page": not request.GET.get("before"),
    })  # fmt: skip


@require_GET
@member_required
def deal_record(request: HttpRequest, deal_id: int) -> HttpResponse:
    membership = membership_of(acting(request))
    deal = queries.deal_or_404(membership.account_id, deal_id)
    return render(request, "deals/deal.html", {
        "section": "deals", "deal": deal, "contacts": list(deal.contacts.order_by("name", "id")),
        "pipelines": queries.pipelines(membership.account_id), "members": active_teammates(membership.account_id),
        "companies": companies_of(membership.account_id), "currencies": CURRENCIES,
        "crm_admin": membership.has_permission("crm_admin"),
    })  # fmt: skip


@action_view
def deal_update(request: HttpRequest, deal_id: int) -> HttpResponse:
    user = acting(request)
    deal = queries.deal_or_404(membership_of(user).account_id, deal_id)
    values: dict[str, Any] = {k: request.POST.get(k, "") for k in FIELDS if k in request.POST}
    if "contacts" in request.POST:
        values["contacts"] = [v for v in request.POST.getlist("contacts")[:60] if v]
    actions.update_deal(deal, acting_user=user, values=values)
    return HttpResponseRedirect(reverse("deal", args=[deal.pk]))


@action_view
def deal_delete(request: HttpRequest, deal_id: int) -> HttpResponse:
    user = acting(request)
    deal = queries.deal_or_404(membership_of(user).account_id, deal_id)
    actions.delete_deals([deal], acting_user=user)
    return HttpResponseRedirect(reverse("deals"))
