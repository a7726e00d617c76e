"""Parse raw email bytes into what the inbox stores. Never raises: a message that cannot be read
still yields a ParsedEmail (with `broken` set and the source attached by the caller).

stdlib `email` with `policy.default`; every header read is guarded, because broken headers make
the modern header classes raise on access.
"""

from __future__ import annotations

import base64
import email
import email.header
import email.utils
import io
import mimetypes
import quopri
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.policy import EmailPolicy
from pathlib import Path
from typing import IO, Any

from samtale.channels.email import skeleton as large
from samtale.channels.email.charsets import WORD as ENCODED_WORD
from samtale.channels.email.charsets import decode, header_text, message_charsets
from samtale.core.html import text_to_html, to_text

_MSGID = re.compile(r"<([^<>\s]+)>")
_REPLY_WORDS = ("antw", "fwd", "fw", "ref", "re", "aw", "sv", "vs", "wg", "tr", "rv")


@dataclass
class Part:
    filename: str
    content_type: str
    payload: bytes
    content_id: str = ""
    inline: bool = False
    path: Path | None = None  # a large part's content, in a file, instead of `payload`


@dataclass
class ParsedEmail:
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    subject: str = ""
    from_name: str = ""
    from_address: str = ""
    reply_to: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    delivered_to: list[str] = field(default_factory=list)
    date: datetime | None = None
    text: str = ""
    html: str = ""
    attachments: list[Part] = field(default_factory=list)
    auto_reply: bool = False
    bulk: bool = False  # sent to a list (List-Unsubscribe, Precedence: bulk/list, an email service's headers)
    null_return_path: bool = False  # `Return-Path: <>` (the final MTA records the null sender)
    authentication_results: str = ""  # the topmost Authentication-Results header (mail.trust)
    bounce: Bounce | None = None
    broken: str = ""  # why the message could not be read fully
    files: list[Path] = field(default_factory=list)  # temporary files of large parts

    def discard(self) -> None:
        """Remove the temporary files of large parts (once they are stored)."""
        for path in self.files:
            path.unlink(missing_ok=True)
        self.files.clear()


@dataclass
class Bounce:
    """A delivery status notification (RFC 3464) about one of our messages."""

    original_message_id: str
    recipient: str
    status: str
    reason: str


class _Policy(EmailPolicy):
    """`policy.default`, remembering the headers it has parsed for one message: the stdlib parses
    a header again on every access (a message's Content-Type some 30 times while it is read).
    One instance per message (`parse`), so nothing outlives it; header objects are immutable."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        object.__setattr__(self, "_parsed", {})  # policies refuse ordinary attribute writes

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if hasattr(value, "name"):
            return value
        parsed: dict[tuple[str, str], Any] = self._parsed  # type: ignore[attr-defined]
        key = (name, value)
        if key not in parsed:
            parsed[key] = super().header_fetch_parse(name, value)
        return parsed[key]


def message_ids(value: str) -> list[str]:
    """Message-IDs in a header value, without angle brackets; a bare id counts too."""
    found = _MSGID.findall(value or "")
    if not found and value and value.strip() and " " not in value.strip():
        found = [value.strip().strip("<>")]
    return [f for f in found if "@" in f or len(f) > 6]


def _after_prefix(text: str, at: int) -> int | None:
    """Where the text continues after one reply/forward prefix at `at` ("Re:", "SV [2]:", "fwd :"),
    or None. Scanned by hand: a backtracking pattern was quadratic on long runs of spaces."""
    for word in _REPLY_WORDS:
        if text[at : at + len(word)].lower() != word:
            continue
        end = _skip_spaces(text, at + len(word))
        if text[end : end + 1] == "[":
            close = text.find("]", end, end + 12)
            if close < 0 or not text[end + 1 : close].isdigit():
                continue
            end = _skip_spaces(text, close + 1)
        if text[end : end + 1] == ":":
            return end + 1
    return None


def _skip_spaces(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


def normalize_subject(subject: str) -> str:
    """'Re: SV: Fwd: [2] Hello' -> 'hello' (case, spacing and reply/forward prefixes dropped)."""
    text = subject or ""
    at = _skip_spaces(text, 0)
    while (after := _after_prefix(text, at)) is not None:
        at = _skip_spaces(text, after)
    return " ".join(text[at:].split()).casefold()


def _first_header(message: Message, name: str) -> str:
    """The topmost occurrence of a header (the one the last MTA added), unfolded."""
    try:
        values = message.get_all(name) or []
        return re.sub(r"[\r\n]+\s*", " ", str(values[0]))[:8192].strip() if values else ""
    except Exception:
        return ""


def _raw_values(message: Message, name: str) -> list[str]:
    """A header's values as they were written (encoded words and 8-bit bytes still in them)."""
    wanted = name.lower()
    try:
        return [str(v) for k, v in message.raw_items() if k.lower() == wanted]
    except Exception:
        return []


def _hint(message: Message) -> tuple[str, ...]:
    """The charsets the message's own declarations name (set by `parse_tree` on its policy)."""
    return getattr(message.policy, "charset_hints", ())


def _set_hint(message: Message) -> None:
    """Remember which charsets the sender's software writes in — its text parts' labels, then the
    charsets of its Subject's and From's encoded words — for its unlabelled 8-bit text."""

    def labels() -> Iterator[str | None]:
        for part in message.walk():
            label = part.get_param("charset") if part.get_content_maintype() == "text" else None
            yield label if isinstance(label, str) else None
        for name in ("Subject", "From", "To"):
            for value in _raw_values(message, name):
                for match in ENCODED_WORD.finditer(value[:4096]):
                    yield match.group(1)

    try:
        hints = message_charsets(labels())
    except Exception:  # (a hint is never worth an unreadable message)
        hints = ()
    object.__setattr__(message.policy, "charset_hints", hints)


def header(message: Message, name: str) -> str:
    """The first value of a header as text (charsets.header_text), on one line."""
    values = _raw_values(message, name)
    if not values:
        return ""
    return re.sub(r"[\r\n]+\s*", " ", header_text(values[0], _hint(message))).strip()


def _addresses(message: Message, name: str, *, bare: bool = False) -> list[tuple[str, str]]:
    """(name, address) pairs of an address header, read from its raw value: encoded words are set
    aside while the list is split (a decoded "Bürling, Andreas" holds a comma), then decoded;
    `addr (Name)` gives its name, and so does `Name addr` (no angle brackets); a root dot ("example.com.") is dropped. `bare`: keep entries
    without an address (their name still says who wrote)."""
    words: list[str] = []

    def aside(match: re.Match[str]) -> str:
        words.append(match.group(0))
        return f"\ue000{len(words) - 1}\ue001"

    def back(text: str) -> str:
        restored = re.sub("\ue000(\\d+)\ue001", lambda m: words[int(m.group(1))], text)
        return header_text(restored, _hint(message)) if "=?" in restored or not restored.isascii() else restored

    values = [re.sub(r"\r?\n(?=[ \t])", "", v) for v in _raw_values(message, name)]
    pairs = email.utils.getaddresses([ENCODED_WORD.sub(aside, v) for v in values])
    out = []
    for display, address in pairs:
        display, address = re.sub(r"[ \t\r\n]+", " ", back(display)).strip(" \"'"), back(address).strip()
        if not display and " " in address and not set(address) & set('<"('):  # `From: Name name@example.com`
            display, _sp, address = address.rpartition(" ")
            display = display.strip(" \"'")
        address = address.lower()
        if display.endswith(")") and "(" in display and display.index("(") > 0:  # `Name (comment) <addr>`
            display = display[: display.index("(")].rstrip(" \"'") or display
        local, at, domain = address.rpartition("@")
        address = f"{local}@{domain.rstrip('.')}" if at and local and domain.rstrip(".") else ""
        if address or (bare and display):
            out.append((display, address))
    return out


def _decode_part(part: Message) -> str:
    """A text part's content: transfer-decoded, then decoded by its charset's superset, or as
    UTF-8, or as detected (charsets.decode)."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if not isinstance(payload, bytes):
        inner = part.get_payload()
        return inner if isinstance(inner, str) else ""
    try:
        label = part.get_param("charset")
    except Exception:
        label = None
    return decode(payload, label if isinstance(label, str) else None, _hint(part))


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name:
        name = header_text(str(name), _hint(part)) if "=?" in str(name) else str(name)
    ctype = part.get_content_type()
    if not name and ctype == "message/rfc822":  # an attached message: named after its subject
        inner = part.get_payload()
        first = inner[0] if isinstance(inner, list) and inner else None
        subject = header(first, "Subject") if isinstance(first, Message) else ""
        subject = subject or header(part, "Content-Description")
        name = f"{subject[:200]}.eml" if subject else "message.eml"
    if not name:
        content_id = header(part, "Content-ID").strip("<> ").partition("@")[0].strip()
        # an inline part named by its Content-ID when that ends like a file name ("image001.jpg";
        # not "32497.1617621278.2", which would open as nothing), else by its type
        name = content_id[:100] if _FILE_LIKE.search(content_id[:100]) else _NAMES.get(ctype, "")
    if not name:
        major = ctype.partition("/")[0]
        extension = _EXTENSIONS.get(ctype) or mimetypes.guess_extension(ctype) or ""
        if major in ("image", "video", "audio") and extension:
            name = f"{major}{extension}"
        else:  # nothing says what it is: its Content-ID is still more telling than "file"
            name = header(part, "Content-ID").strip("<> ").partition("@")[0].strip()[:100] or "file"
    name = re.sub(r"[\x00-\x1f/\\]", "_", str(name)).strip() or "file"
    return name[:255]


# what a part without a name is called (by its type; an inline part by its Content-ID)
_NAMES = {
    "text/calendar": "calendar.ics", "application/ms-tnef": "winmail.dat", "message/delivery-status": "Delivery report.txt",
    "text/rfc822-headers": "Returned headers.txt", "text/html": "document.html", "text/plain": "document.txt",
    "application/pdf": "document.pdf",
}  # fmt: skip
_FILE_LIKE = re.compile(r"\.\w{2,6}\Z")  # ends in an extension (the input is at most 100 characters)
_EXTENSIONS = {"image/jpeg": ".jpg", "image/jpg": ".jpg", "image/pjpeg": ".jpg", "video/quicktime": ".mov"}


def _distinct_names(parts: list[Part]) -> None:
    """Two files of one message never share a name: the later ones get a number ("document1.html")."""
    seen: set[str] = set()
    for part in parts:
        name = part.filename
        stem, dot, ext = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
        number = 0
        while name.lower() in seen:
            number += 1
            name = f"{stem}{number}{dot}{ext}"
        seen.add(name.lower())
        part.filename = name


@dataclass
class _Segment:
    """One stretch of the body: a text part, an HTML part, or both (the alternatives of one)."""

    text: str | None = None
    html: str | None = None


_WHOLE = ("message/rfc822", "message/global", "message/delivery-status", "text/rfc822-headers")
_MAX_SEGMENTS = 200  # body parts of one message; any beyond are attachments


def _is_attachment(part: Message) -> bool:
    try:
        disposition = (part.get_content_disposition() or "").lower()
    except Exception:
        disposition = ""
    if disposition == "attachment":
        return True
    try:
        return disposition != "inline" and bool(part.get_filename())
    except Exception:
        return False


RESOURCE = "related-resource"  # a part of a multipart/related that is not its root


def _related_root(part: Message, children: list[Message]) -> Message:
    """The root of a multipart/related: the part its `start` names, else the first (RFC 2387)."""
    try:
        start = str(part.get_param("start") or "").strip("<> ")
    except Exception:
        start = ""
    if start:
        for child in children:
            if header(child, "Content-ID").strip("<> ") == start:
                return child
    return children[0]


def _walk(message: Message, parsed: ParsedEmail, bodies: dict[str, Path]) -> None:
    """The body is every inline text and HTML part in order (an alternative counts once: its
    text and its HTML; of a multipart/related, its root — the others are its resources, files
    when nothing refers to them, as mail programs list them); images between them stay in place;
    attached messages and delivery reports are kept whole as files; every other leaf is an
    attachment. Iterative, in document order (the skeleton has already bounded depth and count)."""
    segments: list[_Segment] = []
    # each entry: a part, and whether it sits inside multipart/alternative (then the caller merges)
    stack: list[tuple[Message, _Segment | None, str]] = [(message, None, "")]
    while stack:
        part, into, parent = stack.pop()
        ctype = part.get_content_type()
        content_id = header(part, "Content-ID").strip("<> ")
        if (
            ctype.startswith("image/")
            and parent == "multipart/mixed"
            and into is None
            and segments
            and not _is_attachment(part)
            and not any(f"cid:{content_id}" in (s.html or "") for s in segments if content_id)
        ):  # an image between text parts (Apple Mail): shown where it was, by its content id
            content_id = content_id or f"inline-{len(parsed.attachments) + 1}@samtale.invalid"
            segments.append(_Segment(html=f'<img src="cid:{content_id}" alt="">'))
        if bodies and (path := bodies.get(header(part, large.BODY_HEADER))) is not None:  # left out by skeletonize
            _attach(parsed, part, b"", path, content_id=content_id)
            continue
        if ctype in _WHOLE:  # an attached message or a delivery report: one file, not taken apart
            _attach(parsed, part, None, None, bodies=bodies)
            continue
        if part.is_multipart():
            children = [c for c in (part.get_payload() or []) if isinstance(c, Message)]
            if ctype == "multipart/alternative" and into is None:
                into = _Segment()
                segments.append(into)
                # the richest alternative of each kind wins: the last one of it
            elif ctype == "multipart/report" and children and into is None:
                pass  # the human part is read as a body part, the report and the message as files
            if ctype == "multipart/related" and len(children) > 1:
                root = _related_root(part, children)
                stack.extend((c, into, ctype if c is root else RESOURCE) for c in reversed(children))
                continue
            stack.extend((c, into, ctype) for c in reversed(children))
            continue
        textual = ctype in ("text/plain", "text/html") or ctype.startswith(
            "multipart/"
        )  # (a multipart with no parts: its text)
        if textual and parent != RESOURCE and not _is_attachment(part) and len(segments) < _MAX_SEGMENTS:
            body = _decode_part(part).replace("\r\n", "\n")  # mail arrives with CRLF lines
            key = "html" if ctype == "text/html" else "text"
            if into is not None:
                setattr(into, key, body)
            else:
                segments.append(_Segment(**{key: body}))
            continue
        _attach(parsed, part, None, None, content_id=content_id)
    _distinct_names(parsed.attachments)
    plain = [s for s in segments if s.text is not None or s.html is not None]
    parsed.text = "\n\n".join((s.text if s.text is not None else to_text(s.html or "")).strip("\n") for s in plain)
    if any(s.html is not None for s in plain):
        parsed.html = "\n".join(s.html if s.html is not None else text_to_html(s.text or "") for s in plain)
    if parsed.text and not any(s.text for s in plain):
        parsed.text = ""  # only HTML was sent: the inbox derives the text from it, as before


def _attach(
    parsed: ParsedEmail,
    part: Message,
    payload: bytes | None,
    path: Path | None,
    content_id: str | None = None,
    bodies: dict[str, Path] | None = None,
) -> None:
    ctype = part.get_content_type()
    if payload is None:
        try:
            decoded = part.get_payload(decode=True)
        except Exception:
            decoded = None
        payload = decoded if isinstance(decoded, bytes) else None
        if payload is None:
            inner = part.get_payload()
            if isinstance(inner, list):  # message/rfc822 (or a report's parts): the parts as bytes
                payload = b"".join(_as_bytes(_restored(p, bodies)) for p in inner if isinstance(p, Message))
            else:
                payload = inner.encode("utf-8", "surrogateescape") if isinstance(inner, str) else b""
    if content_id is None:
        content_id = header(part, "Content-ID").strip("<> ")
    try:
        disposition = (part.get_content_disposition() or "").lower()
    except Exception:
        disposition = ""
    parsed.attachments.append(
        Part(
            filename=_filename(part),
            content_type="text/plain" if ctype in ("message/delivery-status", "text/rfc822-headers") else ctype,
            payload=payload if isinstance(payload, bytes) else bytes(payload),
            content_id=content_id[:255],
            inline=disposition == "inline" or (bool(content_id) and disposition != "attachment"),
            path=path,
        )
    )


def _restored(message: Message, bodies: dict[str, Path] | None) -> Message:
    """An attached message whose large parts the skeleton left in files gets them back (encoded
    as their headers say), so the .eml file is the message as it was sent."""
    if not bodies:
        return message
    for leaf in message.walk():
        key = header(leaf, large.BODY_HEADER)
        path = bodies.get(key) if key else None
        if path is None or leaf.is_multipart():
            continue
        data = path.read_bytes()
        encoding = header(leaf, "Content-Transfer-Encoding").lower()
        del leaf[large.BODY_HEADER]
        if encoding == "base64":
            leaf.set_payload(base64.encodebytes(data).decode("ascii"))
        elif encoding == "quoted-printable":
            leaf.set_payload(quopri.encodestring(data).decode("ascii"))
        else:
            leaf.set_payload(data.decode("ascii", "surrogateescape"))
    return message


def _as_bytes(message: Message) -> bytes:
    try:
        return message.as_bytes()
    except Exception:  # a header the generator cannot write back: the text as it was read
        return str(message).encode("utf-8", "surrogateescape")


# headers that bulk-mail services add to every message they send (Mailchimp, SendGrid, Amazon SES,
# Mailgun, Mailjet, Campaign Monitor, Salesforce Marketing Cloud, HubSpot, Brevo, Klaviyo)
_BULK_HEADERS = (
    "List-Unsubscribe", "List-Id", "X-MC-User", "X-Mailchimp-Campaign", "X-SG-EID", "X-SES-Outgoing",
    "X-Mailgun-Sid", "X-Mailjet-Campaign", "X-CM-Message-Id", "X-SFMC-Stack", "X-HubSpot-Mail", "X-Mailin-Campaign",
    "X-Klaviyo-Message-Id", "X-Campaign-Id",
)  # fmt: skip


def _bulk(message: Message) -> bool:
    if header(message, "Precedence").lower() in ("bulk", "list", "junk"):
        return True
    return any(_raw_values(message, name) for name in _BULK_HEADERS)


def _auto_reply(message: Message) -> bool:
    auto = header(message, "Auto-Submitted").lower()
    if auto and auto != "no":
        return True
    if header(message, "X-Autoreply") or header(message, "X-Autorespond") or header(message, "X-Auto-Response-Suppress").lower() in ("all", "oof"):  # fmt: skip
        return True
    return header(message, "Precedence").lower() in ("auto_reply", "bulk", "junk")


def _bounce(message: Message) -> Bounce | None:
    if message.get_content_type() != "multipart/report":
        return None
    if (message.get_param("report-type") or "").lower() != "delivery-status":  # type: ignore[union-attr]
        return None
    status = reason = recipient = original = ""
    for part in message.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            payload = part.get_payload()
            blocks = payload if isinstance(payload, list) else []
            for block in blocks:
                if not isinstance(block, Message):
                    continue
                action = header(block, "Action").lower()
                if action and action not in ("failed", "delayed"):
                    continue
                status = status or header(block, "Status")
                reason = reason or header(block, "Diagnostic-Code")
                recipient = recipient or header(block, "Final-Recipient").rpartition(";")[2].strip()
            if not blocks:  # some servers send it as plain text
                text = _decode_part(part)
                m = re.search(r"^Status:\s*(\S+)", text, re.M | re.I)
                status = status or (m.group(1) if m else "")
                m = re.search(r"^Diagnostic-Code:\s*(.+)$", text, re.M | re.I)
                reason = reason or (m.group(1).strip() if m else "")
        elif ctype in ("message/rfc822", "text/rfc822-headers") and not original:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                original = header(inner[0], "Message-ID")
            else:
                text = _decode_part(part) if not isinstance(inner, list) else ""
                m = re.search(r"^Message-ID:[ \t]*(<[^>\r\n]+>)", text, re.M | re.I)
                original = m.group(1) if m else ""
    ids = message_ids(original)
    if not ids:
        return None
    return Bounce(ids[0], recipient, status, reason or status or "Delivery failed")


def parse_stream(source: IO[bytes], size: int = 0) -> ParsedEmail:
    """Parse a message read from a file: first its skeleton (one bounded, iterative pass that
    leaves large bodies in files and keeps parts nested too deep, or too many, whole), then the
    stdlib parser on what remains. Never raises."""
    try:
        skeleton = large.skeletonize(source, Path(tempfile.gettempdir()))
    except Exception as exc:  # e.g. no space left for a large part: still a message, with its source
        parsed = ParsedEmail(broken=f"unreadable message: {type(exc).__name__}: {exc}")
        return parsed
    parsed = parse_tree(skeleton.data, skeleton.bodies)
    parsed.files.extend(skeleton.bodies.values())
    if skeleton.limited:
        parsed.broken = "; ".join(b for b in (skeleton.limited, parsed.broken) if b)[:2000]
    return parsed


def parse(raw: bytes) -> ParsedEmail:
    """Parse a message held in memory (through its skeleton, as `parse_stream`)."""
    return parse_stream(io.BytesIO(raw), len(raw))


_FIELD = re.compile(rb"[!-9;-~]{1,200}:")  # a header field's name and its colon (RFC 5322: printable, no space)
_MBOX_FROM = b"From "


def repair_header_block(raw: bytes) -> bytes:
    """The message's own header block as a parser can read it: junk lines before the first header
    (a mail client's "---- Original message ----") are dropped, and a line that is neither a
    header nor indented (a fold that lost its leading whitespace) continues the header above.
    Without this the stdlib parser takes every header after the fault for the body. One pass."""
    end = raw.find(b"\r\n\r\n")
    end_lf = raw.find(b"\n\n")
    cut = min(e for e in (end, end_lf, len(raw)) if e >= 0)
    head = raw[:cut]
    lines = head.splitlines(keepends=True)
    out: list[bytes] = []
    changed = False
    for number, line in enumerate(lines):
        if _FIELD.match(line) or (number == 0 and line.startswith(_MBOX_FROM)):
            out.append(line)
        elif line[:1] in (b" ", b"\t"):
            out.append(line if out else b"")  # (indented before any header: junk)
            changed = changed or not out
        elif out:
            out.append(b" " + line)  # a fold without its whitespace
            changed = True
        else:
            changed = True  # junk before the first header
    return b"".join(out) + raw[cut:] if changed else raw


def parse_tree(raw: bytes, bodies: dict[str, Path] | None = None) -> ParsedEmail:
    """The stdlib parser on a message (or a skeleton with `bodies`). Only for bounded input:
    it recurses once per MIME nesting level."""
    parsed = ParsedEmail()
    raw = repair_header_block(raw)
    try:
        message = email.message_from_bytes(raw, policy=_Policy())
    except Exception as exc:  # the stdlib parser is lenient; this is the very last resort
        parsed.broken = f"unreadable message: {exc}"
        parsed.text = raw.decode("utf-8", errors="replace")[:200_000]
        return parsed
    try:
        _set_hint(message)
        _read(message, parsed, bodies or {})
    except Exception as exc:
        parsed.broken = f"{type(exc).__name__}: {exc}"
        if not parsed.text and not parsed.html:
            parsed.text = _body_fallback(raw)
    return parsed


def _body_fallback(raw: bytes) -> str:
    _head, _sep, body = raw.partition(b"\r\n\r\n")
    if not _sep:
        _head, _sep, body = raw.partition(b"\n\n")
    return body.decode("utf-8", errors="replace")[:200_000]


def _read(message: Message, parsed: ParsedEmail, bodies: dict[str, Path]) -> None:
    ids = message_ids(header(message, "Message-ID"))
    parsed.message_id = ids[0] if ids else ""
    parsed.in_reply_to = [i for i in message_ids(header(message, "In-Reply-To")) if i != parsed.message_id]
    parsed.references = [i for i in message_ids(header(message, "References")) if i != parsed.message_id]
    parsed.subject = header(message, "Subject")[:500]
    written = _addresses(message, "From", bare=True)
    senders = (
        [p for p in written if p[1]]
        or _addresses(message, "Reply-To")  # `From: "x" <>`: who can be answered is who wrote
        or _addresses(message, "Sender")
        or _addresses(message, "Return-Path")
    )
    if senders:
        parsed.from_name, parsed.from_address = senders[0]
    if written and not parsed.from_name:  # `MAILER-DAEMON (Mail Delivery System)`: the name, at least
        parsed.from_name = written[0][0]
    reply_to = _addresses(message, "Reply-To")
    parsed.reply_to = reply_to[0][1] if reply_to else ""
    parsed.to = [a for _n, a in _addresses(message, "To")]
    parsed.cc = [a for _n, a in _addresses(message, "Cc")]
    parsed.delivered_to = [a for _n, a in _addresses(message, "Delivered-To") + _addresses(message, "X-Original-To")]
    parsed.authentication_results = _first_header(message, "Authentication-Results")
    try:
        date = email.utils.parsedate_to_datetime(header(message, "Date"))
        parsed.date = date if date.tzinfo else date.replace(tzinfo=UTC)
    except (TypeError, ValueError, IndexError):
        parsed.date = None
    parsed.auto_reply = _auto_reply(message)
    parsed.bulk = _bulk(message)
    parsed.null_return_path = header(message, "Return-Path").strip() in ("<>", "") and "Return-Path" in message
    parsed.bounce = _bounce(message)
    if isinstance(message, EmailMessage) and message.defects:
        parsed.broken = "; ".join(type(d).__name__ for d in message.defects)[:500]
    _walk(message, parsed, bodies)
