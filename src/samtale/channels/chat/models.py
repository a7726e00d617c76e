"""Website chat (E2): a chat channel's widget and the visitors who talk through it."""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from samtale.core.clock import now


def new_key() -> str:
    return secrets.token_urlsafe(12)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class Position(models.TextChoices):
    RIGHT = "right", _("Bottom right")
    LEFT = "left", _("Bottom left")


class ChatWidget(models.Model):
    """The embeddable widget of one chat channel: its public key (in the script's address), the
    secret sites sign visitors' identities with, where it may run, and how it looks."""

    channel = models.OneToOneField("inbox.Channel", on_delete=models.CASCADE, related_name="chat_widget")
    key = models.CharField(max_length=32, unique=True, default=new_key)
    secret = models.CharField(max_length=64, default=new_secret)
    allowed_origins = models.JSONField(default=list, blank=True)  # ["https://www.example.com"]; empty: none yet
    color = models.CharField(max_length=7, default="#2456d6")
    position = models.CharField(max_length=8, choices=Position.choices, default=Position.RIGHT)
    greeting_en = models.CharField(max_length=300, default="Hi! How can we help?")
    greeting_nb = models.CharField(max_length=300, default="Hei! Hva kan vi hjelpe deg med?")
    away_en = models.CharField(
        max_length=500, default="We are away right now. Leave your email and we will answer as soon as we are back."
    )
    away_nb = models.CharField(
        max_length=500,
        default="Vi er ikke til stede nå. Legg igjen e-postadressen din, så svarer vi når vi er tilbake.",
    )
    inactivity_minutes = models.PositiveIntegerField(default=30)  # a chat quiet this long ends

    def __str__(self) -> str:
        return f"chat widget {self.key}"


class Visitor(models.Model):
    """Someone on a site with the widget: kept across page loads and tabs by a signed token in the
    widget's storage; merged with a contact only when the site vouches for who it is (HMAC)."""

    widget = models.ForeignKey(ChatWidget, on_delete=models.CASCADE, related_name="visitors")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid.uuid4, unique=True)
    contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)  # given in the widget (unverified) or signed by the site
    verified = models.BooleanField(default=False)  # the site signed who this is (HMAC with the widget's secret)
    verified_id = models.CharField(max_length=200, blank=True)  # the site's own id for the person, when signed
    # An address this visitor proved they read (opened the transcript link sent there): transcripts
    # go there directly. Any other goes only after such a link (never a visitor's text to a stranger).
    proven_email = models.EmailField(blank=True)
    # The address the site signed (identity hash with an email): proven too. `email` is not: a
    # visitor may type another one there at any time, signed in or not.
    signed_email = models.EmailField(blank=True)
    current_url = models.URLField(max_length=2000, blank=True)
    page_title = models.CharField(max_length=300, blank=True)
    language = models.CharField(max_length=8, blank=True)
    last_seen_at = models.DateTimeField(default=now)
    created_at = models.DateTimeField(default=now)

    class Meta:
        indexes = [
            models.Index(
                fields=["widget", "verified_id"], condition=~models.Q(verified_id=""), name="visitor_verified_id"
            )
        ]

    def __str__(self) -> str:
        return f"visitor {self.uid}"

    @property
    def group(self) -> str:
        """The channel-layer group of the visitor's open widgets (every tab)."""
        return f"chat.visitor.{self.uid.hex}"


class ChatSession(models.Model):
    """One chat: a conversation the visitor talks in through the widget. It ends when it is closed
    or the visitor has been away `inactivity_minutes`; the visitor's next message starts another."""

    conversation = models.OneToOneField("inbox.Conversation", on_delete=models.CASCADE, related_name="chat")
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="chats")
    widget = models.ForeignKey(ChatWidget, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField(default=now)
    last_visitor_at = models.DateTimeField(default=now)  # the visitor's last message or sign of life
    visitor_read_up_to = models.BigIntegerField(default=0)  # the newest message id the visitor has seen
    team_read_up_to = models.BigIntegerField(default=0)  # the newest visitor message an agent has seen
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=16, blank=True)  # "closed", "inactive"
    transcript_sent_to = models.EmailField(blank=True)
    transcript_asked_to = models.EmailField(blank=True)  # the one unproven address this chat may be mailed to
    # chatflow (bot) state: which flow, which step is waiting for an answer, what was collected
    flow = models.ForeignKey("Chatflow", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    flow_step = models.CharField(max_length=40, blank=True)
    flow_answers = models.JSONField(default=dict, blank=True)
    handed_over_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["visitor"], condition=models.Q(ended_at=None), name="chat_open_by_visitor"),
            models.Index(fields=["last_visitor_at"], condition=models.Q(ended_at=None), name="chat_open_by_activity"),
        ]

    def __str__(self) -> str:
        return f"chat {self.conversation_id}"


class Chatflow(models.Model):
    """A bot (E3): steps that greet visitors on matching pages, ask, branch and hand over."""

    widget = models.ForeignKey(ChatWidget, on_delete=models.CASCADE, related_name="chatflows")
    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    url_contains = models.CharField(max_length=300, blank=True)  # empty: every page
    when = models.CharField(
        max_length=8,
        choices=[
            ("always", _("Always")),
            ("away", _("When the team is away")),
            ("online", _("When someone is available")),
        ],
        default="always",
    )
    steps = models.JSONField(default=list)  # validated by chat.flows.validate_steps
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name
