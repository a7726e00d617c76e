"""Feedback's pieces of the conversation screen (core.sidebar): "Past feedback" beside a
conversation with a contact (this conversation's answer first), two queries however many."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from samtale.accounts.models import User
from samtale.core.sidebar import Section, register
from samtale.feedback import queries


def past_section(conversation: Any, user: User) -> dict[str, Any] | None:
    if conversation.contact_id is None:
        return None
    return {"conversation": conversation, **queries.past_feedback(user, conversation.contact_id, conversation.pk)}


PAST = Section(
    key="past-feedback",
    label=_("Past feedback"),
    template="feedback/sidebar_feedback.html",
    load=past_section,
    order=45,
)


def install() -> None:
    register(PAST)
