from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from samtale.core.clock import now


class Profile(models.Model):
    """A user's availability settings."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability")
    time_zone = models.CharField(max_length=64, default="Europe/Oslo")

    def __str__(self) -> str:
        return f"{self.user_id} ({self.time_zone})"


class WorkingHours(models.Model):
    """One weekly range of working time, in the user's zone; end <= start runs past midnight."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField()  # 0 = Monday
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["weekday", "start", "id"]

    def __str__(self) -> str:
        return f"{self.weekday} {self.start}-{self.end}"


class OutOfOffice(models.Model):
    class Source(models.TextChoices):
        MANUAL = "manual", _("Manual")
        CALENDAR = "calendar", _("Calendar")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="out_of_office")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANUAL)
    external_uid = models.CharField(max_length=300, blank=True)
    title = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["user", "ends_at"])]

    def __str__(self) -> str:
        return f"{self.starts_at} - {self.ends_at}"


class StatusChange(models.Model):
    """A manual status change (append-only); the latest one counts."""

    class Kind(models.TextChoices):
        AVAILABLE = "available", _("Available")
        AWAY = "away", _("Away")
        TEMPORARY_AWAY = "temporary_away", _("Temporarily away")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="status_changes")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    until = models.DateTimeField(null=True, blank=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at", "-id"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} @ {self.created_at}"


class ManagementFilters(models.Model):
    """The availability management page's filters, saved for everyone in the account (B7)."""

    account = models.OneToOneField("accounts.Account", on_delete=models.CASCADE, related_name="+")
    filters = models.JSONField(default=dict, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"filters of {self.account_id}"


DEFAULT_OOO_KEYWORDS = "Out of office, OOO, Fravær, Utenfor kontoret, Ferie, Vacation, Holiday, Permisjon"


def new_feed_token() -> str:
    import secrets

    return secrets.token_urlsafe(24)


class CalendarFeed(models.Model):
    """A user's calendar sync (B6): an iCalendar feed polled for out-of-office events, and the
    secret token under which the user's own out-of-office ranges are published."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed")
    url = models.URLField(max_length=2000, blank=True)
    keywords = models.CharField(max_length=500, default=DEFAULT_OOO_KEYWORDS, blank=True)
    publish_token = models.CharField(max_length=64, unique=True, default=new_feed_token)
    etag = models.CharField(max_length=300, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_event_count = models.PositiveIntegerField(default=0)
    last_note = models.TextField(blank=True)  # what the bounds left out of the last sync or import

    def __str__(self) -> str:
        return f"calendar of {self.user_id}"

    def keyword_list(self) -> list[str]:
        return [k.strip().casefold() for k in self.keywords.split(",") if k.strip()]
