"""REST API of the email channel: its own SMTP and IMAP servers (mounted by `samtale.api`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django.http import HttpRequest
from ninja import Field, Router, Schema

from samtale.accounts.models import User
from samtale.core.schema_types import PathId, Port
from samtale.inbox.access import access_channel

router = Router()


class MailServerIn(Schema):
    smtp_host: str = Field("", max_length=255)
    smtp_port: Port = 587
    smtp_security: str = Field("starttls", description="none, starttls or tls")
    smtp_username: str = ""
    smtp_password: str = Field("", description="empty keeps the stored password")
    imap_host: str = Field("", max_length=255)
    imap_port: Port = 993
    imap_security: str = Field("tls", description="none, starttls or tls")
    imap_username: str = ""
    imap_password: str = Field("", description="empty keeps the stored password")
    imap_folder: str = "INBOX"


class MailServerOut(Schema):
    channel_id: int
    smtp_host: str
    smtp_port: int
    smtp_security: str
    smtp_username: str
    smtp_password_set: bool
    imap_host: str
    imap_port: int
    imap_security: str
    imap_username: str
    imap_password_set: bool
    imap_folder: str
    imap_polled_at: datetime | None
    imap_error: str


def _mail_server_out(channel_id: int, server: Any) -> dict[str, Any]:
    from samtale.channels.email.models import MailServer

    server = server or MailServer(channel_id=channel_id)
    return {
        "channel_id": channel_id, "smtp_host": server.smtp_host, "smtp_port": server.smtp_port,
        "smtp_security": server.smtp_security, "smtp_username": server.smtp_username,
        "smtp_password_set": bool(server.smtp_password), "imap_host": server.imap_host, "imap_port": server.imap_port,
        "imap_security": server.imap_security, "imap_username": server.imap_username,
        "imap_password_set": bool(server.imap_password), "imap_folder": server.imap_folder,
        "imap_polled_at": server.imap_polled_at, "imap_error": server.imap_error,
    }  # fmt: skip


@router.get("/channels/{channel_id}/mail-server", response=MailServerOut, tags=["channels"])
def get_mail_server(request: HttpRequest, channel_id: PathId) -> dict[str, Any]:
    """An email channel's own SMTP/IMAP servers (passwords are never returned)."""
    from samtale.accounts.access import require_permission
    from samtale.channels.email.models import MailServer

    user = cast(User, request.auth)  # type: ignore[attr-defined]
    channel = access_channel(user, channel_id)
    require_permission(user, "inbox_settings")
    return _mail_server_out(channel.pk, MailServer.objects.filter(channel=channel).first())


@router.put("/channels/{channel_id}/mail-server", response=MailServerOut, tags=["channels"])
def put_mail_server(request: HttpRequest, channel_id: PathId, payload: MailServerIn) -> dict[str, Any]:
    from samtale.channels.email.actions import configure_mail_server

    user = cast(User, request.auth)  # type: ignore[attr-defined]
    channel = access_channel(user, channel_id)
    return _mail_server_out(channel.pk, configure_mail_server(channel, acting_user=user, **payload.dict()))
