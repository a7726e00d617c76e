"""REST API of the chat channel: its widget (embed snippet, sites, look) and chatflows (mounted by
`samtale.api`)."""

from __future__ import annotations

from typing import Any, cast

from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema

from samtale.accounts.access import require_permission
from samtale.accounts.models import User
from samtale.channels.chat.models import Chatflow, ChatWidget
from samtale.core.schema_types import PathId
from samtale.inbox.access import access_channel

router = Router()


class WidgetOut(Schema):
    channel_id: int
    key: str
    script_url: str
    embed_snippet: str = Field(description="The tag to put on the site's pages")
    allowed_origins: list[str]
    color: str
    position: str
    greeting_en: str
    greeting_nb: str
    away_en: str
    away_nb: str
    inactivity_minutes: int
    identity_secret: str | None = Field(description="Only for those with the inbox settings permission")


class WidgetIn(Schema):
    allowed_origins: list[str] | None = Field(None, max_length=50)
    color: str | None = Field(None, max_length=7)
    position: str | None = Field(None, max_length=8)
    greeting_en: str | None = Field(None, max_length=300)
    greeting_nb: str | None = Field(None, max_length=300)
    away_en: str | None = Field(None, max_length=500)
    away_nb: str | None = Field(None, max_length=500)
    inactivity_minutes: int | None = Field(None, ge=5, le=24 * 60)


class ChatflowIn(Schema):
    name: str = Field(max_length=100)
    enabled: bool = True
    url_contains: str = Field("", max_length=300)
    when: str = Field("always", description="always, away or online")
    position: int = Field(0, ge=0, le=1000)
    steps: list[dict[str, Any]] = Field(max_length=50, description="See the chatflow documentation (chat.flows)")


class ChatflowOut(Schema):
    id: int
    name: str
    enabled: bool
    url_contains: str
    when: str
    position: int
    steps: list[dict[str, Any]]


def _widget(user: User, channel_id: int) -> ChatWidget:
    channel = access_channel(user, channel_id)
    widget = ChatWidget.objects.filter(channel=channel).select_related("channel").first()
    if widget is None:
        raise Http404("Not a chat channel")
    return widget


def _out(user: User, widget: ChatWidget) -> dict[str, Any]:
    from django.conf import settings

    from samtale.channels.chat.views import snippet

    can_edit = user.membership.has_permission("inbox_settings")
    return {
        "channel_id": widget.channel_id, "key": widget.key,
        "script_url": f"{settings.SAMTALE_PUBLIC_URL.rstrip('/')}/widget/{widget.key}.js",
        "embed_snippet": snippet(widget), "allowed_origins": widget.allowed_origins, "color": widget.color,
        "position": widget.position, "greeting_en": widget.greeting_en, "greeting_nb": widget.greeting_nb,
        "away_en": widget.away_en, "away_nb": widget.away_nb, "inactivity_minutes": widget.inactivity_minutes,
        "identity_secret": widget.secret if can_edit else None,
    }  # fmt: skip


@router.get("/channels/{channel_id}/chat-widget", response=WidgetOut, tags=["channels"])
def get_widget(request: HttpRequest, channel_id: PathId) -> dict[str, Any]:
    """A chat channel's widget: the embed snippet, allowed sites and look."""
    user = cast(User, request.auth)  # type: ignore[attr-defined]
    return _out(user, _widget(user, channel_id))


@router.patch("/channels/{channel_id}/chat-widget", response=WidgetOut, tags=["channels"])
def patch_widget(request: HttpRequest, channel_id: PathId, payload: WidgetIn) -> dict[str, Any]:
    from samtale.channels.chat.actions import configure_widget

    user = cast(User, request.auth)  # type: ignore[attr-defined]
    widget = configure_widget(_widget(user, channel_id), acting_user=user, **payload.dict(exclude_none=True))
    return _out(user, widget)


def _flow_out(flow: Chatflow) -> dict[str, Any]:
    return {"id": flow.pk, "name": flow.name, "enabled": flow.enabled, "url_contains": flow.url_contains,
            "when": flow.when, "position": flow.position, "steps": flow.steps}  # fmt: skip


@router.get("/channels/{channel_id}/chatflows", response=list[ChatflowOut], tags=["channels"])
def list_chatflows(request: HttpRequest, channel_id: PathId) -> list[dict[str, Any]]:
    user = cast(User, request.auth)  # type: ignore[attr-defined]
    return [_flow_out(f) for f in _widget(user, channel_id).chatflows.all()]


@router.post("/channels/{channel_id}/chatflows", response={201: ChatflowOut}, tags=["channels"])
def create_chatflow(request: HttpRequest, channel_id: PathId, payload: ChatflowIn) -> tuple[int, dict[str, Any]]:
    from samtale.channels.chat.actions import save_chatflow

    user = cast(User, request.auth)  # type: ignore[attr-defined]
    flow = save_chatflow(_widget(user, channel_id), None, acting_user=user, **payload.dict())
    return 201, _flow_out(flow)


@router.put("/channels/{channel_id}/chatflows/{flow_id}", response=ChatflowOut, tags=["channels"])
def update_chatflow(request: HttpRequest, channel_id: PathId, flow_id: PathId, payload: ChatflowIn) -> dict[str, Any]:
    from samtale.channels.chat.actions import save_chatflow

    user = cast(User, request.auth)  # type: ignore[attr-defined]
    widget = _widget(user, channel_id)
    flow = widget.chatflows.filter(pk=flow_id).first()
    if flow is None:
        raise Http404("No such chatflow")
    return _flow_out(save_chatflow(widget, flow, acting_user=user, **payload.dict()))


@router.delete("/channels/{channel_id}/chatflows/{flow_id}", response={204: None}, tags=["channels"])
def delete_chatflow(request: HttpRequest, channel_id: PathId, flow_id: PathId) -> tuple[int, None]:
    from samtale.channels.chat.actions import delete_chatflow as delete

    user = cast(User, request.auth)  # type: ignore[attr-defined]
    widget = _widget(user, channel_id)
    flow = widget.chatflows.filter(pk=flow_id).first()
    if flow is None:
        raise Http404("No such chatflow")
    require_permission(user, "inbox_settings")
    delete(flow, acting_user=user)
    return 204, None
