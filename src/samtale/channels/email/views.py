"""Settings → Mail intake: messages the ingest queue parked, their source, and retry."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render

from samtale.accounts.access import require_permission
from samtale.accounts.http import acting, action_view, form_error, member_required
from samtale.channels.email import actions, queries, verification
from samtale.channels.email.access import access_parked_email
from samtale.channels.email.forms import MailServerForm
from samtale.channels.email.models import RawEmail
from samtale.inbox.access import access_channel, access_message
from samtale.inbox.models import Channel, ChannelKind


@member_required
def intake_page(request: HttpRequest) -> HttpResponse:
    membership = require_permission(acting(request), "inbox_settings")
    return render(
        request,
        "mail/intake.html",
        {
            "section": "intake",
            "parked": queries.parked_rows(membership.account_id),
            "health": queries.intake_health(membership.account_id),
            "pending": queries.pending_count(),
        },
    )


MESSAGE_TYPES = ("message/rfc822", "message/global")


@member_required
def attached_message(request: HttpRequest, attachment_id: int) -> HttpResponse:
    """An attached email (a forward's original, a bounced message) shown as a message: its headers,
    its sanitized body (remote images blocked) and the names of its files. Only sanitized HTML
    reaches the page, which is sandboxed and may load nothing."""
    from samtale.channels.email.parse import parse_stream
    from samtale.core.html import sanitize, text_to_html
    from samtale.inbox.access import access_attachment

    item = access_attachment(acting(request), attachment_id)
    if item.content_type not in MESSAGE_TYPES:
        raise Http404("Not an attached message")
    with item.file.open("rb") as handle:
        parsed = parse_stream(handle, item.size)
    try:
        body = sanitize(parsed.html) if parsed.html else text_to_html(parsed.text)
        files = [part.filename for part in parsed.attachments]
    finally:
        parsed.discard()
    response = render(
        request,
        "mail/attached_message.html",
        {"item": item, "parsed": parsed, "body": body, "files": files},
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    response["Cache-Control"] = "private, no-cache"
    return response


def _source(raw: RawEmail, download_as: str = "") -> FileResponse:
    """A message exactly as it arrived, as plain text (streamed: it may be 50 MB), never rendered."""
    response = FileResponse(raw.open(), content_type="text/plain; charset=utf-8", as_attachment=bool(download_as),
                            filename=download_as)  # fmt: skip
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@member_required
def message_source(request: HttpRequest, message_id: int) -> HttpResponseBase:
    """ "View original" of a received message (not of a hidden one: its original is hidden with it)."""
    message = access_message(acting(request), message_id)
    raw = RawEmail.objects.filter(message=message).order_by("id").first() if message.hidden_at is None else None
    if raw is None:
        raise Http404("No original source for this message")
    return _source(raw)


@member_required
def parked_source(request: HttpRequest, raw_id: int) -> HttpResponseBase:
    raw = access_parked_email(acting(request), raw_id)
    return _source(raw, download_as=f"parked-{raw.pk}.eml")


@action_view
def channel_mail_server(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Settings → Inboxes and channels → Mail servers of one email channel."""
    user = acting(request)
    channel = access_channel(user, channel_id)
    form = MailServerForm(request.POST)
    if not form.is_valid():
        return form_error(form)
    actions.configure_mail_server(channel, acting_user=user, **form.cleaned_data)
    return redirect("settings_inboxes")


@action_view
def resend_verification(request: HttpRequest, channel_id: int) -> HttpResponse:
    user = acting(request)
    actions.request_verification(access_channel(user, channel_id), acting_user=user)
    return redirect("settings_inboxes")


def confirm_address(request: HttpRequest, channel_id: int, token: str) -> HttpResponse:
    """The link in the confirmation mail: whoever reads the mailbox confirms (no sign-in; the
    token is the proof). A button, not the GET: link checkers and previews must not confirm."""
    channel = Channel.objects.select_related("inbox").filter(pk=channel_id, kind=ChannelKind.EMAIL).first()
    if channel is None or not verification.valid(channel, token):
        raise Http404("No such confirmation")
    if request.method == "POST":
        channel = actions.verify_address(channel, how="its confirmation link was opened")
    return render(request, "mail/confirm_address.html", {"channel": channel})


@action_view
def parked_retry(request: HttpRequest, raw_id: int) -> HttpResponse:
    user = acting(request)
    actions.retry_raw_email(access_parked_email(user, raw_id), acting_user=user)
    return redirect("mail_intake")
