"""Split quoted history and signatures from the new part of a reply ("show trimmed content").

The split is conservative: when no marker is found nothing is trimmed, and a message that would be
trimmed to nothing is shown whole. The original is always kept.

Mail is hostile input, so every step here is linear in its length: markers are found with plain
substring searches (no backtracking patterns, no HTML parser that rescans unclosed tags), a marker
line or tag longer than a real one is ignored, and only the first `LOOK_AT` characters are looked
at for a marker (the new part of a real reply comes first).
"""

from __future__ import annotations

from samtale.core.html import to_text

LOOK_AT = 512 * 1024  # characters searched for a marker; what follows is never cut
LONGEST_MARKER_LINE = 400  # "On <date>, <name> <address> wrote:" is far shorter
LONGEST_TAG = 1000  # characters between "<" and ">" of a tag that can mark a quote

_SEPARATORS = ("original message", "opprinnelig melding", "ursprüngliches nachricht", "oprindelig meddelelse")
_QUOTE_CLASSES = ("gmail_quote", "moz-cite-prefix", "yahoo_quoted", "protonmail_quote", "gmail_signature")
_QUOTE_IDS = ("appendonsend", "divrplyfwdmsg", "mail-editor-reference-message-container", "ymail_android_signature")


def _has_word(text: str, word: str) -> bool:
    """`word` in `text` where it starts a word ("beskrev" does not contain the word "skrev")."""
    at = 0
    while (at := text.find(word, at)) >= 0:
        if at == 0 or not text[at - 1].isalnum():
            return True
        at += 1
    return False


def _is_marker(line: str) -> bool:
    """A line that introduces quoted history (English, Norwegian, Swedish, Danish, German, Outlook's
    separator and header block) or the signature delimiter."""
    if line == "-- ":
        return True
    if len(line) > LONGEST_MARKER_LINE:
        return False
    text = line.strip().lower()
    if not text:
        return False
    first = text.split(None, 1)[0]
    if text.endswith(":") and (
        (first == "on" and _has_word(text, "wrote:"))
        or (first == "den" and _has_word(text, "skrev"))
        or _has_word(text, "skrev ")
        or (first == "am" and _has_word(text, "schrieb"))
    ):
        return True
    if text.startswith("--") and text.endswith("--") and any(s in text for s in _SEPARATORS):
        return True
    return text.startswith(("from: ", "fra: ", "from:\t", "fra:\t")) and len(text) > 6


def _outlook_separator(lines: list[str], i: int) -> bool:
    """Outlook's line of underscores above the quoted message's header block ("From: …", "Fra: …",
    "Von: …"); a line of underscores alone is decoration (newsletters draw rules with them)."""
    text = lines[i].strip()
    if len(text) < 20 or len(text) > LONGEST_MARKER_LINE or text.strip("_"):
        return False
    following = [line.strip() for line in lines[i + 1 : i + 4] if line.strip()]
    if not following:
        return False
    name, colon, _rest = following[0].partition(":")
    return bool(colon) and 0 < len(name) <= 20 and name.replace("-", "").isalpha()


def split_text(text: str) -> tuple[str, str]:
    """(new part, trimmed part) of a plain-text body."""
    lines = text.splitlines(keepends=True)
    cut = None
    seen = 0
    for i, line in enumerate(lines):
        if seen > LOOK_AT:
            break
        seen += len(line)
        if i > 0 and (_is_marker(line.rstrip("\r\n")) or _outlook_separator(lines, i)):
            cut = i
            break
    if cut is None:
        # trailing block of "> " lines only
        i = len(lines)
        while i > 0 and (lines[i - 1].startswith(">") or not lines[i - 1].strip()):
            i -= 1
        if 0 < i < len(lines) and any(line.startswith(">") for line in lines[i:]):
            cut = i
    if cut is None:
        return text, ""
    main, quoted = "".join(lines[:cut]).rstrip(), "".join(lines[cut:])
    if not main.strip():
        return text, ""
    return main, quoted


def _tag_around(lowered: str, at: int) -> tuple[int, int] | None:
    """The tag (start of "<", index after ">") containing position `at`, if `at` is inside one."""
    start = lowered.rfind("<", max(0, at - LONGEST_TAG), at)
    if start < 0 or ">" in lowered[start:at]:
        return None
    end = lowered.find(">", at, start + LONGEST_TAG)
    return (start, end + 1) if end >= 0 else None


def _attribute(tag: str, name: str) -> str:
    """The value of attribute `name` in a lowered tag's text (quoted or bare), or ''."""
    at = 0
    while (at := tag.find(name, at)) >= 0:
        before = tag[at - 1] if at else ""
        rest = tag[at + len(name) :].lstrip()
        at += len(name)
        if before not in (" ", "\t", "\n", "\r", "/") or not rest.startswith("="):
            continue
        value = rest[1:].lstrip()
        if value[:1] in ("'", '"'):
            return value[1:].split(value[0], 1)[0]
        return value.split(None, 1)[0].rstrip("/>") if value else ""
    return ""


def _quote_start(lowered: str) -> int | None:
    """Where the first quote container starts: a cite blockquote, a known client's quote or
    signature class or id, or Outlook's separator rule."""
    found: list[int] = []
    for needle in (*_QUOTE_CLASSES, *_QUOTE_IDS):
        at = 0
        while (at := lowered.find(needle, at)) >= 0:
            tag = _tag_around(lowered, at)
            at += len(needle)
            if tag is None:
                continue
            text = lowered[tag[0] : tag[1]]
            if needle in _attribute(text, "class").split() or _attribute(text, "id") == needle:
                found.append(tag[0])
                break
    for name, check in (("<blockquote", ("type", "cite")), ("<hr", ("style", "border-top"))):
        at = 0
        while (at := lowered.find(name, at)) >= 0:
            end = lowered.find(">", at, at + LONGEST_TAG)
            start, at = at, at + len(name)
            if end < 0 or lowered[at : at + 1] not in (" ", "\t", "\n", "\r", "/", ">"):
                continue
            value = _attribute(lowered[start : end + 1], check[0])
            if (check[0] == "type" and value == check[1]) or (check[0] == "style" and check[1] in value):
                found.append(start)
                break
    return min(found) if found else None


def split_html(html: str) -> tuple[str, str]:
    """(new part, trimmed part) of an HTML body; both still need sanitizing (which also closes
    the tags the cut left open)."""
    start = _quote_start(html[:LOOK_AT].lower())
    if start is None or not to_text(html[:start]).strip():
        return html, ""
    return html[:start], html[start:]
