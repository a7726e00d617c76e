from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower

from samtale.core.clock import now


class Contact(models.Model):
    """A customer. The CRM issue extends it (properties, company, timeline)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=now)

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
