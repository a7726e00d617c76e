"""Split quoted history and signatures from the new part of a reply ("show trimmed content").

The split is conservative: when no marker is found nothing is trimmed, and a message that would be
trimmed to nothing is shown whole. The original is always kept.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Lines that introduce quoted history in plain text (English, Norwegian, Swedish, Danish, German,
# Outlook's separator) and the signature delimiter.
_TEXT_MARKERS = re.compile(
    r"^(\s*(on\b.{0,200}\bwrote:|den\b.{0,200}\bskrev[^:\n]{0,80}:|.{0,200}\bskrev\s+.{0,200}:$|am\b.{0,200}\bschrieb.{0,80}:"
    r"|-{2,}\s*(original message|opprinnelig melding|ursprüngliches nachricht|oprindelig meddelelse)\s*-{2,}"
    r"|_{20,}|from:\s.+|fra:\s.+)\s*$|-- $)",
    re.IGNORECASE,
)

_QUOTE_CLASSES = ("gmail_quote", "moz-cite-prefix", "yahoo_quoted", "protonmail_quote", "gmail_signature")
_QUOTE_IDS = ("appendonsend", "divrplyfwdmsg", "mail-editor-reference-message-container", "ymail_android_signature")


def split_text(text: str) -> tuple[str, str]:
    """(new part, trimmed part) of a plain-text body."""
    lines = text.splitlines(keepends=True)
    cut = None
    for i, line in enumerate(lines):
        if _TEXT_MARKERS.match(line.rstrip("\r\n")) and i > 0:
            cut = i
            break
    if cut is None:
        # trailing block of "> " lines only
        i = len(lines)
        while i > 0 and (lines[i - 1].startswith(">") or not lines[i - 1].strip()):
            i -= 1
        if i < len(lines) and any(line.startswith(">") for line in lines[i:]) and i > 0:
            cut = i
    if cut is None:
        return text, ""
    main, quoted = "".join(lines[:cut]).rstrip(), "".join(lines[cut:])
    if not main.strip():
        return text, ""
    return main, quoted


class _QuoteFinder(HTMLParser):
    """Finds where the first quote container starts (its offset in the source)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.quote_at: int | None = None
        self.text_before = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.quote_at is not None:
            return
        values = {k.lower(): (v or "") for k, v in attrs}
        classes = values.get("class", "").lower().split()
        is_quote = (
            (tag == "blockquote" and values.get("type", "").lower() == "cite")
            or any(c in classes for c in _QUOTE_CLASSES)
            or values.get("id", "").lower() in _QUOTE_IDS
            or (tag == "hr" and "border-top" in values.get("style", "").lower())
        )
        if is_quote:
            self.quote_at = self._position()

    def handle_data(self, data: str) -> None:
        if self.quote_at is None and data.strip():
            self.text_before = True

    def _position(self) -> int:
        line, col = self.getpos()
        return self._line_starts[line - 1] + col

    def feed_all(self, html: str) -> None:
        self._line_starts = [0]
        for m in re.finditer(r"\n", html):
            self._line_starts.append(m.end())
        self.feed(html)
        self.close()


def split_html(html: str) -> tuple[str, str]:
    """(new part, trimmed part) of an HTML body; both still need sanitizing (which also closes
    the tags the cut left open)."""
    finder = _QuoteFinder()
    try:
        finder.feed_all(html)
    except Exception:
        return html, ""
    if finder.quote_at is None or not finder.text_before:
        return html, ""
    return html[: finder.quote_at], html[finder.quote_at :]
