"""REST API: The account, inboxes and their channels."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from samtale.accounts.access import access_user, membership_of
from samtale.api import schemas as s
from samtale.api.common import _channel_out, _inbox_out, _user
from samtale.inbox import actions
from samtale.inbox.access import (
    access_inbox,
    access_inbox_settings,
    accessible_inboxes,
)

router = Router()


@router.get("/me", response=s.MeOut, tags=["account"])
def me(request: HttpRequest) -> dict[str, Any]:
    user = _user(request)
    m = membership_of(user)
    return {
        "id": user.pk, "email": user.email, "name": user.name, "language": user.language,
        "account_id": m.account_id, "account_name": m.account.name, "role": m.role,
        "permissions": sorted(set(m.permissions) | ({"availability_management", "inbox_settings", "hide_messages"} if m.is_super_admin else set())),
        "seat": m.seat,
    }  # fmt: skip


@router.get("/inboxes", response=list[s.InboxOut], tags=["inboxes"])
def list_inboxes(request: HttpRequest) -> list[dict[str, Any]]:
    inboxes = accessible_inboxes(_user(request)).prefetch_related("members", "channels")
    return [_inbox_out(i) for i in inboxes]


@router.post("/inboxes", response={201: s.InboxOut}, tags=["inboxes"])
def create_inbox(request: HttpRequest, payload: s.InboxIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    members = [access_user(user, pk) for pk in payload.member_ids]
    inbox = actions.create_inbox(membership_of(user).account, acting_user=user, name=payload.name, members=members)
    return 201, _inbox_out(inbox)


@router.get("/inboxes/{inbox_id}", response=s.InboxOut, tags=["inboxes"])
def get_inbox(request: HttpRequest, inbox_id: s.PathId) -> dict[str, Any]:
    return _inbox_out(access_inbox(_user(request), inbox_id))


@router.get("/inboxes/{inbox_id}/channels", response=list[s.ChannelOut], tags=["inboxes"])
def list_channels(request: HttpRequest, inbox_id: s.PathId) -> list[dict[str, Any]]:
    inbox = access_inbox(_user(request), inbox_id)
    return [_channel_out(c) for c in inbox.channels.all()]


@router.post("/inboxes/{inbox_id}/channels", response={201: s.ChannelOut}, tags=["inboxes"])
def create_channel(request: HttpRequest, inbox_id: s.PathId, payload: s.ChannelIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    inbox = access_inbox_settings(user, inbox_id)
    channel = actions.create_channel(
        inbox, acting_user=user, kind=payload.kind, name=payload.name, address=payload.address
    )
    return 201, _channel_out(channel)
