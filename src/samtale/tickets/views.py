"""Tickets' screens (D2): the list, the board of a pipeline, a ticket's record, and the ticket's
pieces of the conversation screen. Thin views over `queries` and `actions`."""

from __future__ import annotations

import json
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from samtale.accounts.access import membership_of
from samtale.accounts.actions import set_preferences
from samtale.accounts.http import acting, action_view, member_required
from samtale.crm.models import PipelineKind
from samtale.crm.pipelines import default_pipeline
from samtale.crm.properties import definitions_of, form_fields
from samtale.crm.queries import active_teammates, contact_or_404
from samtale.inbox.access import access_conversation
from samtale.tickets import actions, queries, sidebar
from samtale.tickets.models import Category, Priority


def _card(request: HttpRequest, conversation: Any, status: int = 200) -> HttpResponse:
    data = sidebar.ticket_card(conversation, acting(request))
    return render(request, "tickets/sidebar_ticket.html", {"section": sidebar.CARD, "data": data}, status=status)


@member_required
def conversation_ticket(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """GET: the conversation's Ticket card (a live redraw); POST: create its ticket (prefilled from
    the conversation in the form), then the card shows it."""
    user = acting(request)
    conversation = access_conversation(user, conversation_id)
    if request.method == "POST":
        return _create_from_conversation(request, conversation)
    return _card(request, conversation)


@action_view
def _create_from_conversation(request: HttpRequest, conversation: Any) -> HttpResponse:
    user = acting(request)
    post = request.POST
    actions.create_ticket(
        membership_of(user).account, acting_user=user, conversation=conversation, name=post.get("name", ""),
        description=post.get("description", ""), pipeline=post.get("pipeline"), stage=post.get("stage"),
        priority=post.get("priority", Priority.MEDIUM), category=post.get("category", ""), owner=post.get("owner"),
    )  # fmt: skip
    response = _card(request, conversation)
    response["HX-Trigger"] = json.dumps({"samtale:toast": _("Ticket created."), "samtale:redraw": True})
    return response


@action_view
def ticket_update(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Change what the form sends (the card, the record, the board); the card or the record again."""
    user = acting(request)
    ticket = queries.ticket_or_404(membership_of(user).account_id, ticket_id)
    fields = [*actions.EDITABLE, *definitions_of(ticket.account_id, "ticket")]  # and its custom properties
    values: dict[str, object] = {key: request.POST.get(key, "") for key in fields if key in request.POST}
    actions.update_ticket(ticket, acting_user=user, values=values)
    where = request.POST.get("from", "")
    if where == "card" and ticket.conversation_id is not None:
        response = _card(request, access_conversation(user, ticket.conversation_id))
        response["HX-Trigger"] = json.dumps({"samtale:redraw": True})
        return response
    if where == "board":
        return HttpResponse(status=204)
    return HttpResponseRedirect(reverse("ticket", args=[ticket.pk]))


@action_view
def ticket_details_fields(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Which properties "View more" shows this person (remembered per user)."""
    user = acting(request)
    conversation = access_conversation(user, conversation_id)
    custom = definitions_of(conversation.account_id, "ticket")
    wanted = [k for k in request.POST.getlist("keys")[:50] if k in dict(sidebar.choosable(custom))]
    set_preferences(user, acting_user=user, **{sidebar.DETAILS_PREFERENCE: wanted})
    response = _card(request, conversation)
    return response


@action_view
def close_conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Close the conversation, with its ticket when `ticket` is 1: the page redraws; Undo reopens
    (which takes the ticket back out of closed)."""
    user = acting(request)
    conversation = access_conversation(user, conversation_id)
    both = request.POST.get("ticket") == "1"
    actions.close_conversation(conversation, acting_user=user, close_ticket=both)
    said = _("Conversation and ticket closed") if both else _("Conversation closed")
    undo = {"text": said, "url": reverse("conversation_action", args=[conversation.pk, "reopen"]),
            "conversation": conversation.pk}  # fmt: skip
    response = HttpResponse(status=204)
    response["HX-Trigger"] = json.dumps({"samtale:undo": undo, "samtale:redraw": True})
    return response


def _filters_context(request: HttpRequest, account_id: int) -> dict[str, Any]:
    keep = request.GET.copy()
    keep.pop("after", None)
    return {
        "section": "tickets",
        "filters": queries.TicketFilters.from_query(request.GET),
        "pipelines": queries.pipelines(account_id),
        "members": active_teammates(account_id),
        "priorities": Priority.choices,
        "query": keep.urlencode(),
    }


@require_GET
@member_required
def tickets_page(request: HttpRequest) -> HttpResponse:
    """All tickets of the account, newest first, filtered like conversations, paged by cursor."""
    user = acting(request)
    membership = membership_of(user)
    context = _filters_context(request, membership.account_id)
    filters = context["filters"]
    if filters.contact:
        context["contact"] = contact_or_404(membership.account_id, filters.contact)
    page = queries.ticket_page(
        membership.account_id, filters, user.pk, str(request.GET.get("after", "")), size=queries.PAGE
    )
    return render(
        request, "tickets/tickets.html", {**context, "page": page, "first_page": not request.GET.get("after")}
    )


@require_GET
@member_required
def board_page(request: HttpRequest, pipeline_id: int | None = None) -> HttpResponse:
    """A pipeline's board: a column per stage with its count and its first tickets; a column's
    next page (`stage` and `after`) as a fragment."""
    user = acting(request)
    membership = membership_of(user)
    context = _filters_context(request, membership.account_id)
    pipelines = context["pipelines"]
    if pipeline_id is None:
        pipeline = pipelines[0] if pipelines else default_pipeline(membership.account, PipelineKind.TICKET)
        return HttpResponseRedirect(reverse("ticket_board", args=[pipeline.pk]))
    pipeline = next((p for p in pipelines if p.pk == pipeline_id), None)
    if pipeline is None:
        raise Http404("No such pipeline")
    filters = context["filters"]
    filters.pipeline = None  # the board is the pipeline's
    stage_id = request.GET.get("stage")
    if stage_id and request.GET.get("after"):
        stage = next((s for s in pipeline.stages.all() if str(s.pk) == stage_id), None)
        if stage is None:
            raise Http404("No such stage")
        column = queries.column_page(stage, filters, user.pk, membership.account_id, str(request.GET["after"]))
        return render(request, "tickets/board.html#cards", {**context, "pipeline": pipeline, "column": column})
    columns = queries.board(pipeline, filters, user.pk)
    return render(request, "tickets/board.html", {**context, "pipeline": pipeline, "columns": columns})


@action_view
def ticket_move(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The board's move (drag and drop, or the keyboard): to `stage`; the card again."""
    user = acting(request)
    ticket = queries.ticket_or_404(membership_of(user).account_id, ticket_id)
    ticket = actions.move_ticket(ticket, acting_user=user, stage=request.POST.get("stage", ""))
    return render(request, "tickets/board.html#card", {"t": ticket, "pipeline": ticket.pipeline})


@require_GET
@member_required
def ticket_record(request: HttpRequest, ticket_id: int) -> HttpResponse:
    user = acting(request)
    membership = membership_of(user)
    ticket = queries.ticket_or_404(membership.account_id, ticket_id)
    return render(
        request,
        "tickets/ticket.html",
        {
            "section": "tickets",
            "ticket": ticket,
            "pipelines": queries.pipelines(membership.account_id),
            "members": active_teammates(membership.account_id),
            "priorities": Priority.choices,
            "categories": Category.choices,
            "history": queries.history(ticket),
            "custom_fields": form_fields(definitions_of(membership.account_id, "ticket"), ticket.properties),
            "crm_admin": membership.has_permission("crm_admin"),
        },
    )


@action_view
def ticket_delete(request: HttpRequest, ticket_id: int) -> HttpResponse:
    user = acting(request)
    ticket = queries.ticket_or_404(membership_of(user).account_id, ticket_id)
    actions.delete_tickets([ticket], acting_user=user)
    return HttpResponseRedirect(reverse("tickets"))
