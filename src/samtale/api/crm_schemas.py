"""The shapes of the CRM's objects in the REST API (contacts, companies, tickets, deals, pipelines,
imports): every input bounded as the forms bound it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from ninja import Field, Schema

from samtale.core.schema_types import Id

Text200 = Annotated[str, Field(max_length=200)]
# a property's value as the API takes it: text, a number, true/false, or null to clear it
Value = str | int | float | bool | None


class Page(Schema):
    next_cursor: str = Field("", description="pass as `cursor` for the next page; empty: the last page")


class ContactRecordOut(Schema):
    id: int
    name: str
    first_name: str
    last_name: str
    email: str
    phone: str
    company_id: int | None
    job_title: str
    language: str
    owner_id: int | None
    lifecycle_stage: str
    properties: dict[str, Any]
    created_at: datetime
    last_contacted_at: datetime | None
    identities: list[dict[str, str]]


class ContactPage(Page):
    items: list[ContactRecordOut]


class ContactParams(Schema):
    q: str = Field("", max_length=200)
    owner: str = Field("", max_length=20, description="a user id or `none`")
    company: str = Field("", max_length=20, description="a company id or `none`")
    sort: str = Field("created", pattern="^(created|name|last_contacted)$")
    cursor: str = Field("", max_length=400)
    limit: int = Field(50, ge=1, le=100)


class ContactIn(Schema):
    name: Text200 = ""
    email: Annotated[str, Field(max_length=254)] = ""
    phone: Annotated[str, Field(max_length=40)] = ""
    properties: dict[Annotated[str, Field(max_length=60)], Value] = Field(
        default_factory=dict, description="more properties by key (standard or custom): `job_title`, `owner` …"
    )


class ContactPatch(Schema):
    properties: dict[Annotated[str, Field(max_length=60)], Value] = Field(..., description="by key; null clears")


class MergeIn(Schema):
    other_id: Id = Field(..., description="the contact that becomes part of this one")
    take_from_other: list[Annotated[str, Field(max_length=60)]] = Field(default_factory=list, max_length=60)


class TimelineOut(Schema):
    id: int
    kind: str
    at: datetime
    actor_id: int | None
    subject_type: str
    subject_id: int | None
    title: str
    data: dict[str, Any]


class TimelinePage(Page):
    items: list[TimelineOut]


class NoteIn(Schema):
    text: Annotated[str, Field(min_length=1, max_length=10_000)]


class TaskIn(Schema):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    due_at: datetime | None = None
    owner_id: Id | None = None


class CreatedOut(Schema):
    id: int


class CompanyOut(Schema):
    id: int
    name: str
    domain: str
    owner_id: int | None
    properties: dict[str, Any]
    created_at: datetime


class CompanyPage(Page):
    items: list[CompanyOut]


class CompanyParams(Schema):
    q: str = Field("", max_length=100)
    owner: str = Field("", max_length=20)
    cursor: str = Field("", max_length=400)


class CompanyIn(Schema):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    domain: Annotated[str, Field(max_length=253)] = ""


CustomValues = Annotated[
    dict[Annotated[str, Field(max_length=60)], str | int | float | bool | None],
    Field(max_length=100, description="custom properties by key; null clears one"),
]


class CompanyPatch(Schema):
    name: Text200 | None = None
    domain: Annotated[str, Field(max_length=253)] | None = None
    owner_id: Id | None = None
    clear_owner: bool = False
    properties: CustomValues | None = None


class StageOut(Schema):
    id: int
    name: str
    position: int
    is_closed: bool
    probability: int | None


class PipelineOut(Schema):
    id: int
    kind: str
    name: str
    stages: list[StageOut]


class TicketOut(Schema):
    id: int
    name: str
    description: str
    pipeline_id: int
    stage_id: int
    stage: str
    closed: bool
    priority: str
    category: str
    owner_id: int | None
    contact_id: int | None
    conversation_id: int | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    properties: dict[str, Any]


class TicketPage(Page):
    items: list[TicketOut]


class TicketParams(Schema):
    pipeline: Id | None = None
    stage: Id | None = None
    owner: str = Field("", max_length=20, description="a user id, `me` or `none`")
    priority: str = Field("", pattern="^(|low|medium|high|urgent)$")
    state: str = Field("", pattern="^(|open|closed)$")
    contact: Id | None = None
    q: str = Field("", max_length=100)
    cursor: str = Field("", max_length=200)


class TicketIn(Schema):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=10_000)] = ""
    conversation_id: Id | None = None
    contact_id: Id | None = None
    pipeline_id: Id | None = None
    stage_id: Id | None = None
    priority: str = Field("medium", pattern="^(low|medium|high|urgent)$")
    category: str = Field("", pattern="^(|question|problem|feature_request|billing|other)$")
    owner_id: Id | None = None


class TicketPatch(Schema):
    name: Text200 | None = None
    description: Annotated[str, Field(max_length=10_000)] | None = None
    pipeline_id: Id | None = None
    stage_id: Id | None = None
    priority: str | None = Field(None, pattern="^(low|medium|high|urgent)$")
    category: str | None = Field(None, pattern="^(|question|problem|feature_request|billing|other)$")
    owner_id: Id | None = None
    clear_owner: bool = False
    properties: CustomValues | None = None


class DealOut(Schema):
    id: int
    name: str
    pipeline_id: int
    stage_id: int
    stage: str
    probability: int | None
    closed: bool
    amount: str | None = Field(..., description="a decimal as text, e.g. `12500.50`")
    currency: str
    close_date: date | None
    owner_id: int | None
    company_id: int | None
    contact_ids: list[int]
    conversation_id: int | None
    created_at: datetime
    updated_at: datetime


class DealPage(Page):
    items: list[DealOut]


class DealParams(Schema):
    pipeline: Id | None = None
    stage: Id | None = None
    owner: str = Field("", max_length=20)
    state: str = Field("", pattern="^(|open|closed)$")
    contact: Id | None = None
    q: str = Field("", max_length=100)
    cursor: str = Field("", max_length=20)


class DealIn(Schema):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    conversation_id: Id | None = None
    amount: Annotated[str, Field(max_length=30)] = ""
    currency: str = Field("NOK", pattern="^[A-Z]{3}$")
    close_date: date | None = None
    stage_id: Id | None = None
    owner_id: Id | None = None
    company_id: Id | None = None
    contact_ids: list[Id] | None = Field(None, max_length=50)


class DealPatch(Schema):
    name: Text200 | None = None
    amount: Annotated[str, Field(max_length=30)] | None = None
    currency: str | None = Field(None, pattern="^[A-Z]{3}$")
    close_date: date | None = None
    stage_id: Id | None = None
    owner_id: Id | None = None
    company_id: Id | None = None
    contact_ids: list[Id] | None = Field(None, max_length=50)


class ImportOut(Schema):
    id: int
    filename: str
    status: str
    processed: int
    estimated_rows: int
    created: int
    updated: int
    skipped: int
    failed: int
    error: str
    created_at: datetime
    finished_at: datetime | None
