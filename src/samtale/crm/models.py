from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower

from samtale.core.clock import now
from samtale.crm.identities import IdentityKind


class Contact(models.Model):
    """A customer: the "who" of conversations, found by their identities (`ContactIdentity`).
    `email` and `phone` are the ones shown first (the primary of each kind)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=now)
    # merged into another contact: kept only so links to it lead to the one it became
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [
            models.Index(Lower("email"), "account", name="contact_account_email"),
            models.Index(fields=["account", "name"]),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.email or self.phone or f"#{self.pk}"


class ContactIdentity(models.Model):
    """An address, number or id that is this contact's, one per account: mail from the address,
    a call from the number, a chat visitor, a Messenger user. Merging contacts moves them."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=16, choices=IdentityKind.choices)
    value = models.CharField(max_length=254)  # normalized (`identities.normalize`)
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "kind", "value"], name="identity_unique")]
        indexes = [models.Index(fields=["contact", "kind"], name="identity_contact")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class TimelineEntry(models.Model):
    """One thing on a contact's timeline, written by the action that did it (a conversation
    started, a note, a ticket changed …), so a page of the timeline is one indexed query. What it
    is about is named by `subject_type` and `subject_id`; `title` and `data` are what the row
    shows, copied when written (never a hidden message's text)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=40)  # "conversation.started", "note", "task", …
    at = models.DateTimeField(default=now)
    actor = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    subject_type = models.CharField(max_length=40, blank=True)  # "conversation", "ticket", …
    subject_id = models.BigIntegerField(null=True, blank=True)
    title = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["contact", "-at", "-id"], name="timeline_page"),
            models.Index(fields=["subject_type", "subject_id"], name="timeline_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d}"
