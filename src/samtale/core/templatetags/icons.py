"""`{% icon "name" %}`: the app's icons, drawn inline as SVG (they render the same everywhere; a
glyph from a font — an emoji paperclip, say — is an empty box where that font is missing)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

# 24×24 outlines, drawn with the text's colour (`svg.icon` in app.css)
PATHS: dict[str, str] = {
    "paperclip": "M21 11.5l-8.4 8.4a5 5 0 0 1-7.1-7.1l8.5-8.4a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4L15.6 8",
    "menu": "M4 6h16M4 12h16M4 18h16",
    "close": "M6 6l12 12M18 6L6 18",
    "check": "M5 12.5l4.5 4.5L19 7",
    "reopen": "M4 5v5h5M5.1 15a7.5 7.5 0 1 0 1.7-7.8L4 10",
    "chevron-down": "M6 9l6 6 6-6",
    "panel": "M3 4h18v16H3zM15 4v16",
    "expand": "M14 4h6v6M20 4l-7 7M10 20H4v-6M4 20l7-7",
    "link": "M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1",
    "mail": "M3 6h18v12H3zM3 7l9 6 9-6",
    "pencil": "M4 20h4L19 9l-4-4L4 16zM14 6l4 4",
    "back": "M19 12H5M11 6l-6 6 6 6",
    "arrow-right": "M5 12h14M13 6l6 6-6 6",
    "arrow-up": "M12 19V5M6 11l6-6 6 6",
    "arrow-down": "M12 5v14M6 13l6 6 6-6",
    "seen": "M2 12.5l4.5 4.5L16 7M11 16l1 1L22 7",
    "ticket": "M3 7h18v3a2 2 0 0 0 0 4v3H3v-3a2 2 0 0 0 0-4zM14 7v10",
    "arrow-left": "M19 12H5M11 6l-6 6 6 6",
}


@register.simple_tag
def icon(name: str) -> SafeString:
    """Decorative: hidden from screen readers (the control's text or title names it)."""
    return format_html(
        '<svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="{}"/></svg>', PATHS[name]
    )
