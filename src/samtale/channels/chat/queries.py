"""Reads of the chat channel: widgets by key, a visitor's open chat and its history as the widget
shows it, whether the visitor is still there."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core import signing
from django.db.models import Prefetch

from samtale.channels.chat.models import ChatSession, ChatWidget, Visitor
from samtale.core.clock import now
from samtale.inbox.models import INLINE_IMAGE_TYPES, Attachment, Direction, Message

HISTORY_LIMIT = 200  # messages a widget is sent when it (re)connects
ONLINE_WINDOW = timedelta(seconds=100)  # the widget says it is alive every 30 s while a page is open
FILE_SALT = "samtale.chat.file"


def widget_by_key(key: str) -> ChatWidget | None:
    if not isinstance(key, str) or not 0 < len(key) <= 32:
        return None
    return (
        ChatWidget.objects.select_related("channel", "channel__inbox", "channel__account")
        .filter(key=key, channel__kind="chat")
        .first()
    )


def visitor_of(widget: ChatWidget, uid: Any) -> Visitor | None:
    if uid is None:
        return None
    return Visitor.objects.filter(widget=widget, uid=uid).select_related("contact").first()


def open_chat(visitor: Visitor) -> ChatSession | None:
    chat = (
        ChatSession.objects.filter(visitor=visitor, ended_at=None)
        .select_related("conversation")
        .order_by("-id")
        .first()
    )
    if chat is None:
        return None
    # The chat's channel, inbox and account are the widget's, which the caller has loaded already
    # (a message's path is a few queries; joining three more tables cost more than its insert).
    widget = visitor._state.fields_cache.get("widget")
    channel = widget._state.fields_cache.get("channel") if widget is not None else None
    conversation = chat.conversation
    if channel is not None and conversation.channel_id == channel.pk:
        conversation.channel = channel
        for name in ("inbox", "account"):
            if name in channel._state.fields_cache:
                setattr(conversation, name, getattr(channel, name))
    if widget is not None and chat.widget_id == widget.pk:
        chat.widget = widget
    return chat


def chat_of(conversation_id: int) -> ChatSession | None:
    return ChatSession.objects.filter(conversation_id=conversation_id).select_related("visitor", "widget").first()


def is_online(visitor: Visitor) -> bool:
    return now() - visitor.last_seen_at < ONLINE_WINDOW


def history(chat: ChatSession | None, after: int = 0) -> list[Message]:
    """The chat's messages the widget shows (the newest HISTORY_LIMIT), after the id it has."""
    if chat is None:
        return []
    found = list(
        Message.objects.filter(conversation_id=chat.conversation_id, hidden_at=None, id__gt=max(0, after))
        .select_related("author")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
        .order_by("-created_at", "-id")[:HISTORY_LIMIT]
    )
    found.reverse()
    return found


def client_id_of(message: Message) -> str:
    """The widget's own id of a visitor's message (external id `chat:<visitor>:<client id>`)."""
    if message.direction != Direction.INBOUND or not message.external_id.startswith("chat:"):
        return ""
    return message.external_id.split(":", 2)[-1]


def file_url(widget: ChatWidget, visitor: Visitor, attachment: Attachment) -> str:
    signed = signing.dumps([attachment.pk, visitor.uid.hex], salt=FILE_SALT, compress=False)
    return f"/widget/{widget.key}/files/{signed}/"


def attachment_for_visitor(widget: ChatWidget, signed: str) -> Attachment | None:
    """The attachment a signed widget link names, if it still belongs to one of that visitor's chats."""
    try:
        pk, uid_hex = signing.loads(signed, salt=FILE_SALT, max_age=30 * 24 * 3600)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return (
        Attachment.objects.filter(
            pk=pk,
            message__hidden_at=None,
            message__conversation__chat__visitor__uid=uid_hex,
            message__conversation__chat__widget=widget,
        )
        .select_related("message")
        .first()
    )


def message_json(message: Message, widget: ChatWidget, visitor: Visitor) -> dict[str, Any]:
    """A message as the widget shows it: text only (nothing from anyone is rendered as HTML)."""
    author = message.author
    return {
        "id": message.pk,
        "dir": "in" if message.direction == Direction.INBOUND else "out",
        "text": message.text,
        "at": message.created_at.isoformat(),
        "author": (author.name.split(" ")[0] if author and author.name else message.sender_name)[:80]
        if message.direction == Direction.OUTBOUND
        else "",
        "client_id": client_id_of(message),
        "files": [
            {
                "name": a.filename,
                "size": a.size,
                "image": a.content_type in INLINE_IMAGE_TYPES,
                "url": file_url(widget, visitor, a),
            }
            for a in message.attachments.all()
            if not a.inline
        ],
    }
