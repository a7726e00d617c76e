"""Internal comments, @mentions and notifications."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from samtale.accounts.models import User
from samtale.core.audit import audit
from samtale.core.clock import now
from samtale.core.events import publish_on_commit
from samtale.inbox import events
from samtale.inbox.actions._common import _notify, _require_inbox_access
from samtale.inbox.counters import counted
from samtale.inbox.models import (
    Comment,
    Conversation,
    Notification,
    NotificationKind,
)
from samtale.inbox.queries import inbox_members

log = logging.getLogger(__name__)


def find_mentions(text: str, candidates: Iterable[User]) -> list[User]:
    """`@Full Name` (or `@email`) of a candidate, longest names first so prefixes don't steal."""
    lowered = text.lower()
    found: list[User] = []
    for user in sorted(candidates, key=lambda u: -len(u.name)):
        for handle in {user.name.lower(), user.email.lower()}:
            if not handle:
                continue
            pattern = r"(?<![\w@])@" + re.escape(handle) + r"(?![\w])"
            if re.search(pattern, lowered):
                found.append(user)
                lowered = re.sub(pattern, " ", lowered)
                break
    return found


def add_comment(conversation: Conversation, *, acting_user: User, text: str) -> Comment:
    _require_inbox_access(acting_user, conversation)
    text = text.strip()
    if not text:
        raise ValidationError(_("The comment is empty."))
    at = now()
    with transaction.atomic():
        comment = Comment.objects.create(
            account=conversation.account, conversation=conversation, author=acting_user, text=text, created_at=at
        )
        mentioned = [u for u in find_mentions(text, inbox_members(conversation.inbox)) if u.pk != acting_user.pk]
        comment.mentions.set(mentioned)
        for user in mentioned:
            _notify(user, NotificationKind.MENTION, conversation, actor=acting_user, comment=comment)
        with counted([conversation]):
            conversation.last_activity_at = max(conversation.last_activity_at, at)
            conversation.save(update_fields=["last_activity_at"])
        audit(conversation.account, acting_user, "comment.added", comment, mentions=[u.pk for u in mentioned])
        publish_on_commit(events.conversation_changed(conversation, "comment"))
    return comment


def mark_notifications_read(user: User, *, acting_user: User, ids: Iterable[int] | None = None) -> int:
    if acting_user.pk != user.pk:
        raise PermissionDenied(_("You can only read your own notifications."))
    qs = Notification.objects.filter(user=user, read_at=None)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    with transaction.atomic():
        count = qs.update(read_at=now())
    return count
