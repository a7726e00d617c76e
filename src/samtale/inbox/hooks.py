"""The inbox's hooks (core.hooks): what the apps above it do when a conversation changes so,
called inside the action's transaction, so the inbox names none of them."""

from __future__ import annotations

from typing import Any

from samtale.accounts.models import User
from samtale.core.hooks import Hook
from samtale.inbox.models import Conversation

# Chat mails a transcript when closed, tickets follow a reopen, a
# conversation deleted for good or a blocked sender takes its ticket with it (C1, C8).
conversation_closed: Hook[[Conversation], Any] = Hook("conversation_closed")
conversations_reopened: Hook[[list[Conversation], User | None], Any] = Hook("conversations_reopened")
conversations_deleting: Hook[[list[Conversation], User | None], Any] = Hook("conversations_deleting")
sender_blocked: Hook[[Conversation, User | None], Any] = Hook("sender_blocked")
