"""REST API: feedback (D3) — the answers (newest first, by cursor) and the counts per inbox and
per agent for a period, of the inboxes the caller may open; an inbox's survey settings."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from samtale.accounts.access import membership_of
from samtale.api.common import _user
from samtale.api.schemas import Day, Id, PathId
from samtale.feedback import actions, queries
from samtale.feedback.models import MAX_DELAY_MINUTES, QUESTION_LIMIT
from samtale.inbox.access import access_inbox
from samtale.inbox.models import Inbox

router = Router()
PAGE = 50


class AnswerOut(Schema):
    id: int
    conversation_id: int
    inbox_id: int
    agent_id: int | None
    contact_id: int | None
    channel_kind: str
    question: str
    score: int
    comment: str
    second_question: str
    second_answer: str
    sent_at: datetime | None
    answered_at: datetime | None
    changed_at: datetime | None


class AnswerPage(Schema):
    items: list[AnswerOut]
    next_cursor: str


class AnswerParams(Schema):
    inbox: Id | None = None
    agent: Id | None = None
    cursor: str = Field("", max_length=60)


class Figures(Schema):
    id: int | None
    sent: int
    answered: int
    average: float | None
    scores: dict[str, int]


class SummaryOut(Schema):
    sent: int
    answered: int
    average: float | None
    inboxes: list[Figures]
    agents: list[Figures]


class SummaryParams(Schema):
    since: Day | None = Field(None, description="first day (the account's zone), inclusive")
    until: Day | None = Field(None, description="last day, inclusive")
    inbox: Id | None = None


def _cursor(value: str) -> tuple[datetime, int] | None:
    if not value:
        return None
    from samtale.crm.queries import _decode

    found = _decode(value, "at")
    if found is None:
        raise ValidationError("The cursor is not one this API gave.")
    return found


@router.get("/feedback", response=AnswerPage, tags=["feedback"])
def list_answers(request: HttpRequest, params: Query[AnswerParams]) -> dict[str, Any]:
    from django.db.models import Q

    from samtale.crm.queries import _encode

    user = _user(request)
    rows = queries.answers(user)
    if params.inbox is not None:
        rows = rows.filter(inbox=access_inbox(user, params.inbox))
    if params.agent is not None:
        rows = rows.filter(agent=_teammate(user, params.agent))
    after = _cursor(params.cursor)
    if after is not None:
        rows = rows.filter(Q(answered_at__lt=after[0]) | Q(answered_at=after[0], pk__lt=after[1]))
    page = list(rows[: PAGE + 1])
    more = len(page) > PAGE
    page = page[:PAGE]
    last = page[-1] if more and page else None
    next_cursor = _encode(last.answered_at, last.pk) if last is not None and last.answered_at else ""
    return {"items": page, "next_cursor": next_cursor}


def _teammate(user: Any, user_id: int) -> Any:
    """Another account's user is 404, as any id of theirs."""
    from django.http import Http404

    from samtale.accounts.models import User

    found = User.objects.filter(pk=user_id, membership__account_id=membership_of(user).account_id).first()
    if found is None:
        raise Http404("No such user")
    return found


@router.get("/feedback/summary", response=SummaryOut, tags=["feedback"])
def summary(request: HttpRequest, params: Query[SummaryParams]) -> dict[str, Any]:
    zone = timezone.get_current_timezone()
    since = datetime.combine(params.since, time.min, zone) if params.since else None
    until = datetime.combine(params.until + timedelta(days=1), time.min, zone) if params.until else None
    if since and until and since >= until:
        raise ValidationError("`since` is a day before `until`.")
    user = _user(request)
    inbox_id = access_inbox(user, params.inbox).pk if params.inbox is not None else None
    return queries.summary(user, since=since, until=until, inbox_id=inbox_id)


class SurveySettingsIn(Schema):
    enabled: bool
    delay_minutes: int = Field(60, ge=0, le=MAX_DELAY_MINUTES)
    question_nb: str = Field("", max_length=QUESTION_LIMIT)
    question_en: str = Field("", max_length=QUESTION_LIMIT)
    second_nb: str = Field("", max_length=QUESTION_LIMIT)
    second_en: str = Field("", max_length=QUESTION_LIMIT)


class SurveySettingsOut(SurveySettingsIn):
    inbox_id: int


def _inbox(request: HttpRequest, inbox_id: int) -> Inbox:
    from django.http import Http404

    inbox = Inbox.objects.filter(pk=inbox_id, account_id=membership_of(_user(request)).account_id).first()
    if inbox is None:
        raise Http404("No such inbox")
    return inbox


def _settings_out(found: Any) -> dict[str, Any]:
    fields = ("enabled", "delay_minutes", "question_nb", "question_en", "second_nb", "second_en")
    return {"inbox_id": found.inbox_id, **{k: getattr(found, k) for k in fields}}


@router.get("/inboxes/{inbox_id}/survey", response=SurveySettingsOut, tags=["feedback"])
def get_survey_settings(request: HttpRequest, inbox_id: PathId) -> dict[str, Any]:
    return _settings_out(actions.settings_of(_inbox(request, inbox_id)))


@router.put("/inboxes/{inbox_id}/survey", response=SurveySettingsOut, tags=["feedback"])
def put_survey_settings(request: HttpRequest, inbox_id: PathId, payload: SurveySettingsIn) -> dict[str, Any]:
    found = actions.update_settings(_inbox(request, inbox_id), acting_user=_user(request), **payload.dict())
    return _settings_out(found)
