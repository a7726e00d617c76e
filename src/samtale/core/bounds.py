"""Bounds on values from outside (forms, the API, calendars, mail): every date and number a user
controls is checked against these before it is stored or used, with a clear message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from samtale.core.clock import now

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
AHEAD = timedelta(days=3653)  # ten years
MAX_ID = 2**63 - 1  # the largest database id (bigint)


def latest() -> datetime:
    return now() + AHEAD


def check_instant(value: datetime, label: str = "") -> datetime:
    """`value` (aware) between 1 January 2000 and ten years from now, or a ValidationError."""
    if value.tzinfo is None:
        raise ValidationError(_("Times need a time zone."))
    if not (EARLIEST <= value <= latest()):
        raise ValidationError(
            _("%(label)s must be between 1 January 2000 and ten years from now.") % {"label": label or _("A date")}
        )
    return value


def parse_id(value: object) -> int | None:
    """An id from outside (a form field, a query parameter, a saved filter): digits only, at most
    MAX_ID; anything else is None (the caller answers 400, or ignores it as a filter)."""
    text = str(value if value is not None else "").strip()
    if not text or len(text) > 19 or not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


class IdConverter:
    """A URL segment that is a database id: 1 to 18 digits (a longer number matches no URL: 404)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


def check_header_text(value: str, label: str = "") -> str:
    """Text that goes into a mail header (a subject, a name): no line breaks or other control
    characters, which would end the header (or inject another one)."""
    if any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in value):
        raise ValidationError(
            _("%(label)s cannot contain line breaks or control characters.") % {"label": label or _("The text")}
        )
    return value
