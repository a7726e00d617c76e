from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from samtale.core.clock import now


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Category(models.TextChoices):
    QUESTION = "question", _("Question")
    PROBLEM = "problem", _("Problem")
    FEATURE_REQUEST = "feature_request", _("Feature request")
    BILLING = "billing", _("Billing")
    OTHER = "other", _("Other")


class Ticket(models.Model):
    """A piece of support work moving through a pipeline's stages (D2), at most one per
    conversation (created from it; the link cannot be removed in the inbox). `closed_at` is set
    while its stage is a closed one; `reopen_stage` is where it goes back to when its conversation
    is reopened."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    pipeline = models.ForeignKey("crm.Pipeline", on_delete=models.PROTECT, related_name="+")
    stage = models.ForeignKey("crm.Stage", on_delete=models.PROTECT, related_name="+")
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.MEDIUM)
    category = models.CharField(max_length=16, choices=Category.choices, blank=True)
    owner = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    conversation = models.OneToOneField(
        "inbox.Conversation", null=True, blank=True, on_delete=models.CASCADE, related_name="ticket"
    )
    properties = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    closed_at = models.DateTimeField(null=True, blank=True)
    reopen_stage = models.ForeignKey("crm.Stage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [
            models.Index(fields=["account", "-created_at", "-id"], name="ticket_created"),
            models.Index(fields=["stage", "-updated_at", "-id"], name="ticket_board"),
            models.Index(fields=["account", "owner"], name="ticket_owner"),
            models.Index(fields=["contact", "-created_at"], name="ticket_contact"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None
