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


class Heartbeat(models.Model):
    """The newest sign of life of one long-running loop in one process (`core.loops`)."""

    name = models.CharField(max_length=64)  # e.g. "worker", "scheduler", "mail-ingest", "imap-7"
    process = models.CharField(max_length=255)  # host:pid
    beat_at = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)  # in a row, at the last beat
    total_failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "process"], name="heartbeat_name_process")]
        indexes = [models.Index(fields=["name", "beat_at"])]

    def __str__(self) -> str:
        return f"{self.name}@{self.process}"
