"""The chat channel's HTTP side: the widget script customers embed, files visitors send and open,
and the widget's settings (appearance, sites, identity secret, chatflows)."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from samtale.accounts.access import membership_of, require_permission
from samtale.accounts.http import acting, action_view, member_required
from samtale.channels.chat import actions, flows
from samtale.channels.chat.files import UploadRefused, sniff_upload
from samtale.channels.chat.forms import ChatflowForm, WidgetForm
from samtale.channels.chat.identity import uid_from_token
from samtale.channels.chat.models import Chatflow, ChatWidget
from samtale.channels.chat.queries import attachment_for_visitor, message_json, widget_by_key
from samtale.core.ratelimit import hit
from samtale.inbox.access import access_channel
from samtale.inbox.models import INLINE_IMAGE_TYPES

WIDGET_SOURCE = Path(__file__).parent / "static" / "chat" / "widget.js"


@cache
def _widget_code() -> str:
    return WIDGET_SOURCE.read_text(encoding="utf-8")


def widget_config(widget: ChatWidget, *, preview: bool = False) -> dict[str, Any]:
    """What the script knows before it connects: how it looks and what it says (public by nature)."""
    return {
        "key": widget.key,
        "color": widget.color,
        "position": widget.position,
        "greeting": {"en": widget.greeting_en, "nb": widget.greeting_nb},
        "away": {"en": widget.away_en, "nb": widget.away_nb},
        "title": widget.channel.inbox.name,
        "maxFile": settings.SAMTALE_CHAT_MAX_FILE_BYTES,
        "preview": preview,
    }


@require_GET
def widget_script(request: HttpRequest, key: str) -> HttpResponse:
    """`<script src="https://<host>/widget/<key>.js" async>`: the widget with its settings."""
    widget = widget_by_key(key)
    if widget is None:
        raise Http404("No such chat widget")
    config = json.dumps(widget_config(widget, preview=request.GET.get("preview") == "1"), separators=(",", ":"))
    config = config.replace("<", "\\u003c")  # nothing in it can close a script element
    body = _widget_code().replace("/*__CONFIG__*/{}", config, 1)
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=300"  # settings changes reach sites within minutes
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _cors(response: HttpResponseBase, origin: str) -> HttpResponseBase:
    response["Access-Control-Allow-Origin"] = origin
    response["Vary"] = "Origin"
    return response


def _allowed_origin(request: HttpRequest, widget: ChatWidget) -> str:
    origin = request.headers.get("Origin", "").rstrip("/").lower()
    return origin if origin and origin in {o.lower() for o in widget.allowed_origins} else ""


@csrf_exempt  # a visitor's browser on a customer's site: the token and the allowed origin authorize it
@require_http_methods(["POST"])
def upload(request: HttpRequest, key: str) -> HttpResponseBase:
    """A visitor sends a file (with optional text): stored as their message, acknowledged like one
    sent over the socket (same client id: a retried upload is stored once)."""
    widget = widget_by_key(key)
    if widget is None:
        raise Http404("No such chat widget")
    origin = _allowed_origin(request, widget)
    if not origin:
        return JsonResponse({"error": "origin_refused", "message": "This site may not use this chat."}, status=403)
    if not hit(f"chat-upload:{request.META.get('REMOTE_ADDR', '')}", settings.SAMTALE_CHAT_SEND_IP_RATE):
        return _cors(
            JsonResponse({"error": "rate_limited", "message": _("Too many files; try again in a minute.")}, status=429),
            origin,
        )
    if int(request.META.get("CONTENT_LENGTH") or 0) > settings.SAMTALE_CHAT_MAX_FILE_BYTES + 64 * 1024:
        # refused before the body is read: nothing of it is streamed to disk
        message = _("The file is too large (at most %(mb)s MB).") % {
            "mb": settings.SAMTALE_CHAT_MAX_FILE_BYTES // (1024 * 1024)
        }
        return _cors(JsonResponse({"error": "too_large", "message": message}, status=413), origin)
    uid = uid_from_token(widget.key, request.POST.get("token"))
    upload_file = request.FILES.get("file")
    if upload_file is None:
        return _cors(JsonResponse({"error": "invalid", "message": _("Choose a file to send.")}, status=400), origin)
    try:
        part = sniff_upload(upload_file, settings.SAMTALE_CHAT_MAX_FILE_BYTES)
    except UploadRefused as refused:
        return _cors(JsonResponse({"error": refused.code, "message": str(refused)}, status=refused.status), origin)
    try:
        said = actions.visitor_says(
            widget, uid, client_id=request.POST.get("client_id"), text=request.POST.get("text", ""),
            url=request.POST.get("url", ""), attachments=[part],
        )  # fmt: skip
    except ValidationError as error:
        return _cors(JsonResponse({"error": "invalid", "message": " ".join(error.messages)}, status=400), origin)
    body = {
        "type": "ack", "client_id": request.POST.get("client_id"), "id": said.message.pk, "token": said.token,
        "message": message_json(said.message, widget, said.visitor),
    }  # fmt: skip
    return _cors(JsonResponse(body), origin)


@require_GET
def visitor_file(request: HttpRequest, key: str, signed: str) -> HttpResponseBase:
    """A file in a visitor's chat, by the signed link the widget was given (images shown inline,
    everything else downloaded; served with the same safe headers as email attachments)."""
    widget = widget_by_key(key)
    item = attachment_for_visitor(widget, signed) if widget is not None else None
    if item is None:
        raise Http404("No such file")
    inline = item.content_type in INLINE_IMAGE_TYPES
    response = FileResponse(
        item.file.open("rb"), as_attachment=not inline, filename=item.filename,
        content_type=item.content_type if inline else "application/octet-stream",
    )  # fmt: skip
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["Cache-Control"] = "private, no-cache"
    return response


# ---------------------------------------------------------------------------------- settings


def _widget_of(request: HttpRequest, channel_id: int) -> ChatWidget:
    channel = access_channel(acting(request), channel_id)
    widget = ChatWidget.objects.filter(channel=channel).select_related("channel", "channel__inbox").first()
    if widget is None:
        raise Http404("Not a chat channel")
    return widget


def _settings_page(
    request: HttpRequest, widget: ChatWidget, form: WidgetForm | None = None, status: int = 200
) -> HttpResponse:
    membership = membership_of(acting(request))
    return render(
        request,
        "chat/widget_settings.html",
        {
            "section": "inboxes",
            "widget": widget,
            "channel": widget.channel,
            "form": form or WidgetForm(instance=widget),
            "snippet": snippet(widget),
            "can_edit": membership.has_permission("inbox_settings"),
            "chatflows": list(widget.chatflows.all()),
            "public_url": settings.SAMTALE_PUBLIC_URL.rstrip("/"),
        },
        status=status,
    )


def snippet(widget: ChatWidget) -> str:
    return f'<script src="{settings.SAMTALE_PUBLIC_URL.rstrip("/")}/widget/{widget.key}.js" async></script>'


@member_required
def widget_settings(request: HttpRequest, channel_id: int) -> HttpResponse:
    widget = _widget_of(request, channel_id)
    if request.method != "POST":
        return _settings_page(request, widget)
    form = WidgetForm(request.POST, instance=widget)
    if not form.is_valid():
        return _settings_page(request, widget, form, status=400)
    try:
        actions.configure_widget(widget, acting_user=acting(request), **form.action_values())
    except ValidationError as error:
        form.add_error(None, error)
        return _settings_page(request, widget, form, status=400)
    except PermissionDenied:
        return HttpResponse(_("You need the inbox settings permission."), status=403)
    return redirect("chat_widget_settings", channel_id=channel_id)


@action_view
def rotate_secret(request: HttpRequest, channel_id: int) -> HttpResponse:
    widget = _widget_of(request, channel_id)
    actions.rotate_secret(widget, acting_user=acting(request))
    return redirect("chat_widget_settings", channel_id=channel_id)


@member_required
def chatflow_edit(request: HttpRequest, channel_id: int, flow_id: int | None = None) -> HttpResponse:
    widget = _widget_of(request, channel_id)
    flow = None
    if flow_id is not None:
        flow = Chatflow.objects.filter(pk=flow_id, widget=widget).first()
        if flow is None:
            raise Http404("No such chatflow")
    status = 200
    if request.method == "POST":
        require_permission(acting(request), "inbox_settings")
        form = ChatflowForm(request.POST)
        if form.is_valid():
            try:
                flow = actions.save_chatflow(widget, flow, acting_user=acting(request), **form.action_values())
                return redirect("chat_widget_settings", channel_id=channel_id)
            except ValidationError as error:
                form.add_error(None, error)
        status = 400
    else:
        form = ChatflowForm.for_flow(flow)
    return render(
        request, "chat/chatflow.html",
        {"section": "inboxes", "widget": widget, "channel": widget.channel, "flow": flow, "form": form,
         "step_types": flows.STEP_TYPES, "save_to": flows.SAVE_TO},
        status=status,
    )  # fmt: skip


@action_view
def chatflow_delete(request: HttpRequest, channel_id: int, flow_id: int) -> HttpResponse:
    widget = _widget_of(request, channel_id)
    flow = Chatflow.objects.filter(pk=flow_id, widget=widget).first()
    if flow is None:
        raise Http404("No such chatflow")
    actions.delete_chatflow(flow, acting_user=acting(request))
    return redirect("chat_widget_settings", channel_id=channel_id)


@require_http_methods(["GET", "POST"])
def transcript_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link in "confirm your address to get the chat": whoever reads that mailbox proves it
    (no sign-in; the signed token is the proof). A button, not the GET: link checkers and previews
    must not send mail. The page speaks the visitor's language."""
    from django.utils import translation

    if not hit(f"chat-transcript-link:{request.META.get('REMOTE_ADDR', '')}", "30/m"):
        return HttpResponse(_("Too many requests; try again in a minute."), status=429, content_type="text/plain")
    target = actions.transcript_link_target(token)
    if target is None:
        raise Http404("No such link")
    chat, email = target
    language = chat.visitor.language if chat.visitor.language in ("en", "nb") else settings.LANGUAGE_CODE
    with translation.override(language):
        context: dict[str, Any] = {"chat": chat, "email": email, "sent": False, "error": "", "lang": language}
        if request.method == "POST":
            try:
                actions.confirm_transcript(token)
                context["sent"] = True
            except ValidationError as error:
                context["error"] = " ".join(error.messages)
        return render(request, "chat/transcript_confirm.html", context, status=429 if context["error"] else 200)
