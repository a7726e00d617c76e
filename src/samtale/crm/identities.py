"""What identifies a contact, written one way: every channel finds its contact by an identity
(`actions.contact_for_identity`), so the same address or number always means the same person."""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class IdentityKind(models.TextChoices):
    EMAIL = "email", gettext_lazy("Email")
    PHONE = "phone", gettext_lazy("Phone")
    VISITOR = "visitor", gettext_lazy("Chat visitor")
    MESSENGER = "messenger", gettext_lazy("Messenger")


_PHONE_NOISE = re.compile(r"[\s().\-/]")
E164 = re.compile(r"\+[1-9][0-9]{6,14}\Z")
_MESSENGER_ID = re.compile(r"[0-9]{1,32}\Z")  # a page-scoped id


def normalize_phone(value: str, country: str | None = None) -> str:
    """A phone number in E.164 (+4722334455), or a ValidationError. Spaces, dots, dashes, slashes
    and brackets are ignored; 00 is the international prefix; a number without one is in
    `country` (digits of its calling code; SAMTALE_DEFAULT_PHONE_COUNTRY, 47 by default)."""
    text = _PHONE_NOISE.sub("", value.strip()[:40])
    if text.startswith("00"):
        text = "+" + text[2:]
    elif not text.startswith("+") and text.isdigit():
        code = country or settings.SAMTALE_DEFAULT_PHONE_COUNTRY
        text = "+" + code + text.lstrip("0")
    if not E164.match(text):
        raise ValidationError(_("%(value)s is not a phone number.") % {"value": value.strip()[:40]}, code="phone")
    return text


def normalize(kind: str, value: str) -> str:
    """The identity's value as stored (lower-case email, E.164 phone, a visitor's uuid as hex), or
    a ValidationError that says what is wrong."""
    value = str(value or "").strip()
    if kind == IdentityKind.EMAIL:
        value = value.lower()[:254]
        validate_email(value)
        return value
    if kind == IdentityKind.PHONE:
        return normalize_phone(value)
    if kind == IdentityKind.VISITOR:
        try:
            return uuid.UUID(value[:40]).hex
        except ValueError:
            raise ValidationError(_("Not a visitor id."), code="visitor") from None
    if kind == IdentityKind.MESSENGER:
        if not _MESSENGER_ID.match(value):
            raise ValidationError(_("Not a Messenger id."), code="messenger")
        return value
    raise ValidationError(_("Unknown kind of identity."), code="kind")
