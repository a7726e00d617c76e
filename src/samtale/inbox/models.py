from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Inbox(models.Model):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="inboxes")
    name = models.CharField(max_length=200)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="inboxes", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ChannelKind(models.TextChoices):
    EMAIL = "email", _("Email")
    CHAT = "chat", _("Chat")
    MESSENGER = "messenger", _("Messenger")
    FORM = "form", _("Form")
    CALL = "call", _("Call")


class Channel(models.Model):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=254, blank=True, help_text="Email address, page id or phone number")
    config = models.JSONField(default=dict, blank=True)
    broken_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # An email address must be proven before mail to it is delivered (mail.verification): until
    # then several accounts may claim it, and whoever proves it gets its mail.
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "address"], condition=~Q(address="") & Q(verified_at__isnull=False),
                name="channel_verified_address_unique",
            ),
            models.UniqueConstraint(
                fields=["account", "kind", "address"], condition=~Q(address=""), name="channel_account_address_unique"
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"

    @property
    def mail_server_or_none(self) -> Any:
        try:
            return self.mail_server
        except Exception:  # MailServer.DoesNotExist
            return None

    @property
    def routing_rule_or_none(self) -> Any:
        try:
            return self.routing_rule
        except Exception:  # RoutingRule.DoesNotExist, without importing the routing app here
            return None


class Status(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Conversation(models.Model):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="conversations")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="conversations")
    # Denormalized from the channel so view filters need no join.
    channel_kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    subject = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_conversations"
    )
    # The last owner whose removal from the account unassigned this conversation (C1, C2 filter).
    removed_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    bot = models.CharField(max_length=100, blank=True, help_text="Chatflow holding the conversation")
    # An outbound email the contact has not answered yet: shown in Sent, not in All open.
    awaiting_first_reply = models.BooleanField(default=False)
    spam_at = models.DateTimeField(null=True, blank=True)
    filtered_at = models.DateTimeField(null=True, blank=True)
    trashed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    last_activity_at = models.DateTimeField()
    preview = models.CharField(max_length=200, blank=True)
    message_count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["inbox", "-last_activity_at", "-id"], name="conv_inbox_activity"),
            models.Index(
                fields=["inbox", "-last_activity_at", "-id"],
                condition=Q(status="open", spam_at=None, filtered_at=None, trashed_at=None),
                name="conv_inbox_live_open",
            ),
            models.Index(
                fields=["inbox", "owner", "-last_activity_at", "-id"],
                condition=Q(status="open", spam_at=None, filtered_at=None, trashed_at=None),
                name="conv_inbox_owner_open",
            ),
            models.Index(
                fields=["inbox", "channel_kind", "-last_activity_at", "-id"],
                condition=Q(spam_at=None, filtered_at=None, trashed_at=None),
                name="conv_inbox_kind_live",
            ),
            models.Index(
                fields=["inbox", "-last_activity_at", "-id"],
                condition=Q(status="closed", spam_at=None, filtered_at=None, trashed_at=None),
                name="conv_inbox_live_closed",
            ),
            models.Index(
                fields=["inbox", "-last_activity_at", "-id"],
                condition=Q(awaiting_first_reply=True, spam_at=None, filtered_at=None, trashed_at=None),
                name="conv_inbox_sent",
            ),
            models.Index(
                fields=["inbox", "-last_activity_at", "-id"],
                condition=Q(trashed_at=None) & ~Q(spam_at=None),
                name="conv_inbox_spam",
            ),
            models.Index(
                fields=["inbox", "-last_activity_at", "-id"],
                condition=Q(trashed_at=None, spam_at=None) & ~Q(filtered_at=None),
                name="conv_inbox_filtered",
            ),
            models.Index(
                fields=["inbox", "-last_activity_at", "-id"], condition=~Q(trashed_at=None), name="conv_inbox_trash"
            ),
            models.Index(fields=["account", "contact"]),
            models.Index(fields=["trashed_at"], condition=~Q(trashed_at=None), name="conv_trash_purge"),
            # the bot names of an inbox, read by skipping from one name to the next (`bot_names`)
            models.Index(fields=["inbox", "bot"], name="conv_inbox_bot"),
        ]

    def __str__(self) -> str:
        return self.subject or f"Conversation {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status == Status.OPEN


class Direction(models.TextChoices):
    INBOUND = "in", _("Inbound")
    OUTBOUND = "out", _("Outbound")


class DeliveryStatus(models.TextChoices):
    NONE = "", _("Received")
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Message(models.Model):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    channel_kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sender_name = models.CharField(max_length=200, blank=True)
    sender_address = models.CharField(max_length=254, blank=True)
    recipients = models.JSONField(default=list, blank=True)
    text = models.TextField(blank=True)
    html = models.TextField(blank=True, help_text="Sanitized HTML")
    external_id = models.CharField(max_length=998, blank=True, help_text="Message-ID or the channel's id")
    delivery_status = models.CharField(
        max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.NONE, blank=True
    )
    delivery_error = models.TextField(blank=True)
    # database defaults too, so bulk SQL loaders (benchmarks, imports) need not know these columns
    delivery_attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    quoted_html = models.TextField(
        blank=True, default="", db_default="", help_text="Sanitized quoted history and signature, shown on demand"
    )
    auto_reply = models.BooleanField(
        default=False, db_default=False, help_text="An automatic reply (out of office, autoresponder)"
    )
    forwarded = models.BooleanField(default=False, db_default=False, help_text="Forwarded to an outside address")
    via_channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Outbound: the channel it is sent through (a chat answered by email: the inbox's email channel)",
    )  # fmt: skip
    sender_not_verified = models.BooleanField(
        default=False, db_default=False, help_text="Claims a teammate's address but could not be authenticated"
    )
    reply_to = models.CharField(
        max_length=254, blank=True, default="", db_default="",
        help_text="Inbound email: the address its sender asked replies to go to (Reply-To), when not the sender's",
    )  # fmt: skip
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hidden_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["conversation", "created_at", "id"]),
            models.Index(fields=["account", "external_id"], condition=~Q(external_id=""), name="msg_external_id"),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} message {self.pk}"

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


# Only plain raster images are ever shown inline (never HTML or SVG): in threads and in the chat widget.
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def attachment_path(instance: Attachment, filename: str) -> str:
    import uuid

    return f"attachments/{instance.account_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file of a message (email attachments and inline images); the name is kept, the stored
    path is random so nothing about it can be guessed."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, default="application/octet-stream")
    size = models.PositiveBigIntegerField(default=0)
    content_id = models.CharField(max_length=255, blank=True)
    inline = models.BooleanField(default=False)
    file = models.FileField(upload_to=attachment_path, max_length=300)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


class Comment(models.Model):
    """An internal note on a thread, never sent to the contact."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField()
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["conversation", "created_at", "id"], name="comment_thread_order")]

    def __str__(self) -> str:
        return f"Comment {self.pk}"


class ReadMark(models.Model):
    """How far a teammate has read a conversation: every entry after `read_to` not written by them
    is new to them. A thread opens at the first such entry (C3); none yet: at the newest."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    read_to = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "conversation"], name="read_mark_once")]
        indexes = [models.Index(fields=["conversation"], name="read_mark_conversation")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.conversation_id} to {self.read_to}"


class NotificationKind(models.TextChoices):
    MENTION = "mention", _("Mention")
    ASSIGNMENT = "assignment", _("Assignment")


class Notification(models.Model):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    comment = models.ForeignKey(Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}"


class BlockedSender(models.Model):
    """A blocked email address or chat visitor: their conversations go to Filtered."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    value = models.CharField(max_length=254)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "kind", "value"], name="blocked_sender_unique")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class CustomView(models.Model):
    """A saved set of filters; private to its owner or shared with the inbox."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="custom_views")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    shared = models.BooleanField(default=False)
    filters = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def key(self) -> str:
        return f"custom-{self.pk}"


class ViewCount(models.Model):
    """The live count of a default view of an inbox, kept by the write path (inbox/counters.py).

    `user_id` is 0 for views that are the same for everyone, and the owner for "mine".
    """

    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=20)
    user_id = models.BigIntegerField(default=0)
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["inbox", "key", "user_id"], name="viewcount_unique")]

    def __str__(self) -> str:
        return f"{self.inbox_id}:{self.key}:{self.user_id}={self.count}"


class SearchBacklog(models.Model):
    """PostgreSQL: text a batch of arrivals added to conversations, indexed just after its commit
    (`search.drain`) so tokenising it is not part of storing the mail."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    text = models.TextField()

    def __str__(self) -> str:
        return f"search backlog {self.pk}"


class ConversationSearch(models.Model):
    """The searchable text of a conversation: subject, contact, and every message.

    The database indexes it: a generated tsvector with GIN on PostgreSQL, an FTS5 table
    kept in sync by triggers on SQLite (see migration 0002).
    """

    conversation = models.OneToOneField(Conversation, on_delete=models.CASCADE, primary_key=True, related_name="search")
    document = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"search {self.pk}"
