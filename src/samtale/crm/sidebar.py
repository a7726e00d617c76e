"""The CRM's sections of the conversation sidebar (core.sidebar): "About this contact" shows the
properties each person chose (remembered per user), edited in place."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from samtale.accounts.models import User
from samtale.core.sidebar import Section, register
from samtale.crm.models import Contact
from samtale.crm.properties import DEFAULT_SHOWN, all_properties
from samtale.crm.queries import active_teammates

PREFERENCE = "about_contact_properties"


def shown_keys(user: User, available: list[str]) -> list[str]:
    chosen = (user.preferences or {}).get(PREFERENCE)
    keys = chosen if isinstance(chosen, list) else list(DEFAULT_SHOWN)
    return [k for k in keys if k in available]


def about_contact(contact_id: int | None, user: User) -> dict[str, Any] | None:
    """Three queries whatever the contact has: the contact (with owner and company), the account's
    property definitions and its teammates (the owner's choices). Other companies are suggested
    as a person types (`company_suggest`), never listed."""
    if contact_id is None:
        return None
    contact = Contact.objects.select_related("owner", "company").filter(pk=contact_id).first()
    if contact is None:
        return None
    props = all_properties(contact.account_id)
    keys = shown_keys(user, [p.key for p in props])
    by_key = {p.key: p for p in props}
    rows = [(by_key[k], contact.properties.get(k) if by_key[k].custom else getattr(contact, k)) for k in keys]
    needs = {p.type for p, _v in rows}
    members = active_teammates(contact.account_id) if "owner" in needs else []
    return {
        "contact": contact, "rows": rows, "choosable": [p for p in props], "shown": keys, "members": members,
    }  # fmt: skip


def _load(conversation: Any, user: User) -> dict[str, Any] | None:
    return about_contact(conversation.contact_id, user)


ABOUT = Section(key="about", label=_("About this contact"), template="crm/sidebar_about.html", load=_load, order=20)


def _records(conversation: Any, user: User) -> dict[str, Any] | None:
    """The contact's custom records of every type (one query); nothing when they have none."""
    if conversation.contact_id is None:
        return None
    from samtale.crm.objects import records_of_contact

    rows = records_of_contact(conversation.contact_id)
    if not rows:
        return None
    for r in rows:  # the two properties after the one naming it
        r.shown = [(k, v) for k, v in r.properties.items() if k != r.type.label_key and v not in (None, "")][:2]  # type: ignore[attr-defined]
    return {"records": rows}


def _records_on_record(contact: Any, user: User) -> dict[str, Any] | None:
    """On the contact's record: their custom records and a way to add one of each type (two queries)."""
    from samtale.crm.models import ObjectType
    from samtale.crm.objects import records_of_contact

    kinds = list(ObjectType.objects.filter(account_id=contact.account_id))
    if not kinds:
        return None
    return {"records": records_of_contact(contact.pk, limit=100), "kinds": kinds, "contact": contact}


RECORD_RECORDS = Section(key="contact-records", label=_("Records"), template="crm/record_records.html",
                         load=_records_on_record, place="contact-record")  # fmt: skip
RECORDS = Section(key="records", label=_("Records"), template="crm/sidebar_records.html", load=_records, order=60)


def install() -> None:
    register(ABOUT)
    register(RECORDS)
    register(RECORD_RECORDS)
