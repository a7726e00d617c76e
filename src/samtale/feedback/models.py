"""Customer satisfaction surveys (D3): each inbox's settings, and one survey per closed
conversation, from scheduled to sent to answered (or skipped, with why)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from samtale.core.clock import now

QUESTION_LIMIT = 300
COMMENT_LIMIT = 2000
MAX_DELAY_MINUTES = 7 * 24 * 60


class SurveySettings(models.Model):
    """An inbox's survey: off until someone turns it on. Empty questions are Samtale's own words."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    inbox = models.OneToOneField("inbox.Inbox", on_delete=models.CASCADE, related_name="survey_settings")
    enabled = models.BooleanField(default=False)
    delay_minutes = models.PositiveIntegerField(default=60)
    question_nb = models.CharField(max_length=QUESTION_LIMIT, blank=True)
    question_en = models.CharField(max_length=QUESTION_LIMIT, blank=True)
    second_nb = models.CharField(max_length=QUESTION_LIMIT, blank=True)
    second_en = models.CharField(max_length=QUESTION_LIMIT, blank=True)
    updated_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"survey settings of inbox {self.inbox_id}"


class State(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    SKIPPED = "skipped", _("Not sent")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Could not be sent")


class Survey(models.Model):
    """The survey of one conversation (at most one, ever): its link is valid 14 days from
    `sent_at`, an answer can be changed for 24 hours after the first one. `agent` is who owned
    the conversation when it closed (whose help is rated); the questions are copied when sent.
    SENDING is a claim (`sent_at` its time): a worker that died while sending leaves it to the
    sweep after a while; SENT is final (never sent twice), SKIPPED, CANCELLED and FAILED are
    scheduled again when the conversation closes again (the reason may be gone)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    inbox = models.ForeignKey("inbox.Inbox", on_delete=models.CASCADE, related_name="+")
    conversation = models.OneToOneField("inbox.Conversation", on_delete=models.CASCADE, related_name="survey")
    contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agent = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel_kind = models.CharField(max_length=16)
    language = models.CharField(max_length=8, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.SCHEDULED)
    attempts = models.PositiveSmallIntegerField(default=0)  # tries to send it (a transient failure retries)
    reason = models.CharField(max_length=200, blank=True)  # why skipped or failed
    due_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    question = models.CharField(max_length=QUESTION_LIMIT, blank=True)
    second_question = models.CharField(max_length=QUESTION_LIMIT, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)
    second_answer = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)  # the first answer (the 24 h start)
    changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        indexes = [
            models.Index(fields=["state", "due_at"], name="survey_due"),
            models.Index(fields=["contact", "-answered_at"], name="survey_contact"),
            models.Index(fields=["account", "-answered_at", "-id"], name="survey_answered"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__gte=1, score__lte=5), name="survey_score_1_5"
            )
        ]

    def __str__(self) -> str:
        return f"survey of conversation {self.conversation_id}"

    @property
    def answered(self) -> bool:
        return self.score is not None
