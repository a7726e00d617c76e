"""What the chat channel's pieces of the shared screens show."""

from __future__ import annotations

from typing import Any

from django import template

from samtale.channels.chat.models import ChatSession, ChatWidget
from samtale.channels.chat.queries import is_online
from samtale.inbox.models import Direction

register = template.Library()


@register.filter
def chat_state(conversation: Any) -> dict[str, Any] | None:
    """The chat behind a conversation, as the agent's thread shows it."""
    chat = (
        ChatSession.objects.filter(conversation_id=conversation.pk)
        .select_related("visitor", "visitor__contact")
        .first()
    )
    if chat is None:
        return None
    last_out = (
        conversation.messages.filter(direction=Direction.OUTBOUND, channel_kind="chat", hidden_at=None)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    from samtale.channels.chat.adapter import ChatAdapter

    return {
        "chat": chat,
        "visitor": chat.visitor,
        "online": is_online(chat.visitor) and chat.ended_at is None,
        "seen": bool(last_out and chat.visitor_read_up_to >= last_out),
        "by_email": ChatAdapter().hand_over(conversation) == "email",
    }


@register.filter
def chat_widget(channel: Any) -> ChatWidget | None:
    return ChatWidget.objects.filter(channel_id=channel.pk).first()


@register.filter
def embed_snippet(widget: ChatWidget) -> str:
    from samtale.channels.chat.views import snippet

    return snippet(widget)
