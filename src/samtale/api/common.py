"""What the API's routers share: the acting user and the shapes of the objects they return."""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest
from django.urls import reverse

from samtale.accounts.models import User
from samtale.inbox import queries
from samtale.inbox.models import Channel, Conversation, Inbox, Message


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
        "reply_to": m.reply_to,
        "attachments": [] if hidden else [
            {"id": a.pk, "filename": a.filename, "content_type": a.content_type, "size": a.size, "inline": a.inline,
             "url": reverse("attachment", args=[a.pk])}
            for a in m.attachments.all()
        ],
    }  # fmt: skip


API_THREAD_PAGE = 50


def _entries_out(thread: queries.Thread) -> dict[str, Any]:
    """A page of a thread: its messages and comments, and the cursor for the page before it."""
    return {
        "messages": [_message_out(m) for m in thread.messages],
        "comments": [
            {"id": c.pk, "author_id": c.author_id, "text": c.text, "mention_ids": [u.pk for u in c.mentions.all()],
             "created_at": c.created_at}
            for c in thread.comments
        ],
        "earlier": thread.earlier,
        "earlier_cursor": thread.before,
    }  # fmt: skip


def _detail(conversation: Conversation) -> dict[str, Any]:
    """A conversation with its newest entries; `earlier_cursor` pages back through the rest."""
    return {**_conversation_out(conversation), **_entries_out(queries.thread(conversation, limit=API_THREAD_PAGE))}
