from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from samtale.accounts.models import Account, User
from samtale.core import batching
from samtale.core.audit import audit
from samtale.crm.models import Contact


def create_contact(
    account: Account, *, acting_user: User | None, name: str = "", email: str = "", phone: str = ""
) -> Contact:
    with transaction.atomic(savepoint=False):
        contact = Contact.objects.create(
            account=account, name=name.strip(), email=email.strip().lower(), phone=phone.strip()
        )
        audit(account, acting_user, "contact.created", contact)
    scope = batching.current()
    if scope is not None and contact.email:
        scope.memo[("contact", account.pk, contact.email)] = contact
    return contact


def find_contact_by_email(account_id: int, email: str) -> Contact | None:
    """Case-insensitive, through the lower(email) index (an `iexact` lookup cannot use it).
    In a batch, each address is looked up once (a contact created in the batch is known to it)."""
    from django.db.models.functions import Lower

    email = email.strip().lower()

    def load() -> Contact | None:
        return Contact.objects.alias(email_lower=Lower("email")).filter(account_id=account_id, email_lower=email).order_by("id").first()  # fmt: skip

    scope = batching.current()
    if scope is None:
        return load()
    found: Contact | None = scope.remember(("contact", account_id, email), load)
    return found


def prefetch_contacts(account_id: int, emails: Iterable[str]) -> None:
    """Inside a batch: the contacts of these addresses in one query (and that the others have none)."""
    from django.db.models.functions import Lower

    scope = batching.current()
    if scope is None:
        return
    wanted = sorted({e.strip().lower() for e in emails if e and "@" in e})
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found: dict[str, Contact] = {}
        rows = Contact.objects.alias(email_lower=Lower("email")).filter(account_id=account_id, email_lower__in=chunk)
        for contact in rows.order_by("-id"):
            found[contact.email.lower()] = contact  # the oldest wins, as a single lookup's
        for email in chunk:
            scope.memo.setdefault(("contact", account_id, email), found.get(email))


def get_or_create_contact_by_email(
    account: Account, email: str, name: str = "", *, acting_user: User | None = None
) -> Contact:
    email = email.strip().lower()
    existing = find_contact_by_email(account.pk, email)
    if existing is not None:
        return existing
    return create_contact(account, acting_user=acting_user, name=name, email=email)


CONTACT_FIELDS = ("name", "email", "phone")


def set_contact_fields(contact: Contact, *, acting_user: User | None, **values: str) -> Contact:
    """Set some of a contact's properties (a chatflow's saved answer, an email a visitor left).
    Values are checked: an email must be one, a name or phone fits its column."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    changed: dict[str, str] = {}
    for name, value in values.items():
        if name not in CONTACT_FIELDS:
            raise ValidationError(f"Unknown contact property {name!r}.")
        value = " ".join(str(value).split())
        if name == "email":
            value = value.lower()
            validate_email(value)
        limit = getattr(Contact._meta.get_field(name), "max_length", None) or 200
        value = value[:limit]
        if getattr(contact, name) != value:
            changed[name] = value
    if not changed:
        return contact
    with transaction.atomic():
        for name, value in changed.items():
            setattr(contact, name, value)
        contact.save(update_fields=list(changed))
        audit(contact.account, acting_user, "contact.updated", contact, fields=sorted(changed))
    return contact
