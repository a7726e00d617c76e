from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditLog(models.Model):
    """One row for every change made through an action: who did what to which object."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verb = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.BigIntegerField(null=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["account", "object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.verb} {self.object_type}:{self.object_id}"
