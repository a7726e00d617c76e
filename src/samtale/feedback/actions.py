"""Feedback's write path (D3): an inbox's survey settings, a survey scheduled when a conversation
closes and sent after the inbox's delay on the conversation's channel, the customer's answer.

A survey is never sent to a conversation in Spam, Filtered or Trash, to a blocked sender, when
the customer only sent auto-replies or never wrote (outbound mail nobody answered), or when
nobody on the team answered (a bot-only chat). One survey per conversation, ever: a reopened
conversation's scheduled survey is cancelled and scheduled again when it closes again, a sent
one is not sent twice. Its link is signed and valid 14 days; the answer can be changed for
24 hours after it was first given.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from samtale.accounts.access import membership_of
from samtale.accounts.models import User
from samtale.core.audit import audit
from samtale.core.clock import now
from samtale.core.events import publish_on_commit
from samtale.crm.actions import add_timeline_entry
from samtale.crm.models import Contact, TimelineEntry
from samtale.feedback import delivery, events
from samtale.feedback.models import COMMENT_LIMIT, MAX_DELAY_MINUTES, QUESTION_LIMIT, State, Survey, SurveySettings
from samtale.inbox.models import Conversation, DeliveryStatus, Direction, Inbox, Message, Status
from samtale.inbox.queries import sender_is_blocked

log = logging.getLogger(__name__)

LINK_VALID = timedelta(days=14)
EDITABLE_FOR = timedelta(hours=24)
SALT = "samtale.feedback.survey"
TOKEN_LIMIT = 200
MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(minutes=5)  # then 10: a mail server that is away for a while
STALE_CLAIM = timedelta(minutes=15)  # a claim this old is a worker that died while sending


# ---------------------------------------------------------------------------- settings
def settings_of(inbox: Inbox) -> SurveySettings:
    """The inbox's settings, or the defaults (off) when nobody saved any."""
    found = SurveySettings.objects.filter(inbox=inbox).first()
    return found or SurveySettings(account_id=inbox.account_id, inbox=inbox)


def _question_text(value: Any, label: str) -> str:
    text = " ".join(str(value or "").split())
    if len(text) > QUESTION_LIMIT:
        raise ValidationError(
            _("%(field)s is at most %(n)s characters.") % {"field": label, "n": QUESTION_LIMIT}, code="too_long"
        )
    return text


def update_settings(
    inbox: Inbox,
    *,
    acting_user: User,
    enabled: bool,
    delay_minutes: Any,
    question_nb: Any = "",
    question_en: Any = "",
    second_nb: Any = "",
    second_en: Any = "",
) -> SurveySettings:
    """An inbox's survey settings (the inbox settings permission)."""
    membership = membership_of(acting_user)
    if membership.account_id != inbox.account_id:
        raise PermissionDenied(_("That inbox is not in this account."))
    if not membership.has_permission("inbox_settings"):
        raise PermissionDenied(_("You need the inbox settings permission to change inboxes."))
    try:
        delay = int(str(delay_minutes).strip() or "0")
    except ValueError:
        raise ValidationError(_("The delay is a whole number of minutes."), code="invalid") from None
    if not 0 <= delay <= MAX_DELAY_MINUTES:
        raise ValidationError(
            _("The delay is from 0 to %(n)s minutes (a week).") % {"n": MAX_DELAY_MINUTES}, code="invalid"
        )
    values = {
        "enabled": bool(enabled),
        "delay_minutes": delay,
        "question_nb": _question_text(question_nb, _("The question (Norwegian)")),
        "question_en": _question_text(question_en, _("The question (English)")),
        "second_nb": _question_text(second_nb, _("The second question (Norwegian)")),
        "second_en": _question_text(second_en, _("The second question (English)")),
    }
    with transaction.atomic():
        found, _created = SurveySettings.objects.select_for_update().get_or_create(
            inbox=inbox, defaults={"account_id": inbox.account_id, **values}
        )
        for key, value in values.items():
            setattr(found, key, value)
        found.updated_at = now()
        found.save()
        audit(inbox.account, acting_user, "feedback.settings_changed", inbox, **values)
    return found


# ---------------------------------------------------------------------------- scheduling
def conversation_closed(conversation: Conversation) -> None:
    """The inbox's hook (inside the closing transaction): schedule its survey when the inbox
    sends them, unless the conversation already had one sent. Two closes at once (one by hand,
    one in bulk) make one row: get_or_create takes a savepoint and reads the other's."""
    survey_settings = SurveySettings.objects.filter(inbox_id=conversation.inbox_id, enabled=True).first()
    if survey_settings is None:
        return
    due = now() + timedelta(minutes=survey_settings.delay_minutes)
    survey, created = Survey.objects.get_or_create(
        conversation=conversation,
        defaults={
            "account_id": conversation.account_id, "inbox_id": conversation.inbox_id,
            "contact_id": conversation.contact_id, "agent_id": conversation.owner_id,
            "channel_kind": conversation.channel_kind, "due_at": due,
        },
    )  # fmt: skip
    if not created:
        if survey.state in (State.SENT, State.SENDING):
            return  # it went (or is going) once: never again
        # cancelled, skipped or failed before: what stopped it may be gone (the customer wrote since)
        survey.state, survey.due_at, survey.reason, survey.attempts = State.SCHEDULED, due, "", 0
        survey.agent_id, survey.contact_id = conversation.owner_id, conversation.contact_id
        survey.inbox_id, survey.channel_kind = conversation.inbox_id, conversation.channel_kind
        survey.save(
            update_fields=["state", "due_at", "reason", "attempts", "agent", "contact", "inbox", "channel_kind"]
        )
    pk = survey.pk

    def enqueue() -> None:
        from samtale.feedback.tasks import send_survey_task

        send_survey_task.using(run_after=due).enqueue(pk)

    transaction.on_commit(enqueue)


def conversations_reopened(conversations: list[Conversation], acting_user: User | None) -> None:
    """A conversation reopened before its survey went out: not now (it is scheduled again when
    it closes again)."""
    Survey.objects.filter(conversation__in=[c.pk for c in conversations], state=State.SCHEDULED).update(
        state=State.CANCELLED
    )


def why_not(conversation: Conversation) -> str:
    """Why this conversation gets no survey ("" when it may have one). A teammate's answer counts
    when it reached the customer (not a forward to someone else, not a failed delivery); a
    bot's or an automated message is nobody's answer. Two queries."""
    if conversation.status != Status.CLOSED:
        return _("The conversation was reopened.")
    if conversation.spam_at or conversation.filtered_at or conversation.trashed_at:
        return _("The conversation is in Spam, Filtered or Trash.")
    if conversation.contact_id is None:
        return _("The conversation has no contact.")
    delivered = ~Q(delivery_status=DeliveryStatus.FAILED) & Q(forwarded=False)  # what reached the customer
    counts = Message.objects.filter(conversation=conversation).aggregate(
        customer=Count("pk", filter=Q(direction=Direction.INBOUND, auto_reply=False)),
        team=Count("pk", filter=Q(direction=Direction.OUTBOUND, author__isnull=False) & delivered),
    )
    if not counts["customer"]:
        return _("The customer never wrote (or only sent auto-replies).")
    if not counts["team"]:
        return _("Nobody on the team answered.")
    if sender_is_blocked(conversation):
        return _("The sender is blocked.")
    return ""


def _language(conversation: Conversation) -> str:
    """The language the channel knows they use now (a chat visitor's browser), else the contact's,
    else the installation's."""
    known = {code for code, _name in settings.LANGUAGES}
    contact = conversation.contact
    for language in (delivery.channel_language(conversation.channel_kind, conversation),
                     contact.language if contact is not None else ""):  # fmt: skip
        if language in known:
            return language
    return settings.LANGUAGE_CODE


def default_question() -> str:
    return _("How would you rate the help you got?")


def questions(survey_settings: SurveySettings, language: str) -> tuple[str, str]:
    """The inbox's questions in that language (Samtale's own first one when it left it empty)."""
    with translation.override(language):
        first = getattr(survey_settings, f"question_{language}", "") or default_question()
    return first, getattr(survey_settings, f"second_{language}", "")


def token_of(survey: Survey) -> str:
    return signing.TimestampSigner(salt=SALT).sign_object({"s": survey.pk, "c": survey.conversation_id})


def page_url(token: str, score: int | None = None) -> str:
    url = settings.SAMTALE_PUBLIC_URL.rstrip("/") + reverse("feedback_page", args=[token])
    return f"{url}?score={score}" if score else url


def _changed(survey: Survey) -> None:
    """Whoever has the conversation or the contact open sees what became of the survey."""
    publish_on_commit(events.feedback_changed(survey.account_id, survey.pk, survey.conversation_id, survey.contact_id))


def send_survey(survey_id: int) -> str:
    """Send a due survey (the worker). It is claimed first (SENDING), so two workers never both
    send it; a worker that dies while sending leaves the claim to the sweep (`STALE_CLAIM`). A
    failure that may pass (the mail server is away) is tried again later, `MAX_ATTEMPTS` in all.
    Returns what became of it ("sent", "skipped", "failed", "scheduled" to try again, or "" when
    it was not due or someone else has it)."""
    survey = (
        Survey.objects.select_related(
            "conversation", "conversation__contact", "conversation__inbox", "inbox", "contact"
        )
        .filter(pk=survey_id)
        .first()
    )
    if survey is None:
        return ""
    moment = now()
    stale = survey.state == State.SENDING and survey.sent_at is not None and survey.sent_at <= moment - STALE_CLAIM
    if not stale and (survey.state != State.SCHEDULED or survey.due_at > moment):
        return ""
    conversation = survey.conversation
    reason = why_not(conversation)
    survey_settings = SurveySettings.objects.filter(inbox_id=survey.inbox_id).first()
    if not reason and (survey_settings is None or not survey_settings.enabled):
        reason = _("Surveys were turned off for the inbox.")
    send = delivery.sender_for(survey.channel_kind)
    if not reason and send is None:
        reason = _("This channel cannot carry surveys.")
    if reason:
        Survey.objects.filter(pk=survey.pk, state=survey.state).update(state=State.SKIPPED, reason=reason[:200])
        _changed(survey)
        return State.SKIPPED
    assert survey_settings is not None and send is not None
    language = _language(conversation)
    first, second = questions(survey_settings, language)
    claimed = Survey.objects.filter(pk=survey.pk, state=survey.state, sent_at=survey.sent_at).update(
        state=State.SENDING, sent_at=moment, expires_at=moment + LINK_VALID, attempts=survey.attempts + 1,
        question=first, second_question=second, language=language,
    )  # fmt: skip
    if not claimed:
        return ""  # another worker took it just now
    survey.refresh_from_db()
    token = token_of(survey)
    outgoing = delivery.Outgoing(
        survey=survey, token=token, page_url=page_url(token), score_urls=[(n, page_url(token, n)) for n in range(1, 6)],
        question=first, second_question=second, language=language,
    )  # fmt: skip
    try:
        with translation.override(language):
            send(outgoing)
    except delivery.NotDeliverable as why:
        Survey.objects.filter(pk=survey.pk).update(state=State.SKIPPED, reason=str(why)[:200])
        _changed(survey)
        return State.SKIPPED
    except Exception as error:
        log.warning("survey %s could not be sent (attempt %s): %s", survey.pk, survey.attempts, error)
        if survey.attempts < MAX_ATTEMPTS:  # the mail server may be back in a while
            Survey.objects.filter(pk=survey.pk, state=State.SENDING).update(
                state=State.SCHEDULED, due_at=now() + RETRY_AFTER * survey.attempts, reason=str(error)[:200]
            )
            return State.SCHEDULED
        Survey.objects.filter(pk=survey.pk, state=State.SENDING).update(state=State.FAILED, reason=str(error)[:200])
        _changed(survey)
        return State.FAILED
    Survey.objects.filter(pk=survey.pk, state=State.SENDING).update(state=State.SENT, reason="")
    _changed(survey)
    audit(survey.conversation.account, None, "feedback.survey_sent", survey, conversation_id=conversation.pk)
    return State.SENT


# ---------------------------------------------------------------------------- answering
def survey_for_token(token: Any) -> Survey:
    """The survey a link names, or ValidationError: a link that is not Samtale's, another
    survey's, or older than 14 days (said the same way: nothing about whose it is)."""
    text = str(token or "")
    try:
        if len(text) > TOKEN_LIMIT:
            raise signing.BadSignature
        payload = signing.TimestampSigner(salt=SALT).unsign_object(text, max_age=LINK_VALID)
        survey_id, conversation_id = int(payload["s"]), int(payload["c"])
    except signing.SignatureExpired:
        raise ValidationError(_("This survey link has expired."), code="expired") from None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise ValidationError(_("This survey link is not valid."), code="invalid") from None
    survey = (
        Survey.objects.select_related("inbox", "account")
        .filter(pk=survey_id, conversation_id=conversation_id, state__in=[State.SENT, State.SENDING])
        .first()
    )
    if survey is None:
        raise ValidationError(_("This survey link is not valid."), code="invalid")
    if survey.expires_at is not None and survey.expires_at <= now():
        raise ValidationError(_("This survey link has expired."), code="expired")
    return survey


def can_change(survey: Survey) -> bool:
    return survey.answered_at is None or now() - survey.answered_at < EDITABLE_FOR


def _answer_text(value: Any, label: str) -> str:
    text = "".join(ch for ch in str(value or "") if ch in "\n\t" or ch >= " ").strip()
    if len(text) > COMMENT_LIMIT:
        raise ValidationError(
            _("%(field)s is at most %(n)s characters.") % {"field": label, "n": COMMENT_LIMIT}, code="too_long"
        )
    return text


def parse_score(value: Any) -> int:
    try:
        score = int(str(value).strip())
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise ValidationError(_("Choose a number from 1 to 5."), code="invalid")
    return score


def answer(token: Any, *, score: Any, comment: Any = "", second_answer: Any = "") -> Survey:
    """The customer's answer (from the comment page or the chat widget; no sign-in, the signed
    link is the proof). A second answer within 24 hours replaces the first."""
    survey = survey_for_token(token)
    score_value = parse_score(score)
    comment_text = _answer_text(comment, _("The comment"))
    second_text = _answer_text(second_answer, _("The answer"))
    with transaction.atomic():
        survey = Survey.objects.select_for_update(of=("self",)).select_related("account", "contact").get(pk=survey.pk)
        if not can_change(survey):
            raise ValidationError(_("This answer can no longer be changed."), code="locked")
        first = survey.answered_at is None
        moment = now()
        survey.score, survey.comment, survey.second_answer = score_value, comment_text, second_text
        survey.changed_at = moment
        if first:
            survey.answered_at = moment
        survey.save(update_fields=["score", "comment", "second_answer", "answered_at", "changed_at"])
        # inbox_id: the line shows only to those with access to the inbox (crm.queries.timeline_page)
        data = {"score": score_value, "comment": comment_text[:500], "conversation_id": survey.conversation_id,
                "inbox_id": survey.inbox_id}  # fmt: skip
        if survey.contact is not None:
            if first:
                add_timeline_entry(
                    survey.contact, kind="feedback.answered", at=moment, subject_type="survey",
                    subject_id=survey.pk, title=survey.question[:300], data=data,
                )  # fmt: skip
            else:
                TimelineEntry.objects.filter(subject_type="survey", subject_id=survey.pk).update(data=data)
        audit(survey.account, None, "feedback.answered" if first else "feedback.changed", survey, score=score_value)
        _changed(survey)
    return survey


# ---------------------------------------------------------------------------- the CRM's hooks
def contacts_merged(keep: Contact, merged: Contact, acting_user: User | None) -> None:
    Survey.objects.filter(contact=merged).update(contact=keep)


def contact_data(contact: Contact) -> tuple[str, Any, list[tuple[str, str]]]:
    rows = Survey.objects.filter(contact=contact).exclude(score=None).order_by("answered_at", "id")
    return "feedback", [
        {"conversation_id": s.conversation_id, "question": s.question, "score": s.score, "comment": s.comment,
         "second_question": s.second_question, "second_answer": s.second_answer,
         "answered": s.answered_at.isoformat() if s.answered_at else None}
        for s in rows
    ], []  # fmt: skip


def forget_contact(contact: Contact, acting_user: User | None) -> tuple[str, int]:
    """Erasing a person erases what they wrote; the score stays in the inbox's figures, nobody's."""
    return "feedback", Survey.objects.filter(contact=contact).update(contact=None, comment="", second_answer="")


def conversations_deleting(conversations: list[Conversation], acting_user: User | None) -> None:
    """A conversation deleted for good takes its survey (the foreign key) and its timeline line."""
    from samtale.crm.actions import forget_timeline_subjects

    ids = list(Survey.objects.filter(conversation__in=[c.pk for c in conversations]).values_list("pk", flat=True))
    forget_timeline_subjects("survey", ids)
