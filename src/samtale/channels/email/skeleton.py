"""Large messages are parsed without holding them in memory.

The stdlib parser keeps a whole message (as text, then as lines, then decoded): a 28 MB message
costs it some 300 MB. `skeletonize` reads a message from a file once, line by line, following its
MIME structure; every large leaf body (an attachment, an inline image) is decoded straight into a
file of its own and left out, and its part gets an `X-Samtale-Body` header naming that file. What
remains (headers, text bodies, small parts) is small and goes to the stdlib parser as usual
(`parse.parse`), which then sees the large parts as empty and takes their content from the file.

Every message goes through here first, also small ones: the scan is iterative and bounded (depth,
part count, header size), so the stdlib parser, which recurses once per nesting level, only ever
sees a shallow tree of a bounded number of parts.
"""

from __future__ import annotations

import binascii
import secrets
import tempfile
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import IO

BODY_HEADER = "X-Samtale-Body"
KEEP_IN_MEMORY = 256 * 1024  # leaf bodies up to this size stay in the skeleton
MAX_LINE = 1024 * 1024
MAX_DEPTH = 12  # multiparts and attached messages nested deeper are kept whole, as attachments
MAX_PARTS = 500  # parts beyond this many are kept, unparsed, as one attachment
MAX_HEADER_BYTES = 256 * 1024  # of one part's header block


@dataclass
class Skeleton:
    data: bytes
    bodies: dict[str, Path] = field(default_factory=dict)  # BODY_HEADER value -> decoded content
    limited: str = ""  # set when a bound (depth, parts) kept part of the message unparsed

    def discard(self) -> None:
        for path in self.bodies.values():
            path.unlink(missing_ok=True)
        self.bodies.clear()


class _Decoder:
    """Decodes a transfer-encoded body into a file as its lines arrive."""

    def __init__(self, encoding: str, directory: Path) -> None:
        self.encoding = encoding
        self.file = tempfile.NamedTemporaryFile(dir=directory, suffix=".part", delete=False)  # noqa: SIM115
        self.pending = b""  # base64 characters not yet a multiple of four
        self.held = b""  # the line break of the last line, until another line follows

    def feed(self, line: bytes) -> None:
        if self.encoding == "base64":
            chars = self.pending + b"".join(line.split())
            whole = len(chars) - len(chars) % 4
            self.pending = chars[whole:]
            if whole:
                self.file.write(_b64(chars[:whole]))
            return
        # A line break is written when the next line comes: the last one belongs to the boundary.
        self.file.write(self.held)
        ending = b"\r\n" if line.endswith(b"\r\n") else b"\n" if line.endswith(b"\n") else b""
        text = line[: len(line) - len(ending)]
        if self.encoding == "quoted-printable":
            soft = text.endswith(b"=")
            self.file.write(binascii.a2b_qp(text[:-1] if soft else text))
            self.held = b"\n" if ending and not soft else b""
        else:
            self.file.write(text)
            self.held = ending

    def close(self, last_line_break: bool = False) -> Path:
        if self.pending:
            self.file.write(_b64(self.pending + b"=" * (-len(self.pending) % 4)))
        if last_line_break:
            self.file.write(self.held)
        self.file.close()
        return Path(self.file.name)


def _b64(chars: bytes) -> bytes:
    try:
        return binascii.a2b_base64(chars)
    except binascii.Error:  # broken base64: keep what decodes, like the stdlib's lenient decoder
        return binascii.a2b_base64(chars[: len(chars) - len(chars) % 4] or b"") if len(chars) >= 4 else b""


def _is_boundary(line: bytes, boundaries: list[bytes]) -> bool:
    if not line.startswith(b"--"):
        return False
    stripped = line.rstrip(b" \t\r\n")
    return any(stripped == b or stripped == b + b"--" for b in boundaries)


def _opaque_headers(name: str, key: str, separator: bytes) -> list[bytes]:
    """The headers a part left out whole gets in the skeleton: an attachment read from a file."""
    return [
        b"Content-Type: application/octet-stream" + separator,
        f'Content-Disposition: attachment; filename="{name}"'.encode() + separator,
        f"{BODY_HEADER}: {key}".encode() + separator,
    ]


class _Scanner:
    """One pass over the message, without recursion: `stack` holds the delimiters of the open
    multiparts (and the depth of each), so a message nested a thousand levels deep costs a list,
    not a thousand stack frames. Bounded: parts nested deeper than MAX_DEPTH are kept whole as one
    attachment each (never parsed into), and after MAX_PARTS parts the rest of the message is kept
    as one attachment."""

    def __init__(self, source: IO[bytes], directory: Path) -> None:
        self.source = source
        self.directory = directory
        self.out: list[bytes] = []
        self.bodies: dict[str, Path] = {}
        self.stack: list[tuple[bytes, int]] = []  # (own delimiter, depth) of each open multipart
        self.parts = 0
        self.cut = ""  # what the bounds left out, for `Skeleton.limited`

    def line(self) -> bytes:
        return self.source.readline(MAX_LINE)

    def delimiters(self) -> list[bytes]:
        return [own for own, _depth in self.stack]

    def run(self) -> None:
        line = self.entity(0)
        while self.stack:
            own, _depth = self.stack[-1]
            stripped = line.rstrip(b" \t\r\n") if line.startswith(b"--") else b""
            if line and stripped == own:  # the next part of the innermost multipart
                self.out.append(line)
                line = self.entity(self.stack[-1][1] + 1)
            elif line and stripped == own + b"--":  # its end; then its epilogue
                self.out.append(line)
                self.stack.pop()
                line = self._copy_until(self.delimiters())
            else:  # the end of the message or an outer delimiter: this multipart was never closed
                self.stack.pop()
        while line:  # after the top-level entity (a delimiter outside any multipart is only text)
            self.out.append(line)
            line = self.line()

    def entity(self, depth: int) -> bytes:
        """Read one entity (headers and body) at `depth`, up to the next line that is one of the
        open delimiters, which is returned (b"" at the end of the message). A multipart is opened
        (pushed) and its preamble read; its parts are read by `run`."""
        self.parts += 1
        if self.parts > MAX_PARTS:
            return self._overflow()
        boundaries = self.delimiters()
        while True:
            headers: list[bytes] = []
            size = 0
            while True:
                line = self.line()
                if not line or _is_boundary(line, boundaries):
                    self.out.extend(headers)
                    return line
                if line in (b"\r\n", b"\n"):
                    separator = line
                    break
                size += len(line)
                if size <= MAX_HEADER_BYTES:  # a longer header block is cut (never a real one)
                    headers.append(line)
            info = BytesHeaderParser(policy=policy.compat32).parsebytes(b"".join(headers) + separator)
            ctype = info.get_content_type()
            boundary = info.get_boundary() if ctype.startswith("multipart/") else None
            nested = bool(boundary) or ctype == "message/rfc822"
            if nested and depth >= MAX_DEPTH:
                self.cut = self.cut or f"MIME parts nested deeper than {MAX_DEPTH} levels are kept as attachments"
                return self._whole(boundaries, headers, separator)
            if boundary:
                self.out.extend(headers)
                self.out.append(separator)
                own = b"--" + boundary.encode("utf-8", "surrogateescape")
                self.stack.append((own, depth))
                return self._copy_until([*boundaries, own])  # the preamble
            if ctype == "message/rfc822":  # the attached message's own headers follow
                self.out.extend(headers)
                self.out.append(separator)
                depth += 1
                continue
            keep = ctype in ("text/plain", "text/html") and info.get_content_disposition() != "attachment"
            encoding = str(info.get("Content-Transfer-Encoding", ""))
            return self._leaf(boundaries, headers, separator, encoding, keep)

    def _copy_until(self, boundaries: list[bytes]) -> bytes:
        while True:
            line = self.line()
            if not line or _is_boundary(line, boundaries):
                return line
            self.out.append(line)

    def _leaf(
        self, boundaries: list[bytes], headers: list[bytes], separator: bytes, encoding: str, keep: bool
    ) -> bytes:
        """A body; left out into a file when large, unless it is a text the inbox shows (`keep`)."""
        body: list[bytes] = []
        size = 0
        decoder: _Decoder | None = None
        while True:
            line = self.line()
            if not line or _is_boundary(line, boundaries):
                break
            if decoder is not None:
                decoder.feed(line)
                continue
            body.append(line)
            size += len(line)
            if size > KEEP_IN_MEMORY and not keep:
                decoder = _Decoder(encoding.strip().lower(), self.directory)
                for kept in body:
                    decoder.feed(kept)
                body = []
        if decoder is None:
            self.out.extend(headers)
            self.out.append(separator)
            self.out.extend(body)
            return line
        key = self._keep(decoder.close(last_line_break=not line))  # no boundary: the body ends the message
        self.out.extend(headers)
        self.out.append(f"{BODY_HEADER}: {key}".encode() + separator)
        self.out.append(separator)
        if line:  # the line break before a boundary belongs to the boundary
            self.out.append(separator)
        return line

    def _keep(self, path: Path) -> str:
        key = secrets.token_hex(12)
        self.bodies[key] = path
        return key

    def _whole(self, boundaries: list[bytes], headers: list[bytes], separator: bytes) -> bytes:
        """A part too deep to parse into: kept as it is (headers and body) as one attachment."""
        copy = _Decoder("", self.directory)
        for line in [*headers, separator]:
            copy.feed(line)
        while True:
            line = self.line()
            if not line or _is_boundary(line, boundaries):
                break
            copy.feed(line)
        key = self._keep(copy.close(last_line_break=not line))
        self.out.extend(_opaque_headers("nested-part.eml", key, separator))
        self.out.append(separator)
        if line:
            self.out.append(separator)
        return line

    def _overflow(self) -> bytes:
        """Too many parts: the rest of the message is kept as it is as one attachment, and the open
        multiparts are closed here."""
        self.cut = f"a message of more than {MAX_PARTS} MIME parts: the rest is kept as one attachment"
        copy = _Decoder("", self.directory)
        while line := self.line():
            copy.feed(line)
        key = self._keep(copy.close(last_line_break=True))
        self.out.extend(_opaque_headers("remaining-parts.eml", key, b"\r\n"))
        self.out.append(b"\r\n")
        for own, _depth in reversed(self.stack):
            self.out.append(b"\r\n" + own + b"--\r\n")
        self.stack.clear()
        return b""


def skeletonize(source: IO[bytes], directory: Path) -> Skeleton:
    """The message without its large leaf bodies (see the module's docstring)."""
    scanner = _Scanner(source, directory)
    try:
        scanner.run()
    except BaseException:
        for path in scanner.bodies.values():
            path.unlink(missing_ok=True)
        raise
    return Skeleton(b"".join(scanner.out), scanner.bodies, scanner.cut)
