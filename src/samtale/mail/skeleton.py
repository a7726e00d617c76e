"""Large messages are parsed without holding them in memory.

The stdlib parser keeps a whole message (as text, then as lines, then decoded): a 28 MB message
costs it some 300 MB. `skeletonize` reads a message from a file once, line by line, following its
MIME structure; every large leaf body (an attachment, an inline image) is decoded straight into a
file of its own and left out, and its part gets an `X-Samtale-Body` header naming that file. What
remains (headers, text bodies, small parts) is small and goes to the stdlib parser as usual
(`parse.parse`), which then sees the large parts as empty and takes their content from the file.
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


@dataclass
class Skeleton:
    data: bytes
    bodies: dict[str, Path] = field(default_factory=dict)  # BODY_HEADER value -> decoded content

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


class _Scanner:
    def __init__(self, source: IO[bytes], directory: Path) -> None:
        self.source = source
        self.directory = directory
        self.out: list[bytes] = []
        self.bodies: dict[str, Path] = {}

    def line(self) -> bytes:
        return self.source.readline(MAX_LINE)

    def entity(self, boundaries: list[bytes]) -> bytes:
        """Copy one entity (headers and body) up to the next line that is one of `boundaries`,
        which is returned (b"" at the end of the message)."""
        headers: list[bytes] = []
        while True:
            line = self.line()
            if not line or _is_boundary(line, boundaries):
                self.out.extend(headers)
                return line
            if line in (b"\r\n", b"\n"):
                separator = line
                break
            headers.append(line)
        info = BytesHeaderParser(policy=policy.compat32).parsebytes(b"".join(headers) + separator)
        ctype = info.get_content_type()
        boundary = info.get_boundary() if ctype.startswith("multipart/") else None
        if boundary:
            self.out.extend(headers)
            self.out.append(separator)
            return self._multipart(boundaries, b"--" + boundary.encode("utf-8", "surrogateescape"))
        if ctype == "message/rfc822":
            self.out.extend(headers)
            self.out.append(separator)
            return self.entity(boundaries)
        keep = ctype in ("text/plain", "text/html") and info.get_content_disposition() != "attachment"
        return self._leaf(boundaries, headers, separator, str(info.get("Content-Transfer-Encoding", "")), keep)

    def _multipart(self, boundaries: list[bytes], own: bytes) -> bytes:
        inner = [*boundaries, own]
        line = self._copy_until(inner)  # the preamble
        while line and line.rstrip(b" \t\r\n") == own:
            self.out.append(line)
            line = self.entity(inner)
        if line and line.rstrip(b" \t\r\n") == own + b"--":
            self.out.append(line)
            line = self._copy_until(boundaries)  # the epilogue
        return line

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
        key = secrets.token_hex(12)
        self.bodies[key] = decoder.close(last_line_break=not line)  # no boundary: the body ends the message
        self.out.extend(headers)
        self.out.append(f"{BODY_HEADER}: {key}".encode() + separator)
        self.out.append(separator)
        if line:  # the line break before a boundary belongs to the boundary
            self.out.append(separator)
        return line


def skeletonize(source: IO[bytes], directory: Path) -> Skeleton:
    """The message without its large leaf bodies (see the module's docstring)."""
    scanner = _Scanner(source, directory)
    try:
        while scanner.entity([]):  # a boundary line outside any multipart is only text here
            pass
    except BaseException:
        for path in scanner.bodies.values():
            path.unlink(missing_ok=True)
        raise
    return Skeleton(b"".join(scanner.out), scanner.bodies)
