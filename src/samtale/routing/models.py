from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Method(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round robin")
    BALANCED = "balanced", _("Balanced (fewest open)")


class RoutingRule(models.Model):
    """How new conversations of one channel are assigned (B10)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    channel = models.OneToOneField("inbox.Channel", on_delete=models.CASCADE, related_name="routing_rule")
    enabled = models.BooleanField(default=True)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    teams = models.ManyToManyField("accounts.Team", blank=True, related_name="+")
    method = models.CharField(max_length=16, choices=Method.choices, default=Method.ROUND_ROBIN)
    capacity = models.PositiveIntegerField(null=True, blank=True, help_text="Most open conversations per person")
    reroute_when_owner_away = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"routing of channel {self.channel_id}"


class RoutingTurn(models.Model):
    """When each person last got a conversation from a rule: round robin picks the longest wait."""

    rule = models.ForeignKey(RoutingRule, on_delete=models.CASCADE, related_name="turns")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    sequence = models.BigIntegerField(default=0)
    assigned = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "user"], name="routing_turn_unique")]

    def __str__(self) -> str:
        return f"{self.rule_id}:{self.user_id}"
