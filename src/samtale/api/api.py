"""REST API v1: the same actions and queries as the UI, behind bearer tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DataError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import NinjaAPI, Query

from samtale.accounts.access import access_user, membership_of
from samtale.accounts.models import User
from samtale.api import schemas as s
from samtale.api.auth import TokenAuth
from samtale.core.bounds import check_instant, parse_id
from samtale.core.proxies import absolute_url
from samtale.inbox import actions, queries
from samtale.inbox.access import (
    access_channel,
    access_conversation,
    access_custom_view,
    access_inbox,
    access_inbox_settings,
    access_message,
    accessible_inboxes,
)
from samtale.inbox.models import Channel, Conversation, Inbox, Message

api = NinjaAPI(
    title="Samtale API",
    version="1",
    auth=TokenAuth(),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return api.create_response(request, {"detail": "; ".join(exc.messages)}, status=400)


@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def on_out_of_range(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A number or date beyond what can be stored (the schemas bound what they can; this is the net)."""
    return api.create_response(request, {"detail": "A value is out of range."}, status=400)


@api.exception_handler(PermissionDenied)
def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Forbidden"}, status=403)


def _user(request: HttpRequest) -> User:
    return cast(User, request.auth)  # type: ignore[attr-defined]


def _channel_out(c: Channel) -> dict[str, Any]:
    return {
        "id": c.pk, "inbox_id": c.inbox_id, "kind": c.kind, "name": c.name, "address": c.address,
        "verified": c.verified_at is not None,
    }  # fmt: skip


def _inbox_out(inbox: Inbox) -> dict[str, Any]:
    return {
        "id": inbox.pk,
        "name": inbox.name,
        "member_ids": sorted(m.pk for m in inbox.members.all()),
        "channels": [_channel_out(c) for c in inbox.channels.all()],
    }


def _conversation_out(c: Conversation) -> dict[str, Any]:
    contact = c.contact
    return {
        "id": c.pk, "inbox_id": c.inbox_id, "channel_id": c.channel_id, "channel_kind": c.channel_kind,
        "subject": c.subject, "status": c.status, "owner_id": c.owner_id, "bot": c.bot,
        "contact": {"id": contact.pk, "name": contact.name, "email": contact.email, "phone": contact.phone} if contact else None,
        "awaiting_first_reply": c.awaiting_first_reply, "spam": c.spam_at is not None,
        "filtered": c.filtered_at is not None, "trashed": c.trashed_at is not None, "created_at": c.created_at,
        "last_activity_at": c.last_activity_at, "preview": c.preview, "message_count": c.message_count,
    }  # fmt: skip


def _message_out(m: Message) -> dict[str, Any]:
    hidden = m.hidden_at is not None
    return {
        "id": m.pk, "direction": m.direction, "channel_kind": m.channel_kind, "author_id": m.author_id,
        "sender_name": m.sender_name, "sender_address": m.sender_address,
        "text": "" if hidden else m.text, "html": "" if hidden else m.html, "hidden": hidden,
        "hidden_by_id": m.hidden_by_id, "delivery_status": m.delivery_status, "delivery_error": m.delivery_error,
        "created_at": m.created_at, "permalink": reverse("message_permalink", args=[m.pk]),
        "message_id": m.external_id if m.channel_kind == "email" else "", "quoted_html": "" if hidden else m.quoted_html,
        "auto_reply": m.auto_reply, "forwarded": m.forwarded, "sender_not_verified": m.sender_not_verified,
        "attachments": [] if hidden else [
            {"id": a.pk, "filename": a.filename, "content_type": a.content_type, "size": a.size, "inline": a.inline,
             "url": reverse("attachment", args=[a.pk])}
            for a in m.attachments.all()
        ],
    }  # fmt: skip


def _detail(conversation: Conversation) -> dict[str, Any]:
    thread = queries.thread(conversation)
    return {
        **_conversation_out(conversation),
        "messages": [_message_out(m) for m in thread.messages],
        "comments": [
            {"id": c.pk, "author_id": c.author_id, "text": c.text, "mention_ids": [u.pk for u in c.mentions.all()],
             "created_at": c.created_at}
            for c in thread.comments
        ],
    }  # fmt: skip


@api.get("/me", response=s.MeOut, tags=["account"])
def me(request: HttpRequest) -> dict[str, Any]:
    user = _user(request)
    m = membership_of(user)
    return {
        "id": user.pk, "email": user.email, "name": user.name, "language": user.language,
        "account_id": m.account_id, "account_name": m.account.name, "role": m.role,
        "permissions": sorted(set(m.permissions) | ({"availability_management", "inbox_settings", "hide_messages"} if m.is_super_admin else set())),
        "seat": m.seat,
    }  # fmt: skip


@api.get("/inboxes", response=list[s.InboxOut], tags=["inboxes"])
def list_inboxes(request: HttpRequest) -> list[dict[str, Any]]:
    inboxes = accessible_inboxes(_user(request)).prefetch_related("members", "channels")
    return [_inbox_out(i) for i in inboxes]


@api.post("/inboxes", response={201: s.InboxOut}, tags=["inboxes"])
def create_inbox(request: HttpRequest, payload: s.InboxIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    members = [access_user(user, pk) for pk in payload.member_ids]
    inbox = actions.create_inbox(membership_of(user).account, acting_user=user, name=payload.name, members=members)
    return 201, _inbox_out(inbox)


@api.get("/inboxes/{inbox_id}", response=s.InboxOut, tags=["inboxes"])
def get_inbox(request: HttpRequest, inbox_id: s.PathId) -> dict[str, Any]:
    return _inbox_out(access_inbox(_user(request), inbox_id))


@api.get("/inboxes/{inbox_id}/channels", response=list[s.ChannelOut], tags=["inboxes"])
def list_channels(request: HttpRequest, inbox_id: s.PathId) -> list[dict[str, Any]]:
    inbox = access_inbox(_user(request), inbox_id)
    return [_channel_out(c) for c in inbox.channels.all()]


@api.post("/inboxes/{inbox_id}/channels", response={201: s.ChannelOut}, tags=["inboxes"])
def create_channel(request: HttpRequest, inbox_id: s.PathId, payload: s.ChannelIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    inbox = access_inbox_settings(user, inbox_id)
    channel = actions.create_channel(
        inbox, acting_user=user, kind=payload.kind, name=payload.name, address=payload.address
    )
    return 201, _channel_out(channel)


@api.get("/inboxes/{inbox_id}/conversations", response=s.ConversationPage, tags=["conversations"])
def list_conversations(request: HttpRequest, inbox_id: s.PathId, params: Query[s.ListParams]) -> dict[str, Any]:
    user = _user(request)
    inbox = access_inbox(user, inbox_id)
    data = params.dict()
    view = data.pop("view")
    if view.startswith("custom-"):
        custom = access_custom_view(user, int(view.removeprefix("custom-")) if view[7:].isdigit() else 0)
        data = {**custom.filters, **{k: v for k, v in data.items() if v not in ("", None, False)}}
    elif view not in queries.VIEW_KEYS:
        raise ValidationError(f"Unknown view {view!r}; one of {', '.join(queries.VIEW_KEYS)} or custom-<id>.")
    assignee = params.assignee
    if (
        assignee
        and assignee not in ("me", "none", "bot")
        and not assignee.startswith("bot:")
        and parse_id(assignee) is None
    ):
        raise ValidationError("`assignee` is me, none, bot, bot:<name> or a user id.")
    if params.cursor and queries.decode_cursor(params.cursor) is None:
        raise ValidationError("`cursor` is not a cursor this API gave out.")
    filters = queries.Filters.from_mapping({k: ("" if v is None else v) for k, v in data.items()})
    qs = queries.conversation_queryset(inbox, user, view, filters)
    count = queries.known_count(inbox, user, view, filters)
    page = queries.list_page(qs, sort=filters.sort, cursor=params.cursor, limit=params.limit, count=count)
    return {
        "count": page.count or 0,
        "count_capped": page.count_capped,
        "next_cursor": page.next_cursor,
        "items": [_conversation_out(c) for c in page.items],
    }


@api.get("/inboxes/{inbox_id}/views", response=list[s.ViewOut], tags=["conversations"])
def list_views(request: HttpRequest, inbox_id: s.PathId) -> list[dict[str, Any]]:
    user = _user(request)
    inbox = access_inbox(user, inbox_id)
    counts = queries.view_counts(inbox, user)
    out: list[dict[str, Any]] = [{"key": v.key, "label": str(v.label), "count": counts[v.key]} for v in queries.VIEWS]
    out += [
        {"key": f"custom-{cv.pk}", "label": cv.name, "count": None, "custom_id": cv.pk, "shared": cv.shared}
        for cv in queries.custom_views(inbox, user)
    ]
    return out


@api.post("/inboxes/{inbox_id}/views", response={201: s.ViewOut}, tags=["conversations"])
def create_view(request: HttpRequest, inbox_id: s.PathId, payload: s.CustomViewIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    inbox = access_inbox(user, inbox_id)
    data = payload.dict()
    name, shared = data.pop("name"), data.pop("shared")
    filters = queries.Filters.from_mapping({k: ("" if v is None else v) for k, v in data.items()})
    cv = actions.create_custom_view(inbox, acting_user=user, name=name, filters=filters, shared=shared)
    return 201, {"key": f"custom-{cv.pk}", "label": cv.name, "count": None, "custom_id": cv.pk, "shared": cv.shared}


@api.delete("/views/{view_id}", response={204: None}, tags=["conversations"])
def delete_view(request: HttpRequest, view_id: s.PathId) -> tuple[int, None]:
    user = _user(request)
    actions.delete_custom_view(access_custom_view(user, view_id), acting_user=user)
    return 204, None


@api.post("/inboxes/{inbox_id}/conversations", response={201: s.ConversationDetail}, tags=["conversations"])
def compose(request: HttpRequest, inbox_id: s.PathId, payload: s.ComposeIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    inbox = access_inbox(user, inbox_id)
    channel = access_channel(user, payload.channel_id)
    if channel.inbox_id != inbox.pk:
        from django.http import Http404

        raise Http404("No such channel")
    conversation = actions.compose_conversation(
        channel, acting_user=user, to=payload.to, subject=payload.subject, text=payload.text, html=payload.html
    )
    return 201, _detail(conversation)


@api.get("/conversations/{conversation_id}", response=s.ConversationDetail, tags=["conversations"])
def get_conversation(request: HttpRequest, conversation_id: s.PathId) -> dict[str, Any]:
    return _detail(access_conversation(_user(request), conversation_id))


@api.post("/conversations/{conversation_id}/reply", response={201: s.MessageOut}, tags=["conversations"])
def reply(request: HttpRequest, conversation_id: s.PathId, payload: s.ReplyIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    conversation = access_conversation(user, conversation_id)
    message = actions.reply_to_conversation(
        conversation, acting_user=user, text=payload.text, html=payload.html, channel_kind=payload.channel_kind
    )
    return 201, _message_out(message)


@api.post("/conversations/{conversation_id}/comments", response={201: s.CommentOut}, tags=["conversations"])
def comment(request: HttpRequest, conversation_id: s.PathId, payload: s.CommentIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    conversation = access_conversation(user, conversation_id)
    c = actions.add_comment(conversation, acting_user=user, text=payload.text)
    return 201, {
        "id": c.pk, "author_id": c.author_id, "text": c.text, "mention_ids": [u.pk for u in c.mentions.all()],
        "created_at": c.created_at,
    }  # fmt: skip


@api.post("/conversations/{conversation_id}/assign", response=s.ConversationOut, tags=["conversations"])
def assign(request: HttpRequest, conversation_id: s.PathId, payload: s.AssignIn) -> dict[str, Any]:
    user = _user(request)
    conversation = access_conversation(user, conversation_id)
    owner = access_user(user, payload.owner_id) if payload.owner_id else None
    return _conversation_out(actions.assign_conversation(conversation, acting_user=user, owner=owner))


def _simple(name: str, action: Any, summary: str) -> None:
    def endpoint(request: HttpRequest, conversation_id: s.PathId) -> dict[str, Any]:
        user = _user(request)
        conversation = access_conversation(user, conversation_id)
        action(conversation, acting_user=user)
        conversation.refresh_from_db()
        return _conversation_out(conversation)

    endpoint.__name__ = f"conversation_{name}"
    api.post(
        f"/conversations/{{conversation_id}}/{name}",
        response=s.ConversationOut,
        tags=["conversations"],
        summary=summary,
    )(endpoint)


_simple("close", actions.close_conversation, "Close")
_simple("reopen", actions.reopen_conversation, "Reopen")
_simple("trash", actions.trash_conversation, "Move to Trash")
_simple("restore", actions.restore_conversation, "Restore from Trash")
_simple("spam", actions.mark_spam, "Mark as spam (this thread only)")
_simple("unspam", actions.unmark_spam, "Not spam")
_simple("block", actions.block_sender, "Block the sender")
_simple("handover", actions.hand_over_from_bot, "The bot hands the conversation to people (routed now)")


@api.post("/conversations/{conversation_id}/unblock", response=s.UnblockOut, tags=["conversations"])
def unblock(request: HttpRequest, conversation_id: s.PathId) -> dict[str, int]:
    user = _user(request)
    return {"restored": actions.unblock_sender(access_conversation(user, conversation_id), acting_user=user)}


@api.delete("/conversations/{conversation_id}", response={204: None}, tags=["conversations"])
def delete_forever(request: HttpRequest, conversation_id: s.PathId) -> tuple[int, None]:
    user = _user(request)
    actions.delete_conversation_forever(access_conversation(user, conversation_id), acting_user=user)
    return 204, None


@api.post("/messages/{message_id}/hide", response=s.MessageOut, tags=["conversations"])
def hide(request: HttpRequest, message_id: s.PathId) -> dict[str, Any]:
    user = _user(request)
    return _message_out(actions.hide_message(access_message(user, message_id), acting_user=user))


@api.post("/messages/{message_id}/show", response=s.MessageOut, tags=["conversations"])
def show(request: HttpRequest, message_id: s.PathId) -> dict[str, Any]:
    user = _user(request)
    return _message_out(actions.show_message(access_message(user, message_id), acting_user=user))


@api.post("/inboxes/{inbox_id}/bulk/close", response=s.BulkOut, tags=["conversations"])
def bulk_close(request: HttpRequest, inbox_id: s.PathId, payload: s.BulkIn) -> dict[str, int]:
    user = _user(request)
    return {"updated": actions.bulk_close(access_inbox(user, inbox_id), acting_user=user, ids=payload.ids)}


@api.post("/inboxes/{inbox_id}/bulk/trash", response=s.BulkOut, tags=["conversations"])
def bulk_trash(request: HttpRequest, inbox_id: s.PathId, payload: s.BulkIn) -> dict[str, int]:
    user = _user(request)
    return {"updated": actions.bulk_trash(access_inbox(user, inbox_id), acting_user=user, ids=payload.ids)}


@api.get("/notifications", response=list[s.NotificationOut], tags=["notifications"])
def list_notifications(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {"id": n.pk, "kind": n.kind, "actor_id": n.actor_id, "conversation_id": n.conversation_id,
         "comment_id": n.comment_id, "created_at": n.created_at, "read": n.read_at is not None}
        for n in queries.notifications(_user(request), limit=100)
    ]  # fmt: skip


@api.post("/notifications/read", response=s.BulkOut, tags=["notifications"])
def read_notifications(request: HttpRequest) -> dict[str, int]:
    user = _user(request)
    return {"updated": actions.mark_notifications_read(user, acting_user=user)}


def _availability_out(user_id: int, at: Any, status: Any) -> dict[str, Any]:
    return {
        "user_id": user_id, "at": at, "available": status.available,
        "status": "available" if status.available else "away", "reason": str(status.reason),
        "next_change": status.next_change, "until": status.until,
    }  # fmt: skip


@api.get("/users/{user_id}/availability", response=s.AvailabilityOut, tags=["availability"])
def user_availability(request: HttpRequest, user_id: s.PathId, at: datetime | None = None) -> dict[str, Any]:
    """Status, reason and next change at `at` (ISO 8601; default now)."""
    from samtale.availability.queries import status_of
    from samtale.core.clock import now

    target = access_user(_user(request), user_id)
    when = at or now()
    if when.tzinfo is None:
        raise ValidationError("`at` needs a time zone offset, e.g. 2026-11-21T09:00:00+01:00")
    check_instant(when, "`at`")
    return _availability_out(target.pk, when, status_of(target, when))


@api.post("/users/{user_id}/status", response=s.AvailabilityOut, tags=["availability"])
def set_user_status(request: HttpRequest, user_id: s.PathId, payload: s.StatusIn) -> dict[str, Any]:
    from samtale.availability import actions as availability_actions
    from samtale.availability.queries import status_of
    from samtale.core.clock import now

    actor = _user(request)
    target = access_user(actor, user_id)
    if payload.action == "available":
        availability_actions.set_available(target, acting_user=actor)
    elif payload.action == "away":
        availability_actions.set_away(target, acting_user=actor)
    elif payload.action == "temporary":
        availability_actions.set_temporary_away(target, acting_user=actor, preset=payload.preset, until=payload.until)
    else:
        raise ValidationError("action must be available, away or temporary")
    when = now()
    return _availability_out(target.pk, when, status_of(target, when))


def _routing_out(channel_id: int, rule: Any) -> dict[str, Any]:
    if rule is None:
        return {"channel_id": channel_id, "enabled": False, "user_ids": [], "team_ids": [], "method": "round_robin",
                "capacity": None, "reroute_when_owner_away": True}  # fmt: skip
    return {
        "channel_id": channel_id, "enabled": rule.enabled, "user_ids": sorted(u.pk for u in rule.users.all()),
        "team_ids": sorted(t.pk for t in rule.teams.all()), "method": rule.method, "capacity": rule.capacity,
        "reroute_when_owner_away": rule.reroute_when_owner_away,
    }  # fmt: skip


@api.get("/channels/{channel_id}/routing", response=s.RoutingOut, tags=["routing"])
def get_routing(request: HttpRequest, channel_id: s.PathId) -> dict[str, Any]:
    from samtale.routing.models import RoutingRule

    channel = access_channel(_user(request), channel_id)
    access_inbox(_user(request), channel.inbox_id)
    return _routing_out(channel.pk, RoutingRule.objects.filter(channel=channel).first())


@api.put("/channels/{channel_id}/routing", response=s.RoutingOut, tags=["routing"])
def put_routing(request: HttpRequest, channel_id: s.PathId, payload: s.RoutingIn) -> dict[str, Any]:
    from samtale.accounts.access import access_team
    from samtale.routing.actions import configure_routing

    user = _user(request)
    channel = access_channel(user, channel_id)
    rule = configure_routing(
        channel, acting_user=user, users=[access_user(user, pk) for pk in payload.user_ids],
        teams=[access_team(user, pk) for pk in payload.team_ids], method=payload.method, capacity=payload.capacity,
        enabled=payload.enabled, reroute_when_owner_away=payload.reroute_when_owner_away,
    )  # fmt: skip
    return _routing_out(channel.pk, rule)


def _calendar_out(request: HttpRequest, feed: Any) -> dict[str, Any]:
    published = absolute_url(request, reverse("published_calendar", args=[feed.publish_token]))
    return {
        "url": feed.url, "keywords": feed.keywords, "last_synced_at": feed.last_synced_at,
        "last_error": feed.last_error, "last_event_count": feed.last_event_count, "last_note": feed.last_note,
        "published_url": published,
    }  # fmt: skip


@api.get("/users/{user_id}/calendar", response=s.CalendarOut, tags=["availability"])
def get_calendar(request: HttpRequest, user_id: s.PathId) -> dict[str, Any]:
    """Calendar sync settings (the user themself or a super admin): feed, keywords, last sync,
    and the secret address of the published out-of-office feed."""
    from samtale.availability import actions as availability_actions

    actor = _user(request)
    target = access_user(actor, user_id)
    availability_actions.require_may_edit(actor, target)
    return _calendar_out(request, availability_actions.calendar_feed_of(target))


@api.put("/users/{user_id}/calendar", response=s.CalendarOut, tags=["availability"])
def put_calendar(request: HttpRequest, user_id: s.PathId, payload: s.CalendarIn) -> dict[str, Any]:
    from samtale.availability import actions as availability_actions

    actor = _user(request)
    target = access_user(actor, user_id)
    feed = availability_actions.configure_calendar(
        target, acting_user=actor, url=payload.url, keywords=payload.keywords
    )
    return _calendar_out(request, feed)


@api.post("/users/{user_id}/calendar/sync", response=s.CalendarOut, tags=["availability"])
def sync_calendar_now(request: HttpRequest, user_id: s.PathId) -> dict[str, Any]:
    """Ask the worker to fetch the feed now."""
    from samtale.availability import actions as availability_actions

    actor = _user(request)
    target = access_user(actor, user_id)
    availability_actions.request_calendar_sync(target, acting_user=actor)
    return _calendar_out(request, availability_actions.calendar_feed_of(target))


@api.post("/users/{user_id}/calendar/import", response=s.CalendarImportOut, tags=["availability"])
def import_calendar(request: HttpRequest, user_id: s.PathId, payload: s.CalendarImportIn) -> dict[str, Any]:
    """Import an .ics file's out-of-office events (replacing the previous import's)."""
    from samtale.availability import actions as availability_actions

    actor = _user(request)
    target = access_user(actor, user_id)
    data = payload.ics.encode()
    read = availability_actions.import_calendar_file(target, acting_user=actor, data=data)
    return {"events": len(read.ranges), "note": read.cut}


@api.post("/messages/{message_id}/forward", response=s.MessageOut, tags=["conversations"])
def forward(request: HttpRequest, message_id: s.PathId, payload: s.ForwardIn) -> dict[str, Any]:
    """Forward an email message, with its attachments, to an outside address."""
    user = _user(request)
    message = access_message(user, message_id)
    return _message_out(actions.forward_message(message, acting_user=user, to=payload.to, note=payload.note))


def _mail_server_out(channel_id: int, server: Any) -> dict[str, Any]:
    from samtale.mail.models import MailServer

    server = server or MailServer(channel_id=channel_id)
    return {
        "channel_id": channel_id, "smtp_host": server.smtp_host, "smtp_port": server.smtp_port,
        "smtp_security": server.smtp_security, "smtp_username": server.smtp_username,
        "smtp_password_set": bool(server.smtp_password), "imap_host": server.imap_host, "imap_port": server.imap_port,
        "imap_security": server.imap_security, "imap_username": server.imap_username,
        "imap_password_set": bool(server.imap_password), "imap_folder": server.imap_folder,
        "imap_polled_at": server.imap_polled_at, "imap_error": server.imap_error,
    }  # fmt: skip


@api.get("/channels/{channel_id}/mail-server", response=s.MailServerOut, tags=["channels"])
def get_mail_server(request: HttpRequest, channel_id: s.PathId) -> dict[str, Any]:
    """An email channel's own SMTP/IMAP servers (passwords are never returned)."""
    from samtale.accounts.access import require_permission
    from samtale.mail.models import MailServer

    user = _user(request)
    channel = access_channel(user, channel_id)
    require_permission(user, "inbox_settings")
    return _mail_server_out(channel.pk, MailServer.objects.filter(channel=channel).first())


@api.put("/channels/{channel_id}/mail-server", response=s.MailServerOut, tags=["channels"])
def put_mail_server(request: HttpRequest, channel_id: s.PathId, payload: s.MailServerIn) -> dict[str, Any]:
    from samtale.mail.actions import configure_mail_server

    user = _user(request)
    channel = access_channel(user, channel_id)
    return _mail_server_out(channel.pk, configure_mail_server(channel, acting_user=user, **payload.dict()))
