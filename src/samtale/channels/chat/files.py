"""Files visitors send: what they are is read from their bytes (never from the name or the type the
browser claims), and only common, harmless kinds are taken."""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _


@dataclass
class Part:
    """An attachment as `inbox.actions.receive_inbound` stores it."""

    filename: str
    content_type: str
    payload: bytes
    content_id: str = ""
    inline: bool = False


class UploadRefused(Exception):
    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code, self.status = code, status


OFFICE = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
}
TEXT = {".txt": "text/plain", ".csv": "text/csv", ".log": "text/plain"}


def _kind(head: bytes, extension: str) -> str:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04") and extension in OFFICE:
        return OFFICE[extension]
    if extension in TEXT:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as error:
            if error.start < len(head) - 4:  # not just a character cut at the end of the sample
                return ""
        return TEXT[extension]
    return ""


def clean_filename(name: str) -> str:
    name = unicodedata.normalize("NFC", os.path.basename(name.replace("\\", "/")))
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"/\\|?*').strip(" .")
    return name[:200] or "file"


def sniff_upload(upload: Any, limit: int) -> Part:
    """The upload as a Part, or UploadRefused (too large: 413; a kind not taken: 415)."""
    if upload.size > limit:
        raise UploadRefused(
            "too_large", _("The file is too large (at most %(mb)s MB).") % {"mb": limit // (1024 * 1024)}, 413
        )
    filename = clean_filename(upload.name or "")
    payload = upload.read(limit + 1)
    if len(payload) > limit:
        raise UploadRefused("too_large", _("The file is too large."), 413)
    if not payload:
        raise UploadRefused("invalid", _("The file is empty."), 400)
    kind = _kind(payload[:4096], os.path.splitext(filename)[1].lower())
    if not kind:
        raise UploadRefused(
            "file_type", _("Images, PDF, office documents and text files can be sent; not this kind of file."), 415
        )
    return Part(filename=filename, content_type=kind, payload=payload)
