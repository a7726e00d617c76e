"""Contacts out as CSV (D1): the filtered list, every standard and custom property, streamed a
page at a time (memory flat however many), cells that a spreadsheet would run as a formula
neutralised (CSV injection: a leading =, +, -, @, tab or carriage return gets a ' before it).
Exporting needs CRM admin and leaves an audit row naming how many and by which filters."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from samtale.accounts.models import Account, User
from samtale.core.audit import audit
from samtale.crm.actions import require_crm_admin
from samtale.crm.models import Contact, PropertyType
from samtale.crm.queries import ContactFilters, custom_properties, filtered_contacts

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 2000
STANDARD_COLUMNS = [
    ("id", "id"), ("name", "name"), ("first_name", "first_name"), ("last_name", "last_name"), ("email", "email"),
    ("phone", "phone"), ("company", "company"), ("job_title", "job_title"), ("language", "language"),
    ("owner", "owner"), ("lifecycle_stage", "lifecycle_stage"), ("created_at", "created_at"),
    ("last_contacted_at", "last_contacted_at"),
]  # fmt: skip


def neutralise(value: object) -> str:
    """A cell as text a spreadsheet shows and never evaluates."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _standard(contact: Contact, key: str) -> object:
    if key == "company":
        return contact.company.name if contact.company else ""
    if key == "owner":
        return contact.owner.email if contact.owner else ""
    value = getattr(contact, key)
    return value.isoformat() if hasattr(value, "isoformat") else value


def _custom(value: Any, kind: str) -> object:
    if value is None:
        return ""
    if kind == PropertyType.CHECKBOX:
        return "true" if value else "false"
    return value


def export_contacts(account: Account, *, acting_user: User, filters: ContactFilters) -> Iterator[str]:
    """The CSV's lines (UTF-8 text; the view adds the BOM spreadsheets want), header first."""
    require_crm_admin(acting_user, account.pk)
    definitions = custom_properties(account.pk)
    rows = filtered_contacts(account.pk, filters).select_related("owner", "company").order_by("pk")
    audit(account, acting_user, "contact.exported", None, filters={k: str(v) for k, v in asdict(filters).items() if v})
    return _lines(rows, definitions)


def _lines(rows: Any, definitions: list[Any]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([neutralise(c) for c, _k in STANDARD_COLUMNS] + [neutralise(d.key) for d in definitions])
    yield flush()
    last = 0
    while True:
        chunk = list(rows.filter(pk__gt=last)[:CHUNK])
        if not chunk:
            return
        for contact in chunk:
            standard = [neutralise(_standard(contact, key)) for _c, key in STANDARD_COLUMNS]
            custom = [neutralise(_custom(contact.properties.get(d.key), d.type)) for d in definitions]
            writer.writerow(standard + custom)
        last = chunk[-1].pk
        yield flush()
