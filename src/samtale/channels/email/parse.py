"""Parse raw email bytes into what the inbox stores. Never raises: a message that cannot be read
still yields a ParsedEmail (with `broken` set and the source attached by the caller).

stdlib `email` with `policy.default`; every header read is guarded, because broken headers make
the modern header classes raise on access.
"""

from __future__ import annotations

import email
import email.header
import email.utils
import io
import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.policy import EmailPolicy
from pathlib import Path
from typing import IO, Any

from samtale.channels.email import skeleton as large

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


def _raw_header(message: Message, name: str) -> str:
    """A header decoded by hand (RFC 2047 words, unknown charsets replaced): the fallback."""
    try:
        values = message.get_all(name) or []
    except Exception:
        return ""
    out = []
    for value in values:
        raw = value if isinstance(value, str) else str(value)
        try:
            chunks = email.header.decode_header(raw)
            text = ""
            for chunk, charset in chunks:
                if isinstance(chunk, bytes):
                    try:
                        text += chunk.decode(charset or "utf-8", errors="replace")
                    except LookupError:
                        text += chunk.decode("latin-1", errors="replace")
                else:
                    text += chunk
            out.append(text)
        except Exception:
            out.append(raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    return ", ".join(out)


def _first_header(message: Message, name: str) -> str:
    """The topmost occurrence of a header (the one the last MTA added), unfolded."""
    try:
        values = message.get_all(name) or []
        return re.sub(r"[\r\n]+\s*", " ", str(values[0]))[:8192].strip() if values else ""
    except Exception:
        return ""


def header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
        if value is None:
            return ""
        return re.sub(r"[\r\n]+\s*", " ", str(value)).strip()
    except Exception:
        return re.sub(r"[\r\n]+\s*", " ", _raw_header(message, name)).strip()


def _addresses(message: Message, name: str) -> list[tuple[str, str]]:
    try:
        values = [str(v) for v in message.get_all(name) or []]
    except Exception:
        values = [_raw_header(message, name)]
    pairs = email.utils.getaddresses(values)
    return [(n.strip(), a.strip().lower()) for n, a in pairs if a and "@" in a]


def _decode_part(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
        if isinstance(content, bytes):
            return content.decode("utf-8", errors="replace")
    except Exception:  # unknown charset, broken transfer encoding: decode by hand below
        content = None
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(part.get_payload() or "")
    charset = part.get_content_charset() or "utf-8"
    for candidate in (charset, "utf-8", "windows-1252"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1", errors="replace")


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if not name:
        ctype = part.get_content_type()
        ext = {"message/rfc822": ".eml", "text/calendar": ".ics", "application/ms-tnef": ".dat"}.get(ctype, "")
        name = ("winmail" if ctype == "application/ms-tnef" else "attachment") + ext
    name = re.sub(r"[\x00-\x1f/\\]", "_", str(name)).strip() or "attachment"
    return name[:255]


def _walk(message: Message, parsed: ParsedEmail, bodies: dict[str, Path]) -> None:
    """Collect the first text and HTML bodies and every other leaf as an attachment."""
    for part in message.walk():
        if part.is_multipart():
            continue
        if bodies and (path := bodies.get(header(part, large.BODY_HEADER))) is not None:  # left out by skeletonize
            content_id = header(part, "Content-ID").strip("<> ")
            disposition = (part.get_content_disposition() or "").lower()
            parsed.attachments.append(
                Part(_filename(part), part.get_content_type(), b"", content_id[:255],
                     disposition == "inline" or (bool(content_id) and disposition != "attachment"), path)
            )  # fmt: skip
            continue
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        if ctype in ("text/plain", "text/html") and disposition != "attachment":
            body = _decode_part(part).replace("\r\n", "\n")  # mail arrives with CRLF lines
            if ctype == "text/plain" and not parsed.text:
                parsed.text = body
                continue
            if ctype == "text/html" and not parsed.html:
                parsed.html = body
                continue
        if ctype in ("message/delivery-status", "text/rfc822-headers", "message/rfc822") and parsed.bounce is not None:
            continue
        payload = part.get_payload(decode=True)
        if payload is None:
            inner = part.get_payload()
            payload = inner.as_bytes() if isinstance(inner, Message) else str(inner or "").encode()
        if isinstance(payload, list):  # message/rfc822 is a list of one message
            payload = b"".join(p.as_bytes() for p in payload if isinstance(p, Message))
        content_id = header(part, "Content-ID").strip("<> ")
        parsed.attachments.append(
            Part(
                filename=_filename(part),
                content_type=ctype,
                payload=payload if isinstance(payload, bytes) else bytes(payload),
                content_id=content_id[:255],
                inline=disposition == "inline" or (bool(content_id) and disposition != "attachment"),
            )
        )


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


def parse_tree(raw: bytes, bodies: dict[str, Path] | None = None) -> ParsedEmail:
    """The stdlib parser on a message (or a skeleton with `bodies`). Only for bounded input:
    it recurses once per MIME nesting level."""
    parsed = ParsedEmail()
    try:
        message = email.message_from_bytes(raw, policy=_Policy())
    except Exception as exc:  # the stdlib parser is lenient; this is the very last resort
        parsed.broken = f"unreadable message: {exc}"
        parsed.text = raw.decode("utf-8", errors="replace")[:200_000]
        return parsed
    try:
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
    senders = _addresses(message, "From") or _addresses(message, "Sender") or _addresses(message, "Return-Path")
    if senders:
        parsed.from_name, parsed.from_address = senders[0]
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
    parsed.null_return_path = header(message, "Return-Path").strip() in ("<>", "") and "Return-Path" in message
    parsed.bounce = _bounce(message)
    if isinstance(message, EmailMessage) and message.defects:
        parsed.broken = "; ".join(type(d).__name__ for d in message.defects)[:500]
    _walk(message, parsed, bodies)
