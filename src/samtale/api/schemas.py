from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from samtale.core.schema_types import Day, Id, PathId

__all__ = ["Day", "Id", "PathId"]


class Error(Schema):
    detail: str


class MeOut(Schema):
    id: int
    email: str
    name: str
    language: str
    account_id: int
    account_name: str
    role: str
    permissions: list[str]
    seat: str


class ChannelOut(Schema):
    id: int
    inbox_id: int
    kind: str
    name: str
    address: str
    verified: bool = Field(..., description="email: the address is confirmed and its mail is delivered here")


class InboxOut(Schema):
    id: int
    name: str
    member_ids: list[int]
    channels: list[ChannelOut]


class InboxIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    member_ids: list[Id] = []


class ChannelIn(Schema):
    kind: str
    name: str = ""
    address: str = ""


class ContactOut(Schema):
    id: int
    name: str
    email: str
    phone: str


class ConversationOut(Schema):
    id: int
    inbox_id: int
    channel_id: int
    channel_kind: str
    subject: str
    status: str
    owner_id: int | None
    bot: str
    contact: ContactOut | None
    awaiting_first_reply: bool
    spam: bool
    filtered: bool
    trashed: bool
    created_at: datetime
    last_activity_at: datetime
    preview: str
    message_count: int


class ConversationPage(Schema):
    count: int = Field(..., description="Exact for a default view; for searches and filters, at most 1000")
    count_capped: bool = Field(..., description="True when more than `count` conversations match")
    next_cursor: str | None
    items: list[ConversationOut]


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    inline: bool
    url: str


class MessageOut(Schema):
    id: int
    direction: str
    channel_kind: str
    author_id: int | None
    sender_name: str
    sender_address: str
    text: str
    html: str
    hidden: bool
    hidden_by_id: int | None
    delivery_status: str
    delivery_error: str
    created_at: datetime
    permalink: str
    message_id: str = Field("", description="the email Message-ID (without angle brackets)")
    quoted_html: str = ""
    auto_reply: bool = False
    forwarded: bool = False
    sender_not_verified: bool = False
    reply_to: str = Field(
        "", description="inbound email: where its sender asked replies to go (Reply-To), if not the sender"
    )
    attachments: list[AttachmentOut] = []


class CommentOut(Schema):
    id: int
    author_id: int | None
    text: str
    mention_ids: list[int]
    created_at: datetime


class ThreadPage(Schema):
    messages: list[MessageOut]
    comments: list[CommentOut]
    earlier: int  # entries before this page
    earlier_cursor: str | None  # pass as `before` for the page before this one (null: none)


class ConversationDetail(ConversationOut, ThreadPage):
    pass


class ReplyIn(Schema):
    text: str = ""
    html: str = ""
    channel_kind: str = ""


class CommentIn(Schema):
    text: str = Field(..., min_length=1, max_length=20000)


class AssignIn(Schema):
    owner_id: Id | None = None


class BulkIn(Schema):
    ids: list[Id] = Field(..., min_length=1, max_length=500)


class BulkOut(Schema):
    updated: int


class ComposeIn(Schema):
    channel_id: Id
    to: str
    subject: str = Field(..., max_length=500)
    text: str = ""
    html: str = ""


class ViewOut(Schema):
    key: str
    label: str
    count: int | None
    custom_id: int | None = None
    shared: bool | None = None


class FilterFields(Schema):
    """The filters of a conversation list (C2); shared by listing and saving a view."""

    q: str = ""
    status: str = ""
    channel: str = ""
    contact: Id | None = None
    assignee: str = Field("", max_length=120)
    include_inactive: bool = False
    date_from: Day | None = None
    date_to: Day | None = None
    hide_filtered: bool = True
    hide_trash: bool = True
    sort: str = "newest"


class ListParams(FilterFields):
    view: str = Field("all_open", max_length=40)
    cursor: str = Field("", max_length=200)
    limit: int = Field(25, ge=1, le=100)


class CustomViewIn(FilterFields):
    name: str = Field(..., min_length=1, max_length=100)
    shared: bool = False


class NotificationOut(Schema):
    id: int
    kind: str
    actor_id: int | None
    conversation_id: int
    comment_id: int | None
    created_at: datetime
    read: bool


class UnblockOut(Schema):
    restored: int


class AvailabilityOut(Schema):
    user_id: int
    at: datetime
    available: bool
    status: str
    reason: str
    next_change: datetime | None
    until: datetime | None


class StatusIn(Schema):
    action: str = Field(..., description="available, away or temporary")
    preset: str = Field("", description="for temporary: 15m, 30m, 1h, 2h, 4h or today")
    until: datetime | None = Field(None, description="for temporary: a custom end (ISO 8601 with offset)")


class RoutingIn(Schema):
    enabled: bool = True
    user_ids: list[Id] = Field([], max_length=1000)
    team_ids: list[Id] = Field([], max_length=1000)
    method: str = Field("round_robin", description="round_robin or balanced")
    capacity: int | None = Field(
        None, ge=1, le=10_000, description="most open conversations per person; null: no limit"
    )
    reroute_when_owner_away: bool = True


class RoutingOut(RoutingIn):
    channel_id: int


class CalendarOut(Schema):
    url: str
    keywords: str
    last_synced_at: datetime | None
    last_error: str
    last_event_count: int
    last_note: str = Field("", description="what the bounds left out of the last sync or import")
    published_url: str


class CalendarIn(Schema):
    url: str = Field("", description="iCalendar feed address (https://, webcal://); empty disconnects")
    keywords: str | None = Field(None, description="comma-separated titles that mean out of office")


class CalendarImportIn(Schema):
    ics: str = Field(..., description="the content of an .ics file")


class CalendarImportOut(Schema):
    events: int
    note: str = Field("", description="what was left out (occurrences beyond the bounds)")


class TranscriptIn(Schema):
    to: str = Field(max_length=254)


class ForwardIn(Schema):
    to: str
    note: str = ""
