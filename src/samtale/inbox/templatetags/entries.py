"""`{% thread_entries %}`: a page of a thread's entries (messages and internal comments).

Written as Python rather than template markup because it is the hottest loop of the screen an
agent waits for: a page holds 30 entries, and the template engine spent about a millisecond on
each (a few hundred variable lookups, translations and URL reversals per entry), most of the
time a thread took to open. Here the translations and URLs are looked up once per page and each
entry is a handful of string joins; every value from a message is escaped (`escape`), and the
bodies are the sanitized HTML stored with the message (`email_body`)."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.defaultfilters import filesizeformat, linebreaksbr
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from samtale.core.templatetags.icons import icon
from samtale.core.templatetags.parts import ID, time_element, url_maker
from samtale.core.templatetags.when import moments
from samtale.inbox.templatetags.channel_tags import kind_can
from samtale.inbox.templatetags.email_tags import email_body, has_remote_images, listed_attachments

register = template.Library()


class _Page:
    """What every entry of one page shares: the viewer's rights, the words and the addresses."""

    def __init__(self, context: Any) -> None:
        self.can_hide = bool(context.get("can_hide"))
        self.is_super_admin = bool(context.get("is_super_admin"))
        me = context.get("me")
        self.me_id = getattr(me, "pk", None)
        self.inline_types = context.get("inline_image_types") or ()
        self.permalink = url_maker("message_permalink", ID)
        self.message_action = {action: url_maker("message_action", ID, action) for action in ("show", "hide")}
        self.attachment = url_maker("attachment", ID)
        self.attached_message = url_maker("attached_message", ID)
        self.source = url_maker("message_source", ID)
        self.forward = url_maker("message_forward", ID)
        self.paperclip = icon("paperclip")
        self.clock = moments()
        self.kinds: dict[str, str] = {}  # channel kind -> its name, as shown
        self.statuses: dict[str, str] = {}  # delivery status -> its name
        self.words = {
            "visitor": _("Visitor"),
            "copy_link": escape(_("Copy link")),
            "show": escape(_("Show")),
            "hide": escape(_("Hide")),
            "hidden": escape(_("This message is hidden")),
            "unverified": escape(
                _(
                    "Sender not verified: this message uses a teammate's address but could not be authenticated. "
                    "Treat it as coming from outside."
                )
            ),
            "trimmed": escape(_("Show trimmed content")),
            "remote_images": escape(_("Load remote images")),
            "view_message": escape(_("View message")),
            "view_original": escape(_("View original")),
            "forward": escape(_("Forward")),
            "email_address": escape(_("Email address")),
            "forward_to": escape(_("Forward to")),
            "note_optional": escape(_("Note (optional)")),
            "note": escape(_("Note")),
            "comment": escape(_("Internal comment")),
        }

    def kind_name(self, e: Any) -> str:
        if e.channel_kind not in self.kinds:
            self.kinds[e.channel_kind] = escape(e.get_channel_kind_display())
        return self.kinds[e.channel_kind]

    def status_name(self, e: Any) -> str:
        if e.delivery_status not in self.statuses:
            self.statuses[e.delivery_status] = escape(e.get_delivery_status_display())
        return self.statuses[e.delivery_status]


def _message(page: _Page, e: Any, cursor: str) -> str:
    w = page.words
    hidden = e.hidden_at is not None
    out = [
        f'<li class="entry message {escape(e.direction)}{" hidden-msg" if hidden else ""}" id="message-{e.pk}" '
        f'data-message="{e.pk}"{cursor}>\n<div class="entry-head">\n<strong>'
    ]
    if e.direction == "out":
        out.append(escape((e.author.name if e.author_id else "") or e.sender_name))
    else:
        out.append(escape(e.sender_name or e.sender_address or w["visitor"]))
    out.append("</strong>\n")
    if e.direction == "in" and e.sender_address:
        out.append(f'<span class="muted">&lt;{escape(e.sender_address)}&gt;</span>\n')
    if e.direction == "in" and e.reply_to:
        said = _("replies go to %(address)s") % {"address": e.reply_to}
        out.append(f'<span class="muted small reply-to">{escape(said)}</span>\n')
    out.append(f'<span class="kind kind-{escape(e.channel_kind)} tiny">{page.kind_name(e)}</span>\n')
    if e.delivery_status:
        out.append(
            f'<span class="delivery delivery-{escape(e.delivery_status)}" title="{escape(e.delivery_error)}">'
            f"{page.status_name(e)}</span>\n"
        )
    out.append(time_element(page.clock, e.created_at))
    out.append(
        f'\n<span class="entry-tools">\n<button type="button" class="link-btn copy-link" '
        f'data-url="{page.permalink(e.pk)}">{w["copy_link"]}</button>\n'
    )
    if hidden:
        if page.is_super_admin or e.hidden_by_id == page.me_id:
            out.append(_tool(page.message_action["show"](e.pk), w["show"]))
    elif page.can_hide:
        out.append(_tool(page.message_action["hide"](e.pk), w["hide"]))
    out.append("</span>\n</div>\n")
    if hidden:
        out.append(f'<div class="entry-body hidden-note">{w["hidden"]}</div>\n</li>\n')
        return "".join(out)
    if e.sender_not_verified:
        out.append(f'<div class="banner warning unverified-sender" role="note">{w["unverified"]}</div>\n')
    out.append(f'<div class="entry-body">{email_body(e)}</div>\n')
    if e.quoted_html:
        out.append(
            f'<details class="trimmed"><summary title="{w["trimmed"]}">{w["trimmed"]}</summary>'
            f'<div class="entry-body quoted">{email_body(e, "quoted")}</div></details>\n'
        )
    if has_remote_images(e):
        out.append(f'<button type="button" class="link-btn load-images">{w["remote_images"]}</button>\n')
    files = listed_attachments(e)
    if files:
        out.append('<ul class="attachments" role="list">\n')
        for a in files:
            out.append(_attachment(page, a))
        out.append("</ul>\n")
    if kind_can(e.channel_kind, "forward"):
        out.append('<div class="entry-foot">\n')
        if e.direction == "in":
            out.append(
                f'<a class="link-btn" href="{page.source(e.pk)}" target="_blank" rel="noopener">'
                f"{w['view_original']}</a>\n"
            )
        out.append(
            f'<details class="forward"><summary class="link-btn">{w["forward"]}</summary>\n'
            f'<form hx-post="{page.forward(e.pk)}" hx-target="#thread-body" class="inline-form">\n'
            f'<input type="email" name="to" required placeholder="{w["email_address"]}" aria-label="{w["forward_to"]}">\n'
            f'<input name="note" placeholder="{w["note_optional"]}" aria-label="{w["note"]}">\n'
            f'<button class="small primary" type="submit">{w["forward"]}</button>\n</form>\n</details>\n</div>\n'
        )
    out.append("</li>\n")
    return "".join(out)


def _tool(url: str, label: str) -> str:
    return f'<button type="button" class="link-btn" hx-post="{url}" hx-target="#thread-body">{label}</button>\n'


def _attachment(page: _Page, a: Any) -> str:
    url = page.attachment(a.pk)
    name = escape(a.filename)
    out = ["<li>"]
    if a.content_type in page.inline_types:
        out.append(
            f'<a href="{url}?inline=1" target="_blank" rel="noopener" class="inline-image">'
            f'<img src="{url}?inline=1" alt="{name}" loading="lazy"></a><br>'
        )
    out.append(
        f'<a href="{url}" download="{name}">{page.paperclip} {name}</a> '
        f'<span class="muted tiny">{escape(filesizeformat(a.size))}</span>'
    )
    if a.content_type in ("message/rfc822", "message/global"):
        out.append(
            f' <a href="{page.attached_message(a.pk)}" target="_blank" rel="noopener" class="tiny">'
            f"{page.words['view_message']}</a>"
        )
    out.append("</li>\n")
    return "".join(out)


def _comment(page: _Page, e: Any, cursor: str) -> str:
    return (
        f'<li class="entry comment" id="comment-{e.pk}"{cursor}>\n<div class="entry-head"><strong>'
        f'{escape(e.author.name)}</strong> <span class="chip">{page.words["comment"]}</span>\n'
        f"{time_element(page.clock, e.created_at)}</div>\n"
        f'<div class="entry-body">{linebreaksbr(e.text, autoescape=True)}</div>\n</li>\n'
    )


@register.simple_tag(takes_context=True)
def thread_entries(context: Any) -> SafeString:
    """The page's entries in time order, with "Show N earlier" above them (when the thread has
    more) and "Show the newest messages" below (when it was opened at an older message)."""
    thread = context["thread"]
    conversation = context["conversation"]
    page = _Page(context)
    out = []
    if thread.before:
        if thread.earlier_capped:  # counting stopped there: a very long thread
            label = _("Show earlier (%(n)s+)") % {"n": thread.earlier}
        else:
            label = ngettext("Show %(n)s earlier", "Show %(n)s earlier", thread.earlier) % {"n": thread.earlier}
        url = reverse("thread_earlier", args=[conversation.pk])
        out.append(
            f'<li class="earlier-row"><button type="button" class="small show-earlier" '
            f'data-url="{url}?before={escape(thread.before)}">{escape(label)}</button></li>\n'
        )
    entries = thread.entries
    first_cursor = f' data-cursor="{escape(thread.first_cursor)}"' if entries else ""
    first_unread = thread.first_unread
    for n, (kind, e) in enumerate(entries):
        cursor = first_cursor if n == 0 else ""
        if first_unread is not None and first_unread == (kind, e.pk):
            new = escape(_("New"))  # (not inside an f-string: makemessages would miss it)
            out.append(f'<li class="unread-divider" id="first-unread"><span>{new}</span></li>\n')
        out.append(_message(page, e, cursor) if kind == "message" else _comment(page, e, cursor))
    if thread.later:
        url = reverse("conversation", args=[conversation.inbox_id, context.get("view") or "all_open", conversation.pk])
        newest = _("Show the newest messages")  # (not inside an f-string: makemessages would miss it)
        out.append(f'<li class="later-row"><a class="button small" href="{url}">{escape(newest)}</a></li>\n')
    return mark_safe("".join(out))  # noqa: S308 -- every value above is escaped or stored sanitized
