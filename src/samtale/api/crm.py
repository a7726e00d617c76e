"""REST API: the CRM — contacts (with their timeline, notes, tasks and merge), companies, tickets,
deals, pipelines and imports. The same actions and queries as the screens; another account's
ids are 404; lists page by an opaque `cursor` (`next_cursor` empty on the last page)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import prefetch_related_objects
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from samtale.accounts.access import membership_of
from samtale.api import crm_schemas as s
from samtale.api.common import _user
from samtale.api.schemas import PathId
from samtale.crm import actions, queries
from samtale.crm.models import Company, Contact, ContactImport, PipelineKind
from samtale.crm.pipelines import pipelines_of
from samtale.deals import actions as deal_actions
from samtale.deals import queries as deal_queries
from samtale.deals.models import Deal
from samtale.inbox.access import access_conversation
from samtale.tickets import actions as ticket_actions
from samtale.tickets import queries as ticket_queries
from samtale.tickets.models import Ticket

router = Router()


def _account_id(request: HttpRequest) -> int:
    return membership_of(_user(request)).account_id


def _value(value: Any) -> Any:
    """A JSON value as a form would send it: true/false for checkboxes, text for the rest."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _contact_out(c: Contact) -> dict[str, Any]:
    return {
        "id": c.pk, "name": c.name, "first_name": c.first_name, "last_name": c.last_name, "email": c.email,
        "phone": c.phone, "company_id": c.company_id, "job_title": c.job_title, "language": c.language,
        "owner_id": c.owner_id, "lifecycle_stage": c.lifecycle_stage, "properties": c.properties,
        "created_at": c.created_at, "last_contacted_at": c.last_contacted_at,
        "identities": [{"kind": i.kind, "value": i.value} for i in c.identities.all()],
    }  # fmt: skip


def _contact(request: HttpRequest, contact_id: int) -> Contact:
    return queries.contact_or_404(_account_id(request), contact_id)


@router.get("/contacts", response=s.ContactPage, tags=["contacts"])
def list_contacts(request: HttpRequest, params: Query[s.ContactParams]) -> dict[str, Any]:
    account_id = _account_id(request)
    filters = queries.ContactFilters.from_query(params.dict(), [])
    page = queries.contact_page(account_id, filters, params.cursor, size=params.limit)
    rows = Contact.objects.filter(pk__in=[c.pk for c in page.contacts]).prefetch_related("identities")
    by_id = {c.pk: c for c in rows}
    return {"items": [_contact_out(by_id[c.pk]) for c in page.contacts], "next_cursor": page.next_cursor}


@router.post("/contacts", response={201: s.ContactRecordOut}, tags=["contacts"])
def create_contact(request: HttpRequest, payload: s.ContactIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    from django.db import transaction

    with transaction.atomic():
        contact = actions.create_contact(membership_of(user).account, acting_user=user, name=payload.name)
        values = {k: _value(v) for k, v in payload.properties.items()}
        for key in ("email", "phone"):
            if getattr(payload, key):
                values[key] = getattr(payload, key)
        if values:
            actions.update_contact(contact, acting_user=user, values=values)
    return 201, _contact_out(contact)


@router.get("/contacts/{contact_id}", response=s.ContactRecordOut, tags=["contacts"])
def get_contact(request: HttpRequest, contact_id: PathId) -> dict[str, Any]:
    return _contact_out(_contact(request, contact_id))


@router.patch("/contacts/{contact_id}", response=s.ContactRecordOut, tags=["contacts"])
def update_contact(request: HttpRequest, contact_id: PathId, payload: s.ContactPatch) -> dict[str, Any]:
    contact = _contact(request, contact_id)
    values = {k: _value(v) for k, v in payload.properties.items()}
    actions.update_contact(contact, acting_user=_user(request), values=values)
    return _contact_out(contact)


@router.delete("/contacts/{contact_id}", response={204: None}, tags=["contacts"])
def delete_contact(request: HttpRequest, contact_id: PathId) -> tuple[int, None]:
    user = _user(request)
    contact = _contact(request, contact_id)
    actions.delete_contacts(membership_of(user).account, acting_user=user, ids=[contact.pk])
    return 204, None


@router.post("/contacts/{contact_id}/merge", response=s.ContactRecordOut, tags=["contacts"])
def merge_contacts(request: HttpRequest, contact_id: PathId, payload: s.MergeIn) -> dict[str, Any]:
    keep = _contact(request, contact_id)
    other = _contact(request, payload.other_id)
    merged = actions.merge_contacts(keep, other, acting_user=_user(request), take_from_other=payload.take_from_other)
    return _contact_out(merged)


@router.get("/contacts/{contact_id}/timeline", response=s.TimelinePage, tags=["contacts"])
def contact_timeline(request: HttpRequest, contact_id: PathId, cursor: str = "") -> dict[str, Any]:
    page = queries.timeline_page(_contact(request, contact_id), _user(request), cursor[:400])
    items = [
        {"id": e.pk, "kind": e.kind, "at": e.at, "actor_id": e.actor_id, "subject_type": e.subject_type,
         "subject_id": e.subject_id, "title": e.title, "data": e.data}
        for e in page.entries
    ]  # fmt: skip
    return {"items": items, "next_cursor": page.next_cursor}


@router.post("/contacts/{contact_id}/notes", response={201: s.CreatedOut}, tags=["contacts"])
def add_note(request: HttpRequest, contact_id: PathId, payload: s.NoteIn) -> tuple[int, dict[str, Any]]:
    note = actions.add_note(_contact(request, contact_id), acting_user=_user(request), text=payload.text)
    return 201, {"id": note.pk}


@router.post("/contacts/{contact_id}/tasks", response={201: s.CreatedOut}, tags=["contacts"])
def add_task(request: HttpRequest, contact_id: PathId, payload: s.TaskIn) -> tuple[int, dict[str, Any]]:
    task = actions.add_task(_contact(request, contact_id), acting_user=_user(request), title=payload.title,
                            due_at=payload.due_at, owner_id=payload.owner_id)  # fmt: skip
    return 201, {"id": task.pk}


def _company_out(c: Company) -> dict[str, Any]:
    return {"id": c.pk, "name": c.name, "domain": c.domain, "owner_id": c.owner_id, "properties": c.properties,
            "created_at": c.created_at}  # fmt: skip


@router.get("/companies", response=s.CompanyPage, tags=["companies"])
def list_companies(request: HttpRequest, params: Query[s.CompanyParams]) -> dict[str, Any]:
    page = queries.company_page(_account_id(request), params.q, params.owner, params.cursor, size=queries.PAGE)
    return {"items": [_company_out(c) for c in page.companies], "next_cursor": page.next_cursor}


@router.post("/companies", response={201: s.CompanyOut}, tags=["companies"])
def create_company(request: HttpRequest, payload: s.CompanyIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    company = actions.create_company(membership_of(user).account, acting_user=user, name=payload.name,
                                     domain=payload.domain)  # fmt: skip
    return 201, _company_out(company)


@router.get("/companies/{company_id}", response=s.CompanyOut, tags=["companies"])
def get_company(request: HttpRequest, company_id: PathId) -> dict[str, Any]:
    return _company_out(queries.company_or_404(_account_id(request), company_id))


@router.patch("/companies/{company_id}", response=s.CompanyOut, tags=["companies"])
def update_company(request: HttpRequest, company_id: PathId, payload: s.CompanyPatch) -> dict[str, Any]:
    company = queries.company_or_404(_account_id(request), company_id)
    values: dict[str, object] = {k: v for k, v in (("name", payload.name), ("domain", payload.domain)) if v is not None}
    if payload.owner_id is not None or payload.clear_owner:
        values["owner"] = "" if payload.clear_owner else payload.owner_id
    for key, value in (payload.properties or {}).items():
        if key in ("name", "domain", "owner"):
            raise ValidationError({key: [_("There is no property %(key)s.") % {"key": key}]})
        values[key] = _value(value)
    actions.update_company(company, acting_user=_user(request), values=values)
    return _company_out(company)


@router.delete("/companies/{company_id}", response={204: None}, tags=["companies"])
def delete_company(request: HttpRequest, company_id: PathId) -> tuple[int, None]:
    user = _user(request)
    company = queries.company_or_404(_account_id(request), company_id)
    actions.delete_companies(membership_of(user).account, acting_user=user, ids=[company.pk])
    return 204, None


@router.get("/pipelines", response=list[s.PipelineOut], tags=["tickets", "deals"])
def list_pipelines(request: HttpRequest, kind: str = "ticket") -> list[dict[str, Any]]:
    if kind not in PipelineKind.values:
        from django.core.exceptions import ValidationError

        raise ValidationError("`kind` is ticket or deal.")
    return [
        {"id": p.pk, "kind": p.kind, "name": p.name,
         "stages": [{"id": st.pk, "name": st.name, "position": st.position, "is_closed": st.is_closed,
                     "probability": st.probability} for st in p.stages.all()]}
        for p in pipelines_of(_account_id(request), kind)
    ]  # fmt: skip


def _ticket_out(t: Ticket) -> dict[str, Any]:
    return {
        "id": t.pk, "name": t.name, "description": t.description, "pipeline_id": t.pipeline_id,
        "stage_id": t.stage_id, "stage": t.stage.name, "closed": t.is_closed, "priority": t.priority,
        "category": t.category, "owner_id": t.owner_id, "contact_id": t.contact_id,
        "conversation_id": t.conversation_id, "created_at": t.created_at, "updated_at": t.updated_at,
        "closed_at": t.closed_at, "properties": t.properties,
    }  # fmt: skip


@router.get("/tickets", response=s.TicketPage, tags=["tickets"])
def list_tickets(request: HttpRequest, params: Query[s.TicketParams]) -> dict[str, Any]:
    user = _user(request)
    data = {k: ("" if v is None else str(v)) for k, v in params.dict().items()}
    filters = ticket_queries.TicketFilters.from_query(data)  # type: ignore[arg-type]
    page = ticket_queries.ticket_page(_account_id(request), filters, user.pk, params.cursor)
    return {"items": [_ticket_out(t) for t in page.rows], "next_cursor": page.next_cursor}


@router.post("/tickets", response={201: s.TicketOut}, tags=["tickets"])
def create_ticket(request: HttpRequest, payload: s.TicketIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    account = membership_of(user).account
    conversation = access_conversation(user, payload.conversation_id) if payload.conversation_id else None
    contact = queries.contact_or_404(account.pk, payload.contact_id) if payload.contact_id else None
    ticket = ticket_actions.create_ticket(
        account, acting_user=user, conversation=conversation, contact=contact, name=payload.name,
        description=payload.description, pipeline=payload.pipeline_id, stage=payload.stage_id,
        priority=payload.priority, category=payload.category, owner=payload.owner_id,
    )  # fmt: skip
    return 201, _ticket_out(ticket)


@router.get("/tickets/{ticket_id}", response=s.TicketOut, tags=["tickets"])
def get_ticket(request: HttpRequest, ticket_id: PathId) -> dict[str, Any]:
    return _ticket_out(ticket_queries.ticket_or_404(_account_id(request), ticket_id))


@router.patch("/tickets/{ticket_id}", response=s.TicketOut, tags=["tickets"])
def update_ticket(request: HttpRequest, ticket_id: PathId, payload: s.TicketPatch) -> dict[str, Any]:
    ticket = ticket_queries.ticket_or_404(_account_id(request), ticket_id)
    given = payload.dict(exclude_unset=True)
    values: dict[str, object] = {
        k: given[k] for k in ("name", "description", "priority", "category") if given.get(k) is not None
    }
    if payload.pipeline_id is not None:
        values["pipeline"] = payload.pipeline_id
    if payload.stage_id is not None:
        values["stage"] = payload.stage_id
    if payload.owner_id is not None or payload.clear_owner:
        values["owner"] = "" if payload.clear_owner else payload.owner_id
    for key, value in (payload.properties or {}).items():
        if key in ticket_actions.EDITABLE:
            raise ValidationError({key: [_("There is no property %(key)s.") % {"key": key}]})
        values[key] = _value(value)
    ticket_actions.update_ticket(ticket, acting_user=_user(request), values=values)
    return _ticket_out(ticket_queries.ticket_or_404(ticket.account_id, ticket.pk))


@router.delete("/tickets/{ticket_id}", response={204: None}, tags=["tickets"])
def delete_ticket(request: HttpRequest, ticket_id: PathId) -> tuple[int, None]:
    ticket = ticket_queries.ticket_or_404(_account_id(request), ticket_id)
    ticket_actions.delete_tickets([ticket], acting_user=_user(request))
    return 204, None


def _deal_out(d: Deal) -> dict[str, Any]:
    return {
        "id": d.pk, "name": d.name, "pipeline_id": d.pipeline_id, "stage_id": d.stage_id, "stage": d.stage.name,
        "probability": d.stage.probability, "closed": d.closed_at is not None,
        "amount": str(d.amount) if d.amount is not None else None, "currency": d.currency,
        "close_date": d.close_date, "owner_id": d.owner_id, "company_id": d.company_id,
        "contact_ids": sorted(c.pk for c in d.contacts.all()), "conversation_id": d.conversation_id,
        "created_at": d.created_at, "updated_at": d.updated_at,
    }  # fmt: skip


def _deal_values(payload: Any) -> dict[str, Any]:
    given = payload.dict(exclude_unset=True)
    names = {"stage_id": "stage", "owner_id": "owner", "company_id": "company", "contact_ids": "contacts"}
    return {
        names.get(k, k): v for k, v in given.items() if k != "conversation_id" and (v is not None or k == "close_date")
    }


@router.get("/deals", response=s.DealPage, tags=["deals"])
def list_deals(request: HttpRequest, params: Query[s.DealParams]) -> dict[str, Any]:
    from samtale.core.bounds import parse_id

    data = {k: ("" if v is None else str(v)) for k, v in params.dict().items()}
    rows, next_id = deal_queries.page(_account_id(request), data, parse_id(params.cursor) if params.cursor else None)
    prefetch_related_objects(rows, "contacts")
    return {"items": [_deal_out(d) for d in rows], "next_cursor": str(next_id) if next_id else ""}


@router.post("/deals", response={201: s.DealOut}, tags=["deals"])
def create_deal(request: HttpRequest, payload: s.DealIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    conversation = access_conversation(user, payload.conversation_id) if payload.conversation_id else None
    deal = deal_actions.create_deal(membership_of(user).account, acting_user=user, conversation=conversation,
                                    **_deal_values(payload))  # fmt: skip
    return 201, _deal_out(deal)


@router.get("/deals/{deal_id}", response=s.DealOut, tags=["deals"])
def get_deal(request: HttpRequest, deal_id: PathId) -> dict[str, Any]:
    return _deal_out(deal_queries.deal_or_404(_account_id(request), deal_id))


@router.patch("/deals/{deal_id}", response=s.DealOut, tags=["deals"])
def update_deal(request: HttpRequest, deal_id: PathId, payload: s.DealPatch) -> dict[str, Any]:
    deal = deal_queries.deal_or_404(_account_id(request), deal_id)
    deal_actions.update_deal(deal, acting_user=_user(request), values=_deal_values(payload))
    return _deal_out(deal_queries.deal_or_404(deal.account_id, deal.pk))


@router.delete("/deals/{deal_id}", response={204: None}, tags=["deals"])
def delete_deal(request: HttpRequest, deal_id: PathId) -> tuple[int, None]:
    deal = deal_queries.deal_or_404(_account_id(request), deal_id)
    deal_actions.delete_deals([deal], acting_user=_user(request))
    return 204, None


@router.get("/contact-imports/{import_id}", response=s.ImportOut, tags=["contacts"])
def get_import(request: HttpRequest, import_id: PathId) -> dict[str, Any]:
    from django.http import Http404

    found = ContactImport.objects.filter(account_id=_account_id(request), pk=import_id).first()
    if found is None:
        raise Http404("No such import")
    return {f: getattr(found, f) for f in ("id", "filename", "status", "processed", "estimated_rows", "created",
                                           "updated", "skipped", "failed", "error", "created_at", "finished_at")}  # fmt: skip
