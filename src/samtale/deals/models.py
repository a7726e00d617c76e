from __future__ import annotations

from django.db import models

from samtale.core.clock import now

CURRENCIES = ("NOK", "SEK", "DKK", "EUR", "USD", "GBP", "ISK", "CHF")


class Deal(models.Model):
    """A sale in progress (D3): a deal pipeline's stage gives its win probability and, in a
    closed stage, that it is won or lost. Associated with contacts (several) and a company, and
    with the conversation it was created from, if any."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    pipeline = models.ForeignKey("crm.Pipeline", on_delete=models.PROTECT, related_name="+")
    stage = models.ForeignKey("crm.Stage", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="NOK")
    close_date = models.DateField(null=True, blank=True)
    owner = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    contacts = models.ManyToManyField("crm.Contact", blank=True, related_name="deals")
    company = models.ForeignKey("crm.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="deals")
    conversation = models.ForeignKey(
        "inbox.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["account", "-created_at", "-id"], name="deal_created"),
            models.Index(fields=["stage", "-updated_at", "-id"], name="deal_board"),
            models.Index(fields=["company"], name="deal_company"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def probability(self) -> int | None:
        return self.stage.probability
