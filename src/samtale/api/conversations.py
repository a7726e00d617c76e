"""REST API: Conversations: lists, views, compose, reply, comments, owner, status, messages, bulk."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Query, Router

from samtale.accounts.access import access_user
from samtale.api import schemas as s
from samtale.api.common import API_THREAD_PAGE, _conversation_out, _detail, _entries_out, _message_out, _user
from samtale.core.bounds import parse_id
from samtale.inbox import actions, queries
from samtale.inbox.access import (
    access_channel,
    access_conversation,
    access_custom_view,
    access_inbox,
    access_message,
)

router = Router()


@router.get("/inboxes/{inbox_id}/conversations", response=s.ConversationPage, tags=["conversations"])
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
    count = queries.known_count(inbox, user, view, filters)
    page = queries.conversation_page(inbox, user, view, filters, cursor=params.cursor, limit=params.limit, count=count)
    return {
        "count": page.count or 0,
        "count_capped": page.count_capped,
        "next_cursor": page.next_cursor,
        "items": [_conversation_out(c) for c in page.items],
    }


@router.get("/inboxes/{inbox_id}/views", response=list[s.ViewOut], tags=["conversations"])
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


@router.post("/inboxes/{inbox_id}/views", response={201: s.ViewOut}, tags=["conversations"])
def create_view(request: HttpRequest, inbox_id: s.PathId, payload: s.CustomViewIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    inbox = access_inbox(user, inbox_id)
    data = payload.dict()
    name, shared = data.pop("name"), data.pop("shared")
    filters = queries.Filters.from_mapping({k: ("" if v is None else v) for k, v in data.items()})
    cv = actions.create_custom_view(inbox, acting_user=user, name=name, filters=filters, shared=shared)
    return 201, {"key": f"custom-{cv.pk}", "label": cv.name, "count": None, "custom_id": cv.pk, "shared": cv.shared}


@router.delete("/views/{view_id}", response={204: None}, tags=["conversations"])
def delete_view(request: HttpRequest, view_id: s.PathId) -> tuple[int, None]:
    user = _user(request)
    actions.delete_custom_view(access_custom_view(user, view_id), acting_user=user)
    return 204, None


@router.post("/inboxes/{inbox_id}/conversations", response={201: s.ConversationDetail}, tags=["conversations"])
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


@router.get("/conversations/{conversation_id}", response=s.ConversationDetail, tags=["conversations"])
def get_conversation(request: HttpRequest, conversation_id: s.PathId) -> dict[str, Any]:
    return _detail(access_conversation(_user(request), conversation_id))


@router.get("/conversations/{conversation_id}/entries", response=s.ThreadPage, tags=["conversations"])
def thread_entries(
    request: HttpRequest, conversation_id: s.PathId, before: str = "", limit: int = API_THREAD_PAGE
) -> dict[str, Any]:
    """A page of the thread, newest first by page (each page in time order): without `before` the
    newest `limit` entries (1-200), with it the entries before that cursor."""
    conversation = access_conversation(_user(request), conversation_id)
    if before and queries.decode_entry_cursor(before) is None:
        raise ValidationError("`before` is not a cursor this API gave out.")
    if not 1 <= limit <= 200:
        raise ValidationError("`limit` is between 1 and 200.")
    return _entries_out(queries.thread(conversation, before=before or None, limit=limit))


@router.post("/conversations/{conversation_id}/reply", response={201: s.MessageOut}, tags=["conversations"])
def reply(request: HttpRequest, conversation_id: s.PathId, payload: s.ReplyIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    conversation = access_conversation(user, conversation_id)
    message = actions.reply_to_conversation(
        conversation, acting_user=user, text=payload.text, html=payload.html, channel_kind=payload.channel_kind
    )
    return 201, _message_out(message)


@router.post("/conversations/{conversation_id}/transcript", response={202: None}, tags=["conversations"])
def transcript(request: HttpRequest, conversation_id: s.PathId, payload: s.TranscriptIn) -> tuple[int, None]:
    """Mail the conversation's messages, in order, to an address (C8)."""
    user = _user(request)
    actions.send_transcript(access_conversation(user, conversation_id), acting_user=user, to=payload.to)
    return 202, None


@router.post("/conversations/{conversation_id}/comments", response={201: s.CommentOut}, tags=["conversations"])
def comment(request: HttpRequest, conversation_id: s.PathId, payload: s.CommentIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    conversation = access_conversation(user, conversation_id)
    c = actions.add_comment(conversation, acting_user=user, text=payload.text)
    return 201, {
        "id": c.pk, "author_id": c.author_id, "text": c.text, "mention_ids": [u.pk for u in c.mentions.all()],
        "created_at": c.created_at,
    }  # fmt: skip


@router.post("/conversations/{conversation_id}/assign", response=s.ConversationOut, tags=["conversations"])
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
    router.post(
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


@router.post("/conversations/{conversation_id}/unblock", response=s.UnblockOut, tags=["conversations"])
def unblock(request: HttpRequest, conversation_id: s.PathId) -> dict[str, int]:
    user = _user(request)
    return {"restored": actions.unblock_sender(access_conversation(user, conversation_id), acting_user=user)}


@router.delete("/conversations/{conversation_id}", response={204: None}, tags=["conversations"])
def delete_forever(request: HttpRequest, conversation_id: s.PathId) -> tuple[int, None]:
    user = _user(request)
    actions.delete_conversation_forever(access_conversation(user, conversation_id), acting_user=user)
    return 204, None


@router.post("/messages/{message_id}/hide", response=s.MessageOut, tags=["conversations"])
def hide(request: HttpRequest, message_id: s.PathId) -> dict[str, Any]:
    user = _user(request)
    return _message_out(actions.hide_message(access_message(user, message_id), acting_user=user))


@router.post("/messages/{message_id}/show", response=s.MessageOut, tags=["conversations"])
def show(request: HttpRequest, message_id: s.PathId) -> dict[str, Any]:
    user = _user(request)
    return _message_out(actions.show_message(access_message(user, message_id), acting_user=user))


@router.post("/inboxes/{inbox_id}/bulk/close", response=s.BulkOut, tags=["conversations"])
def bulk_close(request: HttpRequest, inbox_id: s.PathId, payload: s.BulkIn) -> dict[str, int]:
    user = _user(request)
    return {"updated": len(actions.bulk_close(access_inbox(user, inbox_id), acting_user=user, ids=payload.ids))}


@router.post("/inboxes/{inbox_id}/bulk/trash", response=s.BulkOut, tags=["conversations"])
def bulk_trash(request: HttpRequest, inbox_id: s.PathId, payload: s.BulkIn) -> dict[str, int]:
    user = _user(request)
    return {"updated": len(actions.bulk_trash(access_inbox(user, inbox_id), acting_user=user, ids=payload.ids))}


@router.post("/messages/{message_id}/forward", response=s.MessageOut, tags=["conversations"])
def forward(request: HttpRequest, message_id: s.PathId, payload: s.ForwardIn) -> dict[str, Any]:
    """Forward an email message, with its attachments, to an outside address."""
    user = _user(request)
    message = access_message(user, message_id)
    return _message_out(actions.forward_message(message, acting_user=user, to=payload.to, note=payload.note))
