"""Text of real-world mail in the charset it is really in.

Labels are read the way browsers read them (the WHATWG Encoding Standard): a label names the
superset that senders' software actually used (GB2312 → GB18030, Shift_JIS → CP932, EUC-KR →
CP949, ISO-8859-1 → windows-1252 …). A missing label, or one the bytes contradict, is resolved by
trying UTF-8 and then detecting (charset-normalizer, on a bounded sample). ISO-2022-JP is decoded
through CP932 so that NEC and IBM extensions (①, ㈱ …) come out. Everything here is linear in the
input and never raises.
"""

from __future__ import annotations

import binascii
import codecs
import re
from collections.abc import Iterable

# WHATWG label → the Python codec of what browsers decode
_SUPERSET = {
    "gb2312": "gb18030", "gb_2312": "gb18030", "gb_2312-80": "gb18030", "csgb2312": "gb18030", "gbk": "gb18030",
    "x-gbk": "gb18030", "cp936": "gb18030", "chinese": "gb18030", "euc-cn": "gb18030", "iso-ir-58": "gb18030",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "ms_kanji": "cp932",
    "windows-31j": "cp932", "csshiftjis": "cp932",
    "euc-kr": "cp949", "ks_c_5601-1987": "cp949", "ks_c_5601-1989": "cp949", "ksc5601": "cp949", "cseuckr": "cp949",
    "big5": "big5hkscs", "big5-hkscs": "big5hkscs", "x-x-big5": "big5hkscs", "cn-big5": "big5hkscs",
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "l1": "cp1252", "ascii": "cp1252",
    "us-ascii": "cp1252", "ansi_x3.4-1968": "cp1252", "iso-8859-9": "cp1254", "latin5": "cp1254",
    "tis-620": "cp874", "iso-8859-11": "cp874", "utf8": "utf-8", "unicode-1-1-utf-8": "utf-8",
}  # fmt: skip
_JIS = {"iso-2022-jp", "csiso2022jp", "iso2022jp", "iso-2022-jp-2", "iso-2022-jp-3"}
DETECT_SAMPLE = 64 * 1024  # bytes a detector looks at (its cost grows with the input)


def codec_for(label: str | None) -> str | None:
    """The codec for a charset label (its WHATWG superset), or None when Python knows no such."""
    name = (label or "").strip().strip('"').lower()
    if not name:
        return None
    name = _SUPERSET.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode(data: bytes, label: str | None = None, hints: tuple[str, ...] = ()) -> str:
    """`data` as text: by its label if the bytes agree, else as UTF-8, else (undeclared) in the
    first charset the rest of the message declares that reads it (`hints`: mail clients read a sender's raw 8-bit
    headers and unlabelled parts so), else as detected."""
    name = (label or "").strip().strip('"').lower()
    if data.isascii():
        return jis(data) if b"\x1b" in data else data.decode("ascii")  # (ISO-2022-JP is 7-bit, labelled or not)
    if name in _JIS:
        # 8-bit bytes in "ISO-2022-JP" (a 7-bit encoding) are Shift_JIS mislabelled
        return data.decode("cp932", "replace") if any(b >= 0x80 for b in data[:DETECT_SAMPLE]) else jis(data)
    codec = codec_for(label)
    if codec is not None and codec not in ("cp1252", "ascii"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8")  # undeclared, or declared Latin-1/ASCII but written in UTF-8
    except UnicodeDecodeError:
        pass
    if codec is not None:  # a declared single-byte charset (every byte means something)
        return data.decode(codec, "replace")
    for hinted in hints:
        try:
            return data.decode(hinted)
        except UnicodeDecodeError:
            continue
    return data.decode(detect(data) or "cp1252", "replace")


_MULTIBYTE = {
    "gb18030",
    "gbk",
    "gb2312",
    "big5",
    "big5hkscs",
    "cp932",
    "shift_jis",
    "cp949",
    "euc_kr",
    "euc_jp",
    "cp950",
}


def message_charsets(labels: Iterable[str | None]) -> tuple[str, ...]:
    """The charsets a sender's software writes in, from the labels its message declares (its
    parts' charsets, then its encoded words'): those that are neither ASCII nor UTF-8 and that
    Python knows, multi-byte ones first (their strict decoding refuses what isn't theirs; every
    byte means something in a single-byte one). Hints for the message's unlabelled 8-bit text."""
    found: list[str] = []
    for label in labels:
        codec = codec_for(label)
        if codec is not None and codec not in ("ascii", "utf-8") and codec not in found:
            found.append(codec)
    return tuple(sorted(found, key=lambda c: c not in _MULTIBYTE))


def detect(data: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:DETECT_SAMPLE]).best()
    except Exception:
        return None
    return codec_for(best.encoding) if best is not None else None


_JIS_ESCAPE = re.compile(rb"\x1b(\$[@B]|\$\(D|\([BJI]|\$\([OPQ])")


def jis(data: bytes) -> str:
    """ISO-2022-JP through CP932: each JIS X 0208 pair becomes its Shift_JIS pair, so the NEC and
    IBM extension rows that Python's strict codec refuses decode as Windows (and browsers) show
    them. Escape sequences switch modes; one pass over the input."""
    out = bytearray()
    mode = "ascii"
    at = 0
    for match in _JIS_ESCAPE.finditer(data):
        _convert(data[at : match.start()], mode, out)
        code = match.group(1)
        mode = "ascii" if code[:1] == b"(" and code != b"(I" else ("kana" if code == b"(I" else "kanji")
        at = match.end()
    _convert(data[at:], mode, out)
    return bytes(out).decode("cp932", "replace")


def _convert(chunk: bytes, mode: str, out: bytearray) -> None:
    if mode == "ascii":
        out += chunk
    elif mode == "kana":
        out += bytes(b + 0x80 if 0x21 <= b <= 0x5F else b for b in chunk)
    else:
        for i in range(0, len(chunk) - 1, 2):
            j1, j2 = chunk[i], chunk[i + 1]
            if not (0x21 <= j1 <= 0x7E and 0x21 <= j2 <= 0x7E):
                out += chunk[i : i + 2]
                continue
            s1 = (j1 + 1) // 2 + (0x70 if j1 <= 0x5E else 0xB0)
            s2 = j2 + (0x1F if j1 % 2 else 0x7E)
            if j1 % 2 and s2 >= 0x7F:
                s2 += 1
            out += bytes((s1, s2))
        if len(chunk) % 2:
            out += chunk[-1:]


# an RFC 2047 encoded word, as mailers really write them (spaces inside, a few stray "?"): its text
# runs to the next "?=" across at most three other "?", so a scan from any "=?" stops within a
# few "?" and the whole value is read in linear time
WORD = re.compile(r"=\?([^?\s*]{1,75})(?:\*[^?\s]{0,40})?\?([bBqQ])\?([^?]*(?:\?(?!=)[^?]*){0,3})\?=")


def header_text(raw: str, hints: tuple[str, ...] = ()) -> str:
    """A raw header value as text: RFC 2047 words decoded by their charset's superset (adjacent
    words joined without the space between them, RFC 2047 §6.2, and decoded together so that a
    character split across two words survives), undeclared 8-bit text (kept by the parser as
    escaped bytes) decoded as UTF-8, or in a charset the message declares (`hints`), or detected. One pass (the stdlib's decoder rescans the rest
    of the value from every "=?": quadratic on hostile headers)."""
    value = re.sub(r"\r?\n(?=[ \t])", "", raw)
    out: list[str] = []
    pending_charset = ""
    pending = bytearray()
    at = 0

    def flush() -> None:
        nonlocal pending_charset
        if pending_charset:
            out.append(decode(bytes(pending), pending_charset))
            pending.clear()
            pending_charset = ""

    for match in WORD.finditer(value):
        between = value[at : match.start()]
        adjacent = bool(pending_charset) and not between.strip(" \t")
        charset, kind, payload = match.group(1).lower(), match.group(2).lower(), match.group(3)
        if not (adjacent and charset == pending_charset):
            flush()
            if not adjacent:
                out.append(_plain(between, hints))
        pending_charset = charset
        pending.extend(_word_bytes(kind, payload))
        at = match.end()
    flush()
    out.append(_plain(value[at:], hints))
    return "".join(out)


def _word_bytes(kind: str, payload: str) -> bytes:
    data = payload.encode("ascii", "surrogateescape")
    try:
        if kind == "b":
            return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
        return binascii.a2b_qp(data, header=True)
    except (binascii.Error, ValueError):
        return data


def _plain(text: str, hints: tuple[str, ...]) -> str:
    """Unencoded header text; 8-bit bytes the parser kept escaped are decoded (UTF-8, the message's
    charset or detected)."""
    if not any(0xDC80 <= ord(c) <= 0xDCFF for c in text):
        return text
    return decode(text.encode("utf-8", "surrogateescape"), hints=hints)
