"""Events of the chat channel: to a visitor's widgets (every tab) and to the inbox's agents."""

from __future__ import annotations

from typing import Any

from samtale.core.events import Event, inbox_group

MESSAGE = "chat.message"  # to the visitor: a message in their chat (theirs from another tab, or the team's)
TYPING = "chat.typing"  # both ways: someone is typing
READ = "chat.read"  # both ways: the other side has seen messages up to an id
ENDED = "chat.ended"  # to the visitor: the chat has ended (closed, or they were away too long)
VISITOR = "chat.visitor"  # to agents: the visitor's page, presence or details changed
BUTTONS = "chat.buttons"  # to the visitor: the bot's question offers these answers
PRESENCE = "chat.presence"  # to the visitor: the team is available, or away


def to_visitor(group: str, kind: str, **data: Any) -> Event:
    return Event(type=kind, groups=(group,), data=data)


def to_agents(inbox_id: int, conversation_id: int, kind: str, **data: Any) -> Event:
    return Event(
        type=kind,
        groups=(inbox_group(inbox_id),),
        data={"inbox_id": inbox_id, "conversation_id": conversation_id, **data},
    )
