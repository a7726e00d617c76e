"""The feedback survey in the chat widget (D3): offered to the visitor's widgets live when it is
sent, again in `welcome` while it can be answered (they came back later), answered by a
`feedback` frame (the signed token is the proof, and it must be this visitor's chat)."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from samtale.channels.chat import events
from samtale.channels.chat.models import ChatSession, ChatWidget
from samtale.core.clock import now
from samtale.core.events import publish_on_commit
from samtale.feedback import actions as feedback
from samtale.feedback.delivery import NotDeliverable, Outgoing
from samtale.feedback.models import State, Survey

SURVEY = "chat.survey"  # to the visitor: rate the chat that ended


def survey_json(survey: Survey, token: str) -> dict[str, Any]:
    return {
        "token": token,
        "question": survey.question,
        "second_question": survey.second_question,
        "score": survey.score,
        "comment": survey.comment,
        "second_answer": survey.second_answer,
        "editable": feedback.can_change(survey),
    }


def offer(outgoing: Outgoing) -> None:
    """The survey's sender for chat conversations (registered with feedback)."""
    chat = ChatSession.objects.filter(conversation_id=outgoing.survey.conversation_id).select_related("visitor").first()
    if chat is None:
        raise NotDeliverable(_("The conversation has no chat visitor."))
    if ChatSession.objects.filter(visitor=chat.visitor, ended_at=None).exclude(pk=chat.pk).exists():
        return  # they are in a new chat now: not in the middle of it; offered when they come back
    publish_on_commit(
        events.to_visitor(chat.visitor.group, SURVEY, survey=survey_json(outgoing.survey, outgoing.token))
    )


def visitor_language(conversation: Any) -> str:
    """The language of the chat's visitor (their browser's, as the widget said)."""
    chat = ChatSession.objects.filter(conversation_id=conversation.pk).select_related("visitor").first()
    language = chat.visitor.language if chat is not None else ""
    return "nb" if language in ("nb", "nn", "no") else language


def pending_for(widget: ChatWidget, uid: uuid.UUID | None) -> dict[str, Any] | None:
    """The visitor's latest survey they have not answered yet (their chat ended), if any."""
    if uid is None:
        return None
    survey = (
        Survey.objects.filter(
            state__in=[State.SENT, State.SENDING],
            score__isnull=True,
            expires_at__gt=now(),
            conversation__chat__visitor__uid=uid,
            conversation__chat__widget=widget,
        )
        .order_by("-sent_at")
        .first()
    )
    if survey is None:
        return None
    return survey_json(survey, feedback.token_of(survey))


def visitor_answers(widget: ChatWidget, uid: uuid.UUID | None, frame: dict[str, Any]) -> Survey:
    """The widget's `feedback` frame: only for a survey of this visitor's own chat on this widget."""
    survey = feedback.survey_for_token(frame.get("token"))
    if (
        uid is None
        or not ChatSession.objects.filter(
            conversation_id=survey.conversation_id, visitor__uid=uid, widget=widget
        ).exists()
    ):
        raise ValidationError(_("This survey link is not valid."), code="invalid")
    return feedback.answer(
        frame.get("token"), score=frame.get("score"), comment=frame.get("comment", ""),
        second_answer=frame.get("second_answer", ""),
    )  # fmt: skip
