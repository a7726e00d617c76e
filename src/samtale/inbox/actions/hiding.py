"""Hiding a message everywhere, and showing it again (C12)."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from samtale.accounts.access import membership_of, require_permission
from samtale.accounts.models import User
from samtale.core.audit import audit
from samtale.core.clock import now
from samtale.core.events import publish_on_commit
from samtale.inbox import events, search
from samtale.inbox.actions._common import _contact_text, _require_inbox_access
from samtale.inbox.models import (
    Conversation,
    Message,
)

log = logging.getLogger(__name__)


def hide_message(message: Message, *, acting_user: User) -> Message:
    require_permission(acting_user, "hide_messages")
    _require_inbox_access(acting_user, message.conversation)
    if message.hidden_at is not None:
        return message
    with transaction.atomic():
        message.hidden_by = acting_user
        message.hidden_at = now()
        message.save(update_fields=["hidden_by", "hidden_at"])
        _refresh_shown_text(message.conversation)
        audit(message.account, acting_user, "message.hidden", message)
        publish_on_commit(events.conversation_changed(message.conversation, "hidden"))
    return message


def show_message(message: Message, *, acting_user: User) -> Message:
    """Only a super admin or the person who hid it may show it again (C12)."""
    membership = membership_of(acting_user)
    _require_inbox_access(acting_user, message.conversation)
    if message.hidden_at is None:
        return message
    if not membership.is_super_admin and message.hidden_by_id != acting_user.pk:
        raise PermissionDenied(_("Only super admins or the person who hid this message can show it."))
    with transaction.atomic():
        message.hidden_by = None
        message.hidden_at = None
        message.save(update_fields=["hidden_by", "hidden_at"])
        _refresh_shown_text(message.conversation)
        audit(message.account, acting_user, "message.shown", message)
        publish_on_commit(events.conversation_changed(message.conversation, "hidden"))
    return message


def _refresh_shown_text(conversation: Conversation) -> None:
    """The list preview and the search document hold message text: rebuild both from the messages
    that are not hidden, so a hidden message is found nowhere (C12) and comes back when shown."""
    visible = conversation.messages.filter(hidden_at=None)
    latest = visible.order_by("-created_at", "-id").values_list("text", flat=True).first()
    conversation.preview = (latest or "").replace("\n", " ")[:200]
    conversation.save(update_fields=["preview"])
    texts, size = [], 0
    for text in visible.order_by("id").values_list("text", flat=True).iterator(chunk_size=200):
        texts.append(text)
        size += len(text)
        if size >= search.MAX_DOCUMENT:
            break
    search.set_document(conversation, [conversation.subject, _contact_text(conversation.contact), *texts])
