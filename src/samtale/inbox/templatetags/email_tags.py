"""Showing a stored message: inline images point at their attachment; remote images stay off."""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_CID = re.compile(r'data-src="cid:([^"]+)"', re.IGNORECASE)


@register.filter
def email_body(message: Any, part: str = "html") -> SafeString:
    """The message's sanitized HTML (or its trimmed part) with `cid:` images resolved."""
    html = str(message.quoted_html if part == "quoted" else message.html)
    if "cid:" not in html:
        return mark_safe(html)  # noqa: S308 -- sanitized by core.html.sanitize when stored
    by_cid = {a.content_id: a.pk for a in message.attachments.all() if a.content_id}

    def resolve(match: re.Match[str]) -> str:
        pk = by_cid.get(match.group(1))
        return f'src="{reverse("attachment", args=[pk])}?inline=1"' if pk else 'data-missing=""'

    return mark_safe(_CID.sub(resolve, html))  # noqa: S308 -- only our own URLs are put in


@register.filter
def has_remote_images(message: Any) -> bool:
    return 'data-src="http' in message.html or 'data-src="http' in message.quoted_html


@register.filter
def listed_attachments(message: Any) -> list[Any]:
    """Attachments to list under the message: everything except inline images shown in the body."""
    shown = set(_CID.findall(message.html + message.quoted_html))
    return [a for a in message.attachments.all() if not (a.inline and a.content_id in shown)]
