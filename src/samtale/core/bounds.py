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
